//===- SafetensorsTest.cpp - safetensors parsing and its errors -----------===//
#include "TestFiles.h"

#include "hybridc/Model/Safetensors.h"

#include <cstring>
#include <gtest/gtest.h>

using namespace hybridc;
using namespace hybridc::test;

namespace {

std::vector<uint8_t> floatBytes(std::initializer_list<float> values) {
  std::vector<uint8_t> out(values.size() * 4);
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

/// Opens `path`, expecting failure; returns the message.
std::string openError(const std::string &path) {
  auto f = SafetensorsFile::open(path);
  EXPECT_FALSE(static_cast<bool>(f)) << "expected an error for " << path;
  return f ? std::string() : errorMessage(f.takeError());
}

TEST(Safetensors, ReleasedPagesReadBackFromTheFile) {
  TempDir dir;
  std::vector<float> values(100000);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = float(i) * 0.5f;
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  writeSafetensors(dir.file("big.safetensors"),
                   {{"a", "F32", {3}, floatBytes({1, 2, 3})},
                    {"big", "F32", {int64_t(values.size())}, bytes},
                    {"c", "F32", {2}, floatBytes({7, 8})}});
  auto f = SafetensorsFile::open(dir.file("big.safetensors"));
  ASSERT_TRUE(static_cast<bool>(f)) << errorMessage(f.takeError());
  const TensorView *big = (*f)->find("big");
  ASSERT_TRUE(big->mapped);
  EXPECT_EQ(big->toFloat(), values);
  big->releasePages(); // also the pages it shares with its neighbours
  EXPECT_EQ(big->toFloat(), values);
  EXPECT_EQ((*f)->find("a")->toFloat(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ((*f)->find("c")->toFloat(), (std::vector<float>{7, 8}));

  // A view that is not into a mapping is never released (that would zero it).
  TensorView owned = *big;
  owned.mapped = false;
  owned.data = bytes.data();
  owned.releasePages();
  EXPECT_EQ(owned.toFloat(), values);
}

TEST(Safetensors, ReadsAllDtypesWithoutCopying) {
  TempDir dir;
  // bf16 1.5 = 0x3FC0; f16 -2.0 = 0xC000; f16 subnormal 2^-24 = 0x0001.
  writeSafetensors(dir.file("a.safetensors"),
                   {{"w", "F32", {2, 2}, floatBytes({1, 2, 3, 4})},
                    {"b", "BF16", {1}, {0xC0, 0x3F}},
                    {"h", "F16", {2}, {0x00, 0xC0, 0x01, 0x00}}});
  auto f = SafetensorsFile::open(dir.file("a.safetensors"));
  ASSERT_TRUE(static_cast<bool>(f)) << errorMessage(f.takeError());
  const TensorView *w = (*f)->find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(w->toFloat(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_FLOAT_EQ((*f)->find("b")->at(0), 1.5f);
  EXPECT_FLOAT_EQ((*f)->find("h")->at(0), -2.0f);
  EXPECT_FLOAT_EQ((*f)->find("h")->at(1), 5.9604645e-08f);
  EXPECT_EQ((*f)->find("missing"), nullptr);
}

TEST(Safetensors, FileShorterThanLengthPrefix) {
  TempDir dir;
  writeFile(dir.file("t.safetensors"), "abc");
  std::string msg = openError(dir.file("t.safetensors"));
  EXPECT_NE(msg.find("too short for the 8-byte header length: truncated"), std::string::npos)
      << msg;
}

TEST(Safetensors, HeaderTruncated) {
  TempDir dir;
  writeRawSafetensors(dir.file("t.safetensors"), 4096, "{\"w\": {", 0);
  std::string msg = openError(dir.file("t.safetensors"));
  EXPECT_NE(msg.find("t.safetensors: header length 4096 runs past the end"), std::string::npos)
      << msg;
}

TEST(Safetensors, HeaderTooLarge) {
  TempDir dir;
  writeRawSafetensors(dir.file("t.safetensors"), kMaxSafetensorsHeaderBytes + 1, "{}", 0);
  std::string msg = openError(dir.file("t.safetensors"));
  EXPECT_NE(msg.find("exceeds the"), std::string::npos) << msg;
}

TEST(Safetensors, HeaderNotJson) {
  TempDir dir;
  std::string header = "not json at all!";
  writeRawSafetensors(dir.file("t.safetensors"), header.size(), header, 0);
  std::string msg = openError(dir.file("t.safetensors"));
  EXPECT_NE(msg.find("header is not valid JSON"), std::string::npos) << msg;
}

TEST(Safetensors, UnknownDtype) {
  TempDir dir;
  writeSafetensors(dir.file("t.safetensors"), {{"q", "I8", {4}, {1, 2, 3, 4}}});
  std::string msg = openError(dir.file("t.safetensors"));
  EXPECT_NE(msg.find("tensor 'q': unsupported dtype \"I8\""), std::string::npos) << msg;
}

TEST(Safetensors, OffsetsOverlap) {
  TempDir dir;
  std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  writeRawSafetensors(dir.file("t.safetensors"), header.size(), header, 16);
  std::string msg = openError(dir.file("t.safetensors"));
  EXPECT_NE(msg.find("tensors 'a' [0, 8) and 'b' [4, 12) overlap"), std::string::npos) << msg;
}

TEST(Safetensors, OffsetsOverlapAcrossANestedRange) {
  TempDir dir;
  // 'big' spans everything; 'c' starts after 'small' but still inside 'big'.
  std::string header =
      "{\"big\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
      "\"small\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
  writeRawSafetensors(dir.file("t.safetensors"), header.size(), header, 16);
  std::string msg = openError(dir.file("t.safetensors"));
  EXPECT_NE(msg.find("overlap"), std::string::npos) << msg;
}

TEST(Safetensors, OffsetsRunPastTheFile) {
  TempDir dir;
  std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
  writeRawSafetensors(dir.file("t.safetensors"), header.size(), header, 8);
  std::string msg = openError(dir.file("t.safetensors"));
  EXPECT_NE(msg.find("tensor 'a': data_offsets end 16 runs past the end of the data section "
                     "(8 bytes)"),
            std::string::npos)
      << msg;
}

TEST(Safetensors, OffsetsDisagreeWithShape) {
  TempDir dir;
  std::string header = "{\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,16]}}";
  writeRawSafetensors(dir.file("t.safetensors"), header.size(), header, 16);
  std::string msg = openError(dir.file("t.safetensors"));
  EXPECT_NE(msg.find("hold 16 bytes but shape and dtype need 8"), std::string::npos) << msg;
}

TEST(Safetensors, MissingFile) {
  std::string msg = openError("/nonexistent/model.safetensors");
  EXPECT_NE(msg.find("/nonexistent/model.safetensors: cannot open"), std::string::npos) << msg;
}

} // namespace
