//===- ApiError.h - an error the server answers with -------------*- C++ -*-===//
//
// Every refusal of `hybridc serve` reaches the client as OpenAI's error
// object, {"error": {"message", "type", "param", "code"}}, with an HTTP
// status: the message names what is wrong, `param` the request field. The
// request parser and the engine return these as llvm::Error so that they
// travel through the same Expected<> paths as every other hybridc error.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_APIERROR_H
#define HYBRIDC_SERVE_APIERROR_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <string>

namespace hybridc::serve {

class ApiError : public llvm::ErrorInfo<ApiError> {
public:
  static char ID;
  ApiError(int status, std::string type, std::string message, std::string param = "",
           std::string code = "")
      : status(status), type(std::move(type)), message(std::move(message)),
        param(std::move(param)), code(std::move(code)) {}

  void log(llvm::raw_ostream &os) const override;
  std::error_code convertToErrorCode() const override { return llvm::inconvertibleErrorCode(); }

  int status;
  std::string type;    // invalid_request_error, authentication_error, server_error, ...
  std::string message;
  std::string param;   // the request field at fault ("" when none)
  std::string code;    // a machine-readable reason ("" when none)
};

/// 400, invalid_request_error, naming `param`.
llvm::Error badRequest(const std::string &param, const llvm::Twine &message);

/// The error as the server answers it: an ApiError as it is, anything else
/// a 500 server_error carrying its message.
ApiError toApiError(llvm::Error error);

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_APIERROR_H
