#include "connectors/file/file_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

namespace hie {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hie_file_writer_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FileWriterTest, WritesCreatesDirAndOverwrites) {
  const fs::path out = dir_ / "out" / "county";
  std::string content = "MSH|^~\\&|HIE\r张三\r";
  content.push_back('\0');
  content += "tail";
  ASSERT_TRUE(WriteFileAtomic(out, "msg-1.hl7", content).ok());
  EXPECT_EQ(ReadAll(out / "msg-1.hl7"), content);
  ASSERT_TRUE(WriteFileAtomic(out, "msg-1.hl7", "second").ok());
  EXPECT_EQ(ReadAll(out / "msg-1.hl7"), "second");
  ASSERT_TRUE(WriteFileAtomic(out, "empty.txt", "").ok());
  EXPECT_TRUE(fs::exists(out / "empty.txt"));
  EXPECT_EQ(fs::file_size(out / "empty.txt"), 0u);
  // No temp files left behind.
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    ++n;
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
  EXPECT_EQ(n, 2u);
}

TEST_F(FileWriterTest, RejectsNamesThatLeaveTheDirectory) {
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."), std::string("../x"),
        std::string("a/b"), std::string("/etc/x"), std::string("x..y"), std::string("a\0b", 3)}) {
    Status st = WriteFileAtomic(dir_, bad, "x");
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("invalid file name"), std::string::npos);
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(FileWriterTest, IoErrorNamesThePath) {
  // The "directory" is a regular file: it cannot be created or written into.
  const fs::path blocker = dir_ / "blocker";
  ASSERT_TRUE(WriteFileAtomic(dir_, "blocker", "x").ok());
  Status st = WriteFileAtomic(blocker / "sub", "f.txt", "x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kStoreError);
  EXPECT_NE(st.message().find(blocker.string()), std::string::npos) << st.message();
}

}  // namespace
}  // namespace hie
