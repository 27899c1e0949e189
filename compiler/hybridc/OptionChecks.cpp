//===- OptionChecks.cpp - option values checked with messages in words ----===//
#include "OptionChecks.h"

#include "llvm/ADT/StringRef.h"

#include <cmath>
#include <sstream>

using namespace hybridc;

namespace {

/// Shortest decimal form: 1, 0.5, 4096.
std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

} // namespace

CLI::Validator hybridc::wholeNumber(const std::string &what, int64_t least, int64_t most) {
  std::string allowed = "a whole number ";
  if (most == std::numeric_limits<int64_t>::max())
    allowed += "of at least " + std::to_string(least);
  else
    allowed += "from " + std::to_string(least) + " to " + std::to_string(most);
  return CLI::Validator(
      [=](std::string &value) -> std::string {
        int64_t n = 0;
        if (llvm::StringRef(value).trim().getAsInteger(10, n) || n < least || n > most)
          return what + " must be " + allowed + ", not " + value;
        return "";
      },
      "INT");
}

CLI::Validator hybridc::realNumber(const std::string &what, double least, bool leastExcluded,
                                   double most) {
  std::string allowed = (leastExcluded ? "above " : "of at least ") + number(least);
  if (std::isfinite(most))
    allowed = leastExcluded ? "above " + number(least) + " and at most " + number(most)
                            : "from " + number(least) + " to " + number(most);
  return CLI::Validator(
      [=](std::string &value) -> std::string {
        double v = 0;
        const bool parsed = !llvm::StringRef(value).trim().getAsDouble(v) && !std::isnan(v);
        if (!parsed || v < least || (leastExcluded && v == least) || v > most)
          return what + " must be a number " + allowed + ", not " + value;
        return "";
      },
      "NUMBER");
}
