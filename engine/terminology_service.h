// The hub's terminology service: owns the process-wide Terminology holder
// (terminology/terminology.h), loads `terminology.dir` at start, reloads it on
// SIGHUP or POST /api/v1/terminology/reload (a rejected reload keeps the old
// maps), and checks the codes of each accepted HL7 v2 message so that codes
// that do not translate land in the unmapped register (CONTRACT §4, §6).
//
// Checking is split in two so that the ACK never waits on the register:
// CheckMessage() runs before the commit on the parsed ER7 (lookups only,
// ~100 ns each, no allocation unless something is unmapped) and collects the
// misses; RecordUnmapped() runs after the commit, when the message id is
// known. System ids are resolved once per snapshot (see Resolved).
//
// Thread rules: every method is safe from any thread. Load/Reload serialise
// among themselves; CheckMessage/RecordUnmapped never take the reload lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "core/status.h"
#include "mappings/hl7v2/er7.h"
#include "terminology/terminology.h"

namespace hie {

// What a load or reload found, for the API, the CLI and the log.
struct TerminologyLoadReport {
  LoadStats stats;
  size_t systems = 0;
  size_t concepts = 0;
  size_t mappings = 0;
  double millis = 0;        // how long loading and swapping took
  uint64_t generation = 0;  // the holder's generation after the swap
};

// A code of one message that did not translate (gathered before the commit).
struct UnmappedFind {
  std::string system;  // e.g. "local:CWS001", "HL7 0001"
  std::string code;
  std::string display;
  std::string target_system;  // "LOINC", "GB/T 2261.1"
};

class TerminologyService {
 public:
  // `dir` empty: no terminology configured (nothing translates, reload is
  // refused). `facilities` are the configured facility ids whose local:
  // systems are resolved once per snapshot. `metrics` may be null.
  TerminologyService(std::string dir, std::vector<std::string> facilities, Env& env,
                     MetricsRegistry* metrics);

  // Loads `dir` (at hub start). Error: kConfigError with where = "file:line"
  // (or the directory) and nothing loaded.
  Result<TerminologyLoadReport> Load();
  // Loads `dir` again and swaps; on error keeps the current snapshot and
  // returns kConfigError with where = "file:line". Logs either way.
  Result<TerminologyLoadReport> Reload();

  bool configured() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  Terminology& terminology() { return terminology_; }
  std::shared_ptr<const TerminologySnapshot> Current() const { return terminology_.Current(); }
  const UnmappedRegister& unmapped() const { return terminology_.unmapped(); }

  // Looks up the codes of a parsed HL7 v2 message from `facility` and appends
  // the ones that do not translate to `out`:
  //   ORU^R01: every OBX-3 (code^text^system) as (local:F, code) -> LOINC;
  //            an OBX-3 already coded in LOINC (OBX-3.3 "LN"/"LOINC") counts as mapped.
  //   any message with PID-8: HL7 0001 -> GB/T 2261.1, or already a GB/T 2261.1
  //            code, or (local:F, code) -> GB/T 2261.1; otherwise unmapped as HL7 0001.
  // Lookups only; allocates only for misses. Does nothing when no dir is configured.
  void CheckMessage(const Er7Message& msg, std::string_view message_type,
                    std::string_view facility, std::vector<UnmappedFind>* out) const;

  // Counts each find in the unmapped register (after the commit).
  void RecordUnmapped(const std::vector<UnmappedFind>& finds, std::string_view facility,
                      int64_t message_id);

 private:
  // Heterogeneous lookup: find a facility by string_view without a copy.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // System ids of one snapshot, so a message costs no name lookups.
  struct Resolved {
    std::shared_ptr<const TerminologySnapshot> snapshot;
    SystemId loinc = kNoSystem;
    SystemId hl7_sex = kNoSystem;
    SystemId gb_sex = kNoSystem;
    // facility id -> local:<id>
    std::unordered_map<std::string, SystemId, NameHash, std::equal_to<>> local;
  };
  void Resolve();
  TerminologyLoadReport Report(double millis) const;

  const std::string dir_;
  const std::vector<std::string> facilities_;
  Env& env_;
  Terminology terminology_;
  std::atomic<std::shared_ptr<const Resolved>> resolved_;
  std::mutex load_mu_;
  Counter* unmapped_total_ = nullptr;
  Counter* reloads_ok_ = nullptr;
  Counter* reloads_failed_ = nullptr;
};

}  // namespace hie
