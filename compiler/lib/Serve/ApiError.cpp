//===- ApiError.cpp - an error the server answers with ----------------------===//
#include "hybridc/Serve/ApiError.h"

#include "llvm/Support/raw_ostream.h"

namespace hybridc::serve {

char ApiError::ID = 0;

void ApiError::log(llvm::raw_ostream &os) const { os << message; }

llvm::Error badRequest(const std::string &param, const llvm::Twine &message) {
  return llvm::make_error<ApiError>(400, "invalid_request_error", message.str(), param);
}

ApiError toApiError(llvm::Error error) {
  ApiError out(500, "server_error", "");
  llvm::handleAllErrors(
      std::move(error), [&](const ApiError &e) { out = e; },
      [&](const llvm::ErrorInfoBase &e) { out.message = e.message(); });
  return out;
}

} // namespace hybridc::serve
