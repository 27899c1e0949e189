//===- TokenList.cpp - token ids given on the command line or in a file ---===//
#include "hybridc/Run/TokenList.h"

#include "llvm/ADT/SmallVector.h"

#include <cctype>
#include <climits>
#include <string>

using namespace hybridc;

namespace {

llvm::Error tokenError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

llvm::Error push(std::vector<int32_t> &out, llvm::StringRef word, const std::string &where) {
  int64_t v;
  if (word.trim().empty())
    return tokenError(where + " is empty");
  if (word.trim().getAsInteger(10, v))
    return tokenError(where + " ('" + word + "') is not an integer");
  if (v < 0 || v > INT32_MAX)
    return tokenError(where + ": token id " + std::to_string(v) + " is out of range");
  out.push_back(static_cast<int32_t>(v));
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::vector<int32_t>> hybridc::parseTokenList(llvm::StringRef csv) {
  std::vector<int32_t> out;
  llvm::SmallVector<llvm::StringRef> entries;
  csv.split(entries, ',');
  for (size_t i = 0; i < entries.size(); ++i)
    if (llvm::Error e = push(out, entries[i], "--tokens entry " + std::to_string(i)))
      return std::move(e);
  return out;
}

llvm::Expected<std::vector<int32_t>> hybridc::parseTokenText(llvm::StringRef text,
                                                             llvm::StringRef file) {
  std::vector<int32_t> out;
  llvm::StringRef rest = text;
  for (size_t index = 0;; ++index) {
    rest = rest.ltrim();
    if (rest.empty())
      break;
    llvm::StringRef word =
        rest.take_until([](char c) { return std::isspace(static_cast<unsigned char>(c)); });
    rest = rest.drop_front(word.size());
    if (llvm::Error e = push(out, word, file.str() + ": token " + std::to_string(index)))
      return std::move(e);
  }
  if (out.empty())
    return tokenError(file + ": no tokens in the file");
  return out;
}
