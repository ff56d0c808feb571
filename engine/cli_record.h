// `hie patient show EMPI_ID` and `hie patient labs EMPI_ID`: the shared
// record of one person from the command line, through a running hub's REST
// API (GET /api/v1/patients/{id}/summary and .../lab-results), rendered as
// terminal tables in Chinese (engine/text_table.h: CJK characters count two
// columns), with each result's mutual-recognition status and, for those not
// recognized, every reason. --json prints the API's JSON instead. The hub
// writes an access event for each (X-User = --user, else $USER;
// X-Facility-Id = --reader).
// Thread rules: called once from main.
#pragma once

#include <string>

namespace hie {

struct PatientCliArgs {
  std::string api;     // hub REST base URL
  std::string action;  // show | labs
  std::string empi_id;
  std::string user;                   // X-User ("" = $USER)
  std::string reader;                 // X-Facility-Id of the reader
  std::string code, since, facility;  // labs filters
  int limit = 0;                      // labs: 0 = the API's default
  std::string cursor;                 // labs: next page
  bool history = false;               // labs: superseded versions too
  bool json = false;
};

int PatientCli(const PatientCliArgs& a);

}  // namespace hie
