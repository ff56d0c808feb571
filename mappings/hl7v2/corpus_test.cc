// Every file of the shared HL7 v2 corpus splits into messages, every message
// parses, and each parsed message serializes back to the same bytes. The few
// files that are invalid on purpose are listed with the reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "mappings/hl7v2/batch.h"
#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/msh.h"

namespace hie {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Files (relative to corpus/hl7v2) that are not valid HL7 v2 on purpose.
const std::map<std::string, std::string>& KnownInvalid() {
  static const std::map<std::string, std::string> kInvalid = {
      {"python-hl7/BAD_sample_bad_batch.hl7", "BHS followed by segments without MSH"},
      {"python-hl7/BAD_sample_bad_batch1.hl7", "BHS inside a message"},
      {"python-hl7/BAD_sample_bad_file.hl7", "FHS/BHS followed by segments without MSH"},
      {"python-hl7/BAD_sample_bad_file1.hl7", "BHS inside a message"},
      {"python-hl7/BAD_sample_bad_file2.hl7", "FHS inside a message"},
      {"python-hl7/BAD_sample_bad_file3.hl7", "FHS followed by segments without MSH"},
      {"hapi-hl7v2/uuencoded_escaped.txt", "not a message: a bare field payload"},
      {"cdcgov-data-exchange-hl7/Lyme_WithBadDelimiters.hl7", "MSH-2 is '&&&&'"},
      {"cdcgov-trusted-intermediary/Test_Message_msh_present_but_missing_all_fields.hl7",
       "MSH without encoding characters"},
      {"cdcgov-trusted-intermediary/Test_Message_msh_present_but_missing_msh-2.hl7", "MSH-2 empty"},
      {"cdcgov-trusted-intermediary/TN_001_TN_ORU_R01_LRI_annotated_for_transformation.hl7",
       "prose annotation lines between segments"},
      {"cdcgov-trusted-intermediary/TX_001_TX_OML_O21.hl7",
       "OBR-4 broken across two LF-terminated lines"},
      {"linuxforhealth-hl7v2-fhir-converter/sample_unix.hl7",
       "MSH-2 is '^~\\\\&' (backslash doubled, duplicate escape/subcomponent)"},
      {"linuxforhealth-hl7v2-fhir-converter/sample_win.hl7",
       "MSH-2 is '^~\\\\&' (backslash doubled, duplicate escape/subcomponent)"},
  };
  return kInvalid;
}

TEST(Hl7Corpus, EveryFileSplitsParsesAndRoundTrips) {
  const fs::path root = fs::path(HIE_CORPUS_DIR) / "hl7v2";
  if (!fs::exists(root)) GTEST_SKIP() << "corpus not found at " << root;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name == "README.md" || name == "MANIFEST.tsv") continue;
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 900u);

  size_t messages = 0, parsed = 0, round_trips = 0, msh_read = 0;
  std::map<std::string, std::string> failed;  // file -> first error
  for (const auto& path : files) {
    const std::string rel = fs::relative(path, root).string();
    const std::string text = ReadFile(path);
    auto split = SplitEr7(text, /*normalize_to_cr=*/true);
    if (!split.ok()) {
      failed[rel] = split.status().ToString();
      continue;
    }
    ASSERT_EQ(split->normalized.size(), split->messages.size());
    for (size_t i = 0; i < split->messages.size(); ++i) {
      std::string_view msg = split->messages[i];
      ++messages;
      auto m = Er7Message::Parse(msg);
      if (!m.ok()) {
        failed.emplace(rel, m.status().ToString());
        continue;
      }
      ++parsed;
      if (m->Serialize() == msg)
        ++round_trips;
      else
        ADD_FAILURE() << rel << " message " << i << " does not round-trip";
      auto norm = Er7Message::Parse(split->normalized[i]);
      ASSERT_TRUE(norm.ok()) << rel;
      EXPECT_EQ(norm->segment_count(), m->segment_count()) << rel;
      EXPECT_EQ(norm->Serialize(), split->normalized[i]) << rel;
      auto msh = ReadMsh(msg);
      if (msh.ok())
        ++msh_read;
      else
        std::cout << "[corpus] ReadMsh: " << rel << ": " << msh.status().where() << "\n";
    }
  }
  std::cout << "[corpus] files=" << files.size() << " messages=" << messages << " parsed=" << parsed
            << " round_trips=" << round_trips << " msh_ok=" << msh_read
            << " failed_files=" << failed.size() << "\n";
  for (const auto& [file, why] : failed) {
    std::cout << "[corpus] invalid: " << file << ": " << why << "\n";
    EXPECT_TRUE(KnownInvalid().count(file)) << file << ": " << why;
  }
  for (const auto& [file, why] : KnownInvalid()) {
    EXPECT_TRUE(failed.count(file)) << file << " was expected to fail (" << why << ")";
  }
  EXPECT_EQ(parsed, round_trips);
  EXPECT_GT(messages, 1000u);
}

}  // namespace
}  // namespace hie
