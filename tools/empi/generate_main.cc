// hie-empi-generate: writes a synthetic county population as labelled CSV
// (see tools/empi/population.h). Everything in it is invented.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "tools/empi/population.h"

int main(int argc, char** argv) {
  CLI::App app{"合成县域人口 (synthetic county population)"};
  hie::empi::tools::PopulationOptions options;
  std::string out = "-";
  app.add_option("--seed", options.seed, "随机种子 (random seed)");
  app.add_option("--persons", options.persons, "人数 (number of persons)");
  app.add_option("--records-per-person", options.records_per_person, "平均记录数 (mean records)");
  app.add_option("-o,--out", out, "输出文件，- 为标准输出 (output file, - for stdout)");
  CLI11_PARSE(app, argc, argv);
  const std::string csv = hie::empi::tools::ToCsv(hie::empi::tools::GeneratePopulation(options));
  if (out == "-") {
    std::fwrite(csv.data(), 1, csv.size(), stdout);
    return 0;
  }
  std::ofstream f(out);
  f << csv;
  if (!f) {
    std::fprintf(stderr, "写入失败 (write failed): %s\n", out.c_str());
    return 1;
  }
  return 0;
}
