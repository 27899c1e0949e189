//===- WeightsFile.h - the packed weights of a compiled model ---*- C++ -*-===//
#ifndef HYBRIDC_COMPILE_WEIGHTSFILE_H
#define HYBRIDC_COMPILE_WEIGHTSFILE_H

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Codegen/WeightLayouts.h"
#include "hybridc/Model/Checkpoint.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace hybridc {

/// One packed weight: a checkpoint tensor in one layout at an offset of the
/// payload (hybrid.weight_plan's entries; what a layout stores is
/// codegen::storedWeight's answer).
using codegen::PackedWeight;

/// One layout of the weights in the payload: a plan (offsets within the
/// layout) packed for one packing, starting at byte `offset` of the payload.
/// A library of several CPU variants holds one per distinct packing.
struct WeightsLayout {
  int64_t offset = 0;
  const std::vector<PackedWeight> *plan = nullptr;
  codegen::LinearPacking packing;
};

/// Told the packed bytes written so far after each tensor, from the
/// packing threads (one call at a time).
using PackProgress = std::function<void(int64_t packedBytes)>;

/// Writes `path`: a hybridc_weights_header (runtime_abi.h) then the payload
/// of `payloadBytes` bytes holding every layout's entries packed for the
/// kernels (zero between layouts). Returns the model hash written into the
/// header (a hash of the whole payload).
llvm::Expected<uint64_t> writeWeightsFile(const std::string &path, const Checkpoint &checkpoint,
                                          const std::vector<WeightsLayout> &layouts,
                                          int64_t payloadBytes, codegen::WeightType type,
                                          const std::string &modelName,
                                          const PackProgress &progress = nullptr);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_WEIGHTSFILE_H
