//===- Toolchain.cpp - running the system C toolchain ---------------------===//
#include "Toolchain.h"
#include "hybridc/Support/Error.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace hybridc;

llvm::Error hybridc::runTool(const std::string &program, const std::vector<std::string> &args,
                             const std::string &scratchDir) {
  llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(program);
  if (!path)
    return makeError("'" + program + "' not found on PATH (install gcc)");
  llvm::SmallString<256> errFile(scratchDir);
  llvm::sys::path::append(errFile, program + ".stderr");
  std::vector<llvm::StringRef> argv{*path};
  for (const std::string &a : args)
    argv.push_back(a);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, std::nullopt,
                                                 llvm::StringRef(errFile)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(*path, argv, std::nullopt, redirects, 0, 0, &execError);
  if (rc != 0) {
    std::string command = *path;
    for (const std::string &a : args)
      command += " " + a;
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> stderrText =
        llvm::MemoryBuffer::getFile(errFile);
    std::string detail = stderrText ? (*stderrText)->getBuffer().str() : std::string();
    return makeError("command failed (" + std::to_string(rc) + "): " + command + "\n" +
                     execError + detail);
  }
  return llvm::Error::success();
}

