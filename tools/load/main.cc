// hie-load: MLLP load generator for the hub (and any MLLP peer).
//   hie-load --host 127.0.0.1 --port 2575 --messages 50000 --connections 8
// Exits 0 only when every message (warmup included) was AA'd with the right
// MSA-2 and no connection failed; 1 otherwise; 2 for bad arguments.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "tools/load/runner.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  hie::load::LoadOptions opt;
  std::string type = "mix";
  bool json = false;

  CLI::App app{"hie-load: MLLP 负载生成器 (load generator) for county-hie"};
  app.add_option("--host", opt.host, "目标主机 (target host)")->capture_default_str();
  app.add_option("--port", opt.port, "目标 MLLP 端口 (target port)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  app.add_option("--messages,-n", opt.messages,
                 "计入统计的消息总数 (messages counted, all connections)")
      ->capture_default_str();
  app.add_option("--connections,-c", opt.connections, "并发连接数 (connections)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--threads,-t", opt.threads,
                 "事件循环线程数, 连接平均分配 (event-loop threads; connections spread over them)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--window,-w", opt.window, "每连接在途帧数 (frames in flight per connection)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--warmup", opt.warmup, "预热消息数, 不计入 (warm-up messages, not counted)")
      ->capture_default_str();
  app.add_option("--facility", opt.facility, "MSH-4 发送机构 (sending facility)")
      ->capture_default_str();
  app.add_option("--type", type, "ADT | ORU | mix")->capture_default_str();
  app.add_option("--run-id", opt.run_id, "MSH-10 前缀 (prefix; default from time and pid)");
  app.add_option("--timeout-ms", opt.timeout_ms, "每个 ACK 的超时 (ACK timeout, ms)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3'600'000));
  app.add_flag("--json", json, "输出一行 JSON (one JSON line for scripts)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (!hie::load::ParseTypeMix(type, &opt.mix)) {
    std::fprintf(stderr, "--type 必须是 ADT、ORU 或 mix (must be ADT, ORU or mix): %s\n",
                 type.c_str());
    return 2;
  }

  hie::load::LoadReport report = hie::load::RunLoad(opt);
  if (json) {
    std::printf("%s\n", hie::load::FormatReportJson(report).c_str());
  } else {
    std::printf("%s", hie::load::FormatReportText(report).c_str());
  }
  return report.Ok() ? 0 : 1;
}
