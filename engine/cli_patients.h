// `hie patients ...`: the EMPI from the command line, through a running
// hub's REST API (docs/api.md "Patients (EMPI)"): find (PIX / PDQ), show,
// reviews, accept, reject, merge, unmerge. Output is the API's JSON,
// indented; errors in Chinese with the English term, exit 1.
// Thread rules: called once from main.
#pragma once

#include <string>

namespace hie {

struct PatientsCliArgs {
  std::string api;                    // hub REST base URL
  std::string action;                 // find | show | reviews | accept | reject | merge | unmerge
  std::string identifier;             // find: AUTHORITY|VALUE
  std::string name, birth_date, sex;  // find: PDQ
  std::string target;          // show/merge: EMPI id; accept/reject: review id; unmerge: merge id
  std::string from;            // merge: the EMPI id merged into target
  std::string state = "open";  // reviews
  std::string user;            // X-User for the history
};

int PatientsCli(const PatientsCliArgs& a);

}  // namespace hie
