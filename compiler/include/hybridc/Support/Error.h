//===- Error.h - the one way hybridc code makes an error ---------*- C++ -*-===//
//
// Every error hybridc reports is a message for a person: what is wrong and
// where (file, tensor, layer, op, flag). The compiler's libraries and tools
// build them here, as llvm::Error, and the driver prints them after
// "hybridc: error: ".
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SUPPORT_ERROR_H
#define HYBRIDC_SUPPORT_ERROR_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace hybridc {

/// An error holding `message`.
inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message.str());
}

} // namespace hybridc

#endif // HYBRIDC_SUPPORT_ERROR_H
