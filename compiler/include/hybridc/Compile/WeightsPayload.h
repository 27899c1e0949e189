//===- WeightsPayload.h - hashing a weights file's payload ------*- C++ -*-===//
//
// The compiler writes the payload hash into the weights file's header and
// the library; `hybridc verify` recomputes it from the file. Both read the
// file through this function (hybridc/payload_hash.h, docs/formats.md).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_WEIGHTSPAYLOAD_H
#define HYBRIDC_COMPILE_WEIGHTSPAYLOAD_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace hybridc {

/// The payload hash of bytes [base, base + bytes) of the open file `fd`,
/// read a piece at a time; an error names `path` and the byte that could not
/// be read.
llvm::Expected<uint64_t> hashFilePayload(int fd, int64_t base, int64_t bytes,
                                         const std::string &path);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_WEIGHTSPAYLOAD_H
