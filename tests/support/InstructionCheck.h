//===- InstructionCheck.h - mnemonics a listing must not contain -*- C++ -*-===//
//
// Halide 14 reaches vdpbf16ps only through its Sapphire Rapids feature,
// which also lets LLVM 14 use AVX512-FP16, AMX and VEX-encoded AVX-VNNI:
// instructions Zen4 lacks (SIGILL there). The kernel tests (assembly of one
// kernel) and the end-to-end tests (objdump of a whole library) classify the
// mnemonics of a listing with these helpers. Header-only, shared by both.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_SUPPORT_INSTRUCTIONCHECK_H
#define HYBRIDC_TESTS_SUPPORT_INSTRUCTIONCHECK_H

#include <algorithm>
#include <cstring>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace hybridc::test {

/// The mnemonic of every instruction line of an assembly listing (LLVM's
/// `\tvaddps\t...` or objdump's `  4010:\tvaddps ...`); labels, directives
/// and comments are skipped; a "{vex}" or "lock" prefix is kept with it.
inline std::vector<std::string> mnemonics(const std::string &text) {
  static const std::regex line(
      R"(^\s*(?:[0-9a-f]+:\s+)?((\{vex\}\s*|lock\s+)?[a-z][a-z0-9]*)(\s|$))");
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.empty() || !(l[0] == ' ' || l[0] == '\t'))
      continue; // labels ("name:"), section headers
    std::smatch m;
    if (std::regex_search(l, m, line))
      out.push_back(m[1].str());
  }
  return out;
}

/// AVX512-FP16: arithmetic on packed or scalar halves (..ph, ..sh), its
/// conversions (vcvtph2psx, vcvtph2dq, vcvtsh2ss, ..2phx) and vmovw. F16C's
/// vcvtph2ps and vcvtps2ph run on Zen4.
inline bool isFp16(const std::string &m) {
  auto ends = [&](const char *suffix) {
    const size_t n = std::strlen(suffix);
    return m.size() > n && m.compare(m.size() - n, n, suffix) == 0;
  };
  if (m.empty() || m[0] != 'v' || m == "vcvtph2ps" || m == "vcvtps2ph")
    return false;
  return ends("ph") || ends("sh") || ends("phx") || m.rfind("vcvtph2", 0) == 0 ||
         m.rfind("vcvtsh2", 0) == 0 || m == "vmovw";
}

/// AMX: tile configuration, loads, stores and dot products.
inline bool isAmx(const std::string &m) {
  return m == "ldtilecfg" || m == "sttilecfg" || m.rfind("tile", 0) == 0 || m.rfind("tdp", 0) == 0;
}

/// The VEX encoding of VNNI (AVX-VNNI, not AVX512-VNNI).
inline bool isVexVnni(const std::string &m) { return m.rfind("{vex}", 0) == 0; }

/// A compare-and-swap: what atomic() next to a parallel loop turns stores into.
inline bool isCas(const std::string &m) { return m.find("cmpxchg") != std::string::npos; }

inline size_t countIf(const std::vector<std::string> &ms, bool (*pred)(const std::string &)) {
  return size_t(std::count_if(ms.begin(), ms.end(), pred));
}

/// The first mnemonic of `ms` that Zen4 cannot run, or "".
inline std::string firstZen4Trap(const std::vector<std::string> &ms) {
  for (const std::string &m : ms)
    if (isFp16(m) || isAmx(m) || isVexVnni(m))
      return m;
  return "";
}

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_SUPPORT_INSTRUCTIONCHECK_H
