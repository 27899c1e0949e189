//===- CrossTargetTest.cpp - aarch64 libraries under qemu vs the reference ===//
//
// A library compiled with --target aarch64 cannot be loaded by this (x86)
// test, so a small aarch64 program (tests/cross/dump_logits.c, cross-built)
// loads it under qemu-user and writes its logits three ways: one prefill,
// prefill calls of a few tokens, token by token. Each is held to the C++
// reference at the tolerance the same variant has on x86, and the golden
// model also to the independently computed golden logits.
//
//===----------------------------------------------------------------------===//
#include "E2eSupport.h"

#include "hybridc/Run/Manifest.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace hybridc::e2e;
using hybridc::reference::MatmulRounding;

namespace {

const Variant kGoldenAArch64{"golden_aarch64", kF32Tol, kF32Why};
// Scan chunks of 16 and prefill calls of 24 inside the library, calls of 5
// from the program: every chunk boundary and call boundary moves.
const Variant kChunk16AArch64{"tiny_chunk16_aarch64", kF32Tol, kF32Why};
// A bf16 checkpoint stored bf16 and widened to f32 in registers (aarch64
// has no bf16 dot product here): the same values as the reference's.
const Variant kBf16AArch64{"tiny_bf16_aarch64", kF32Tol,
                           "bf16 checkpoint, bf16 weights widened exactly, f32 math"};
// int8 blocks meeting int8 activations, two products per i32 lane.
const Variant kInt8AArch64 = int8Dot("golden_int8_aarch64", true);

struct Dump {
  std::string target;                      // what the library's model_target said
  std::vector<float> oneshot, chunked, stepwise; // [n][V] each
};

std::vector<float> readRows(const std::string &path, size_t count) {
  std::vector<float> rows(count);
  std::ifstream f(path, std::ios::binary);
  if (!f.read(reinterpret_cast<char *>(rows.data()), std::streamsize(count * sizeof(float)))) {
    ADD_FAILURE() << "cannot read " << count << " floats from " << path;
    return {};
  }
  return rows;
}

/// Runs dump_logits on the variant's library under qemu; empty rows (and a
/// test failure) if it fails.
Dump runUnderQemu(const Variant &v, const std::vector<int32_t> &tokens, int chunk) {
  Dump d;
  llvm::Expected<hybridc::Manifest> m = hybridc::readManifest(outDir(v.name));
  if (!m) {
    ADD_FAILURE() << llvm::toString(m.takeError());
    return d;
  }
  EXPECT_EQ(m->target, "aarch64");
  const std::string out = outDir(v.name), scratch = scratchDir(std::string("cross_") + v.name);
  const std::string prefix = scratch + "/logits", log = scratch + "/dump_logits.log";
  std::ostringstream cmd;
  // A hang (a lost wake-up, say) fails here, with the log, not at CTest's timeout.
  // The cross toolchain's C library, also when Debian's multiarch one is
  // installed (docs/testing.md).
  cmd << "timeout 120 " << HYBRIDC_QEMU_AARCH64 << " -L " << HYBRIDC_AARCH64_SYSROOT
      << " -E LD_LIBRARY_PATH=" << HYBRIDC_AARCH64_SYSROOT << "/lib " << HYBRIDC_DUMP_LOGITS
      << " " << out << "/" << m->library << " " << m->name << " "
      << (m->weights.empty() ? std::string("-") : out + "/" + m->weights) << " " << m->vocabSize
      << " " << chunk << " " << prefix;
  for (int32_t t : tokens)
    cmd << " " << t;
  cmd << " > " << log << " 2>&1";
  const int rc = std::system(cmd.str().c_str());
  std::ifstream logFile(log);
  std::string output((std::istreambuf_iterator<char>(logFile)), {});
  if (rc != 0) {
    ADD_FAILURE() << cmd.str() << "\nexited with " << rc << ":\n" << output;
    return d;
  }
  auto at = output.find("target: ");
  if (at != std::string::npos)
    d.target = output.substr(at + 8, output.find('\n', at) - at - 8);
  const size_t count = tokens.size() * size_t(m->vocabSize);
  d.oneshot = readRows(prefix + ".oneshot.f32", count);
  d.chunked = readRows(prefix + ".chunked.f32", count);
  d.stepwise = readRows(prefix + ".stepwise.f32", count);
  return d;
}

/// The three ways against the reference at the variant's tolerance; the
/// rows, for further checks (empty after a failure).
Dump checkAgainstReference(const Variant &v, const std::vector<int32_t> &tokens, int chunk) {
  Dump d = runUnderQemu(v, tokens, chunk);
  if (d.oneshot.empty())
    return d;
  EXPECT_EQ(d.target, "aarch64") << "what the library's model_target() returned";
  auto ref = makeVariantReference(v);
  if (!ref) {
    ADD_FAILURE() << "no reference for " << v.name;
    return {};
  }
  std::vector<float> want = ref->forward(tokens);
  const int64_t exact = rowsBeforeRoutingTie(ref->routingMargins(), v.routingTieMargin);
  const int64_t n = int64_t(tokens.size()), V = int64_t(want.size()) / n;
  const std::string tag = std::string(v.name) + " under qemu (tol " + std::to_string(v.tolerance) +
                          ": " + v.rationale + ")";
  expectClose(tag + ", one prefill", d.oneshot, want.data(), n, V, v.tolerance, exact);
  expectClose(tag + ", prefill calls of " + std::to_string(chunk), d.chunked, want.data(), n, V,
              v.tolerance, exact);
  expectClose(tag + ", token by token", d.stepwise, want.data(), n, V, v.tolerance, exact);
  return d;
}

TEST(golden_aarch64_Cross, MatchesReferenceAndGoldenLogits) {
  GoldenData g = readGolden();
  ASSERT_EQ(g.tokens.size(), 32u);
  // The published logits too, with their argmax on every row.
  Dump d = checkAgainstReference(kGoldenAArch64, g.tokens, 7);
  ASSERT_FALSE(d.oneshot.empty());
  const int64_t n = int64_t(g.tokens.size()), V = 512;
  for (const auto &[how, rows] : {std::pair{"one prefill", &d.oneshot},
                                  std::pair{"token by token", &d.stepwise}}) {
    expectClose(std::string("golden_aarch64 vs golden (tol 1e-4: f32 throughout), ") + how, *rows,
                g.logits.data(), n, V, kF32Tol);
    for (int64_t r = 0; r < n; ++r)
      EXPECT_EQ(argmax(&(*rows)[r * V], V), argmax(&g.logits[r * V], V)) << how << " row " << r;
  }
}

TEST(golden_aarch64_Cross, HostToolsRefuseToLoadIt) {
  // hybridc run / bench load libraries through CompiledLibrary: an aarch64
  // one is refused by name before dlopen.
  auto lib = hybridc::CompiledLibrary::load(outDir(kGoldenAArch64.name));
  ASSERT_FALSE(bool(lib));
  const std::string message = llvm::toString(lib.takeError());
  EXPECT_NE(message.find("is compiled for target aarch64, another machine than this one"),
            std::string::npos)
      << message;
}

TEST(tiny_chunk16_aarch64_Cross, ChunkedOneShotAndStepwiseMatchReference) {
  // 53 tokens: three library calls of 24 + 24 + 5, scan chunks of 16 within.
  EXPECT_FALSE(checkAgainstReference(kChunk16AArch64, randomTokens(53, 512, 11), 5).oneshot.empty());
}

TEST(tiny_bf16_aarch64_Cross, MatchesReference) {
  EXPECT_FALSE(checkAgainstReference(kBf16AArch64, randomTokens(40, 512, 12), 9).oneshot.empty());
}

TEST(golden_int8_aarch64_Cross, MatchesRoundedReference) {
  GoldenData g = readGolden();
  ASSERT_EQ(g.tokens.size(), 32u);
  EXPECT_FALSE(checkAgainstReference(kInt8AArch64, g.tokens, 6).oneshot.empty());
}

} // namespace
