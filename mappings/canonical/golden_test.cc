// Golden files: every tests/golden/v2/NAME.hl7 is mapped to canonical JSON
// and to FHIR and compared with NAME.canonical.json and NAME.fhir.json.
// HIE_UPDATE_GOLDEN=1 rewrites the expected files instead (review the diff).
// Each message also round-trips v2 -> canonical -> v2 -> canonical.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mappings/canonical/canonical_to_v2.h"
#include "mappings/canonical/fhir.h"
#include "mappings/canonical/v2_to_canonical.h"
#include "mappings/hl7v2/msh.h"

namespace hie::canonical {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Compare(const fs::path& expected_path, const std::string& actual) {
  const char* update = std::getenv("HIE_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(expected_path, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(expected_path))
      << expected_path << " missing; run with HIE_UPDATE_GOLDEN=1";
  EXPECT_EQ(ReadFile(expected_path), actual) << "golden mismatch: " << expected_path;
}

std::vector<fs::path> GoldenMessages() {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(HIE_SOURCE_DIR) / "tests/golden/v2";
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".hl7") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CanonicalGolden, V2MessagesMatchExpectedFiles) {
  const auto files = GoldenMessages();
  ASSERT_GE(files.size(), 6u);
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const std::string raw = ReadFile(path);
    auto msh = ReadMsh(raw);
    ASSERT_TRUE(msh.ok()) << msh.status().ToString();
    auto canon = V2ToCanonical(raw, msh->sending_facility);
    ASSERT_TRUE(canon.ok()) << canon.status().ToString();
    fs::path base = path;
    base.replace_extension();
    Compare(base.string() + ".canonical.json", ToJson(*canon).dump(2) + "\n");
    Compare(base.string() + ".fhir.json", ToFhir(*canon).dump(2) + "\n");

    // v2 -> canonical -> v2 -> canonical gives the same canonical JSON.
    auto v2 = CanonicalToV2(*canon);
    ASSERT_TRUE(v2.ok()) << v2.status().ToString();
    auto again = V2ToCanonical(*v2, msh->sending_facility);
    ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << *v2;
    EXPECT_EQ(ToJson(*again).dump(2), ToJson(*canon).dump(2)) << *v2;

    // canonical -> FHIR -> canonical likewise.
    auto fhir = ReadFhir(WriteFhir(*canon), "OTHER");
    ASSERT_TRUE(fhir.ok()) << fhir.status().ToString();
    EXPECT_EQ(ToJson(*fhir).dump(2), ToJson(*canon).dump(2));
  }
}

}  // namespace
}  // namespace hie::canonical
