//===- OptionChecks.h - option values checked with messages in words -*- C++ -*-===//
//
// CLI11's stock range checks answer `--generate -5` with "Value -5 not in
// range 0.000000 to 1797693134862315708145274237317043567980...(309
// digits).000000". These say what the option is and what it accepts, e.g.
// "--generate: the tokens to generate must be a whole number of at least 0,
// not -5".
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TOOL_OPTIONCHECKS_H
#define HYBRIDC_TOOL_OPTIONCHECKS_H

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace hybridc {

/// A whole number in [least, most]; `what` names the value ("the tokens to
/// generate").
CLI::Validator wholeNumber(const std::string &what, int64_t least,
                           int64_t most = std::numeric_limits<int64_t>::max());

/// A number (decimals allowed) of at least `least` (more than `least` when
/// `leastExcluded`) and at most `most`.
CLI::Validator realNumber(const std::string &what, double least, bool leastExcluded,
                          double most = std::numeric_limits<double>::infinity());

} // namespace hybridc

#endif // HYBRIDC_TOOL_OPTIONCHECKS_H
