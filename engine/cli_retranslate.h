// `hie terminology retranslate --since DATE [--api URL] [--no-wait]`
// (issue 4): asks the running hub to bring the shared record's stored
// results up to date with the current maps (POST
// /api/v1/terminology/retranslate), then follows the pass (GET, every
// half second), printing its progress (scanned / updated) until it ends.
// Exit: 0 done, 1 failed / stopped / hub unreachable / refused, 2 bad input.
// Thread rules: run once from main.
#pragma once

#include <string>

namespace hie {

struct RetranslateCliArgs {
  std::string api;    // hub REST base URL
  std::string since;  // 2026-11-01, RFC 3339 or epoch ms
  bool wait = true;   // follow the pass until it ends
};

int TerminologyRetranslate(const RetranslateCliArgs& a);

}  // namespace hie
