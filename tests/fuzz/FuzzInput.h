//===- FuzzInput.h - helpers shared by the fuzz targets ---------*- C++ -*-===//
//
// The parsers under test read files (safetensors and GGUF are memory-mapped,
// weights files opened by the runtime), so a target writes its input to a
// file of its own process in a RAM-backed folder and hands over the path.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_FUZZ_FUZZINPUT_H
#define HYBRIDC_TESTS_FUZZ_FUZZINPUT_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace hybridc::fuzz {

/// Writes `data` to <dir>/hybridc-fuzz-<pid>-<name> (dir: $TMPDIR, /dev/shm
/// when it exists, else /tmp) and returns the path; the same path each call.
std::string writeInput(const char *name, const uint8_t *data, size_t size);

/// A folder of its own for targets that read several files.
std::string scratchDir(const char *name);

/// Reads what a successful parse claims is there, so a view past the end of
/// the mapping shows up under AddressSanitizer instead of passing unseen.
/// (A tensor derived from others has no bytes of its own: `p` is null.)
inline void touch(const uint8_t *p, size_t n) {
  if (!p || n == 0)
    return;
  volatile uint8_t sink = p[0];
  sink = p[n - 1];
  (void)sink;
}

} // namespace hybridc::fuzz

#endif // HYBRIDC_TESTS_FUZZ_FUZZINPUT_H
