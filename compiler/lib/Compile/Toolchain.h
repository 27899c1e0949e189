//===- Toolchain.h - running the system C toolchain -------------*- C++ -*-===//
#ifndef HYBRIDC_COMPILE_TOOLCHAIN_H
#define HYBRIDC_COMPILE_TOOLCHAIN_H

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace hybridc {

/// Runs `program` (found on PATH, e.g. "cc") with `args`, without a shell.
/// A non-zero exit becomes an error holding the command line and the tool's
/// stderr (captured in `scratchDir`).
llvm::Error runTool(const std::string &program, const std::vector<std::string> &args,
                    const std::string &scratchDir);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_TOOLCHAIN_H
