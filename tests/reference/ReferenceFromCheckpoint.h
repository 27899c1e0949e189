//===- ReferenceFromCheckpoint.h - reference model from a checkpoint -*- C++ -*-===//
//
// Builds a ReferenceModel from an opened Hugging Face checkpoint folder.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_REFERENCE_REFERENCEFROMCHECKPOINT_H
#define HYBRIDC_TESTS_REFERENCE_REFERENCEFROMCHECKPOINT_H

#include "ReferenceModel.h"

#include "hybridc/Model/Checkpoint.h"

#include <memory>

namespace hybridc::reference {

/// The reference for `checkpoint.config()`, every tensor read through
/// checkpoint.get(name).toFloat(). The checkpoint may be closed afterwards.
std::unique_ptr<ReferenceModel> makeReference(const Checkpoint &checkpoint);

/// The same with a modified config (e.g. another mambaChunkSize); the config
/// must imply the same tensors as the checkpoint's own.
std::unique_ptr<ReferenceModel> makeReference(const Checkpoint &checkpoint,
                                              const ModelConfig &config);

} // namespace hybridc::reference

#endif // HYBRIDC_TESTS_REFERENCE_REFERENCEFROMCHECKPOINT_H
