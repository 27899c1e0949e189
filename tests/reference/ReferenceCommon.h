//===- ReferenceCommon.h - shared helpers of the reference model -*- C++ -*-===//
//
// Error reporting and the tensor-loading callback shared by the pieces of the
// plain C++ reference forward pass. The project builds with -fno-exceptions,
// and a broken reference is a test bug, so errors end the process with a
// message naming the tensor or value at fault.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_REFERENCE_REFERENCECOMMON_H
#define HYBRIDC_TESTS_REFERENCE_REFERENCECOMMON_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hybridc::reference {

/// Returns a tensor's elements (row-major, converted to float) by its
/// Hugging Face name, e.g. "model.layers.0.mamba.in_proj.weight".
using TensorLoader =
    std::function<std::vector<float>(const std::string &tensorName)>;

/// Prints "hybridc reference: <message>" to stderr and aborts.
[[noreturn]] void fatal(const std::string &message);

/// Loads `name` and checks that it holds exactly `expectedElements` values.
std::vector<float> loadTensor(const TensorLoader &loader,
                              const std::string &name,
                              int64_t expectedElements);

} // namespace hybridc::reference

#endif // HYBRIDC_TESTS_REFERENCE_REFERENCECOMMON_H
