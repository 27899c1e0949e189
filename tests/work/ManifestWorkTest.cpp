//===- ManifestWorkTest.cpp - the `work` section of hybridc-model.json ----===//
#include "hybridc/Run/Manifest.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace hybridc;

namespace {

class ManifestWork : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> d;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("hybridc-manifest", d));
    dir = std::string(d);
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  void writeRaw(const std::string &text) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, kManifestFileName);
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    ASSERT_FALSE(ec);
    os << text;
  }

  static Manifest basic() {
    Manifest m;
    m.name = "tiny";
    m.library = "libtiny.so";
    m.header = "tiny.h";
    m.weights = "tiny.weights";
    m.vocabSize = 512;
    return m;
  }

  std::string dir;
};

TEST_F(ManifestWork, RoundTrips) {
  Manifest m = basic();
  ModelWork w;
  w.bitsPerWeight = 16;
  w.matmulMacsPerToken = 1;
  w.lmHeadMacsPerToken = 2;
  w.attentionMacsPerPosition = 3;
  w.scanFlopsPerToken = 4;
  w.decodeWeightsPerToken = 5;
  w.decodeWeightBytesPerToken = 6;
  w.decodeStateBytesPerToken = 7;
  w.decodeKvBytesPerPosition = 8;
  m.work = w;
  ASSERT_FALSE(static_cast<bool>(writeManifest(dir, m)));
  llvm::Expected<Manifest> r = readManifest(dir);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ASSERT_TRUE(r->work.has_value());
  EXPECT_EQ(r->work->bitsPerWeight, 16);
  EXPECT_EQ(r->work->matmulMacsPerToken, 1);
  EXPECT_EQ(r->work->lmHeadMacsPerToken, 2);
  EXPECT_EQ(r->work->attentionMacsPerPosition, 3);
  EXPECT_EQ(r->work->scanFlopsPerToken, 4);
  EXPECT_EQ(r->work->decodeWeightsPerToken, 5);
  EXPECT_EQ(r->work->decodeWeightBytesPerToken, 6);
  EXPECT_EQ(r->work->decodeStateBytesPerToken, 7);
  EXPECT_EQ(r->work->decodeKvBytesPerPosition, 8);
}

// Folders compiled before the section existed must still load.
TEST_F(ManifestWork, OldManifestHasNoWork) {
  ASSERT_FALSE(static_cast<bool>(writeManifest(dir, basic())));
  llvm::Expected<Manifest> r = readManifest(dir);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  EXPECT_FALSE(r->work.has_value());
}

TEST_F(ManifestWork, MissingFieldIsNamed) {
  writeRaw(R"({"name": "tiny", "library": "libtiny.so", "header": "tiny.h",
               "weights": "", "vocab_size": 512, "work": {"bits_per_weight": 32}})");
  llvm::Expected<Manifest> r = readManifest(dir);
  ASSERT_FALSE(static_cast<bool>(r));
  std::string msg = llvm::toString(r.takeError());
  EXPECT_NE(msg.find("work.matmul_macs_per_token is missing"), std::string::npos) << msg;
}

} // namespace
