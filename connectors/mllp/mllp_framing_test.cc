#include "connectors/mllp/mllp_framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hie {
namespace {

using Kind = MllpDecodedFrame::Kind;

struct Decoded {
  std::vector<MllpDecodedFrame> frames;
  uint64_t garbage = 0;
};

// Feeds `stream` cut at the given split points, then finishes.
Decoded DecodeSplit(const std::string& stream, const std::vector<size_t>& splits, size_t max,
                    bool finish = true) {
  MllpDecoder d(max);
  Decoded out;
  size_t pos = 0;
  for (size_t s : splits) {
    d.Feed(std::string_view(stream).substr(pos, s - pos), &out.frames);
    pos = s;
  }
  d.Feed(std::string_view(stream).substr(pos), &out.frames);
  if (finish) {
    MllpDecodedFrame f;
    if (d.Finish(&f)) out.frames.push_back(std::move(f));
  }
  out.garbage = d.garbage_bytes();
  return out;
}

Decoded Decode(const std::string& stream, size_t max = 1 << 20, bool finish = true) {
  return DecodeSplit(stream, {}, max, finish);
}

void ExpectSame(const Decoded& a, const Decoded& b, const std::string& ctx) {
  ASSERT_EQ(a.frames.size(), b.frames.size()) << ctx;
  for (size_t i = 0; i < a.frames.size(); ++i) {
    EXPECT_EQ(a.frames[i].kind, b.frames[i].kind) << ctx << " frame " << i;
    EXPECT_EQ(a.frames[i].payload, b.frames[i].payload) << ctx << " frame " << i;
    EXPECT_EQ(a.frames[i].size, b.frames[i].size) << ctx << " frame " << i;
  }
  EXPECT_EQ(a.garbage, b.garbage) << ctx;
}

TEST(MllpFrameTest, WrapsPayload) {
  EXPECT_EQ(MllpFrame("MSH|^~\\&|A"), std::string("\x0bMSH|^~\\&|A\x1c\x0d"));
  EXPECT_EQ(MllpFrame(""), std::string("\x0b\x1c\x0d"));
  std::string out = "x";
  AppendMllpFrame("ab", &out);
  EXPECT_EQ(out, std::string("x\x0b"
                             "ab\x1c\x0d"));
}

TEST(MllpDecoderTest, SingleAndBackToBackFrames) {
  auto d = Decode(MllpFrame("MSH|1") + MllpFrame("MSH|2\rPID|1") + MllpFrame(""));
  ASSERT_EQ(d.frames.size(), 3u);
  EXPECT_EQ(d.frames[0].payload, "MSH|1");
  EXPECT_EQ(d.frames[0].kind, Kind::kMessage);
  EXPECT_EQ(d.frames[0].size, 5u);
  EXPECT_EQ(d.frames[1].payload, "MSH|2\rPID|1");
  EXPECT_EQ(d.frames[2].payload, "");
  EXPECT_EQ(d.frames[2].kind, Kind::kMessage);
  EXPECT_EQ(d.garbage, 0u);
}

TEST(MllpDecoderTest, GarbageOutsideFramesIsSkippedAndCounted) {
  auto d = Decode("junk" + MllpFrame("A") + "\r\n" + MllpFrame("B") + "tail");
  ASSERT_EQ(d.frames.size(), 2u);
  EXPECT_EQ(d.frames[0].payload, "A");
  EXPECT_EQ(d.frames[1].payload, "B");
  EXPECT_EQ(d.garbage, 4u + 2u + 4u);
}

TEST(MllpDecoderTest, EndBlockWithoutCarriageReturnIsAccepted) {
  // "X" after a bare 0x1C is garbage, not part of the next frame.
  auto d =
      Decode(std::string("\x0b"
                         "A\x1c"
                         "X\x0b"
                         "B\x1c\x0b"
                         "C\x1c\x0d"));
  ASSERT_EQ(d.frames.size(), 3u);
  EXPECT_EQ(d.frames[0].payload, "A");
  EXPECT_EQ(d.frames[1].payload, "B");
  EXPECT_EQ(d.frames[2].payload, "C");
  EXPECT_EQ(d.garbage, 1u);
  for (const auto& f : d.frames) EXPECT_EQ(f.kind, Kind::kMessage);
}

TEST(MllpDecoderTest, CarriageReturnInNextChunkIsConsumed) {
  MllpDecoder d(100);
  std::vector<MllpDecodedFrame> out;
  d.Feed(std::string("\x0b"
                     "A\x1c"),
         &out);
  ASSERT_EQ(out.size(), 1u);  // emitted at 0x1C, without waiting for 0x0D
  d.Feed("\x0d", &out);
  EXPECT_EQ(d.garbage_bytes(), 0u);
  EXPECT_FALSE(d.in_frame());
}

TEST(MllpDecoderTest, OversizedFrameKeepsPrefixAndTrueSize) {
  const std::string big(25, 'x');
  auto d = Decode(MllpFrame("0123456789" + big) + MllpFrame("ok"), 10);
  ASSERT_EQ(d.frames.size(), 2u);
  EXPECT_EQ(d.frames[0].kind, Kind::kOversized);
  EXPECT_EQ(d.frames[0].payload, "0123456789");
  EXPECT_EQ(d.frames[0].size, 35u);
  EXPECT_EQ(d.frames[1].kind, Kind::kMessage);
  EXPECT_EQ(d.frames[1].payload, "ok");
}

TEST(MllpDecoderTest, FrameOfExactlyMaxIsNotOversized) {
  auto d = Decode(MllpFrame("0123456789"), 10);
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].kind, Kind::kMessage);
  EXPECT_EQ(d.frames[0].payload, "0123456789");
}

TEST(MllpDecoderTest, NewStartBlockInsideFrameTruncatesIt) {
  auto d = Decode(std::string("\x0b"
                              "half") +
                  MllpFrame("whole"));
  ASSERT_EQ(d.frames.size(), 2u);
  EXPECT_EQ(d.frames[0].kind, Kind::kTruncated);
  EXPECT_EQ(d.frames[0].payload, "half");
  EXPECT_EQ(d.frames[0].size, 4u);
  EXPECT_EQ(d.frames[1].kind, Kind::kMessage);
  EXPECT_EQ(d.frames[1].payload, "whole");
}

TEST(MllpDecoderTest, PartialFrameAtEndIsTruncated) {
  auto d = Decode(MllpFrame("A") +
                  "\x0b"
                  "partial");
  ASSERT_EQ(d.frames.size(), 2u);
  EXPECT_EQ(d.frames[1].kind, Kind::kTruncated);
  EXPECT_EQ(d.frames[1].payload, "partial");
  EXPECT_EQ(d.frames[1].size, 7u);
}

TEST(MllpDecoderTest, PartialOversizedFrameAtEndKeepsTrueSize) {
  auto d = Decode(std::string("\x0b") + std::string(50, 'y'), 8);
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].kind, Kind::kTruncated);
  EXPECT_EQ(d.frames[0].payload, std::string(8, 'y'));
  EXPECT_EQ(d.frames[0].size, 50u);
}

TEST(MllpDecoderTest, FinishOutsideFrameEmitsNothingAndResets) {
  MllpDecoder d(100);
  std::vector<MllpDecodedFrame> out;
  d.Feed(MllpFrame("A"), &out);
  MllpDecodedFrame f;
  EXPECT_FALSE(d.Finish(&f));
  d.Feed(
      "\x0b"
      "B",
      &out);
  EXPECT_TRUE(d.in_frame());
  EXPECT_TRUE(d.Finish(&f));
  EXPECT_FALSE(d.in_frame());
  // After Finish the decoder starts clean.
  d.Feed(MllpFrame("C"), &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].payload, "C");
}

// A sample exercising every rule; decoding must not depend on how the bytes
// are cut into chunks.
std::string Sample() {
  std::string s = "\r\nnoise";
  s += MllpFrame("MSH|^~\\&|HIS|XQRMYY|||20240101||ADT^A04|1|P|2.5\rPID|1");
  s += MllpFrame(std::string(40, 'L'));  // oversized at max 16
  s += std::string(
      "\x0b"
      "bare-end\x1c");  // no CR
  s += "?";             // garbage
  s += std::string(
           "\x0b"
           "restart") +
       MllpFrame("again");  // truncated then a frame
  s += MllpFrame("");       // empty frame
  s += std::string(
      "\x0b"
      "cut-at-the-end");  // truncated at Finish
  return s;
}

TEST(MllpDecoderTest, EverySplitPointGivesTheSameFrames) {
  const std::string s = Sample();
  const Decoded whole = Decode(s, 16);
  ASSERT_EQ(whole.frames.size(), 7u);
  EXPECT_EQ(whole.frames[1].kind, Kind::kOversized);
  EXPECT_EQ(whole.frames[1].size, 40u);
  EXPECT_EQ(whole.frames[2].payload, "bare-end");
  EXPECT_EQ(whole.frames[3].kind, Kind::kTruncated);
  EXPECT_EQ(whole.frames[4].payload, "again");
  EXPECT_EQ(whole.frames[6].kind, Kind::kTruncated);
  EXPECT_EQ(whole.garbage, 7u + 1u);
  for (size_t i = 0; i <= s.size(); ++i) {
    ExpectSame(whole, DecodeSplit(s, {i}, 16), "split at " + std::to_string(i));
  }
  // Pairs of split points (three chunks).
  for (size_t i = 0; i <= s.size(); i += 3) {
    for (size_t j = i; j <= s.size(); j += 5) {
      ExpectSame(whole, DecodeSplit(s, {i, j}, 16),
                 "splits " + std::to_string(i) + "," + std::to_string(j));
    }
  }
  // One byte at a time.
  std::vector<size_t> every;
  for (size_t i = 1; i < s.size(); ++i) every.push_back(i);
  ExpectSame(whole, DecodeSplit(s, every, 16), "byte by byte");
}

}  // namespace
}  // namespace hie
