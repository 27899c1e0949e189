//===- ReferenceFromCheckpoint.cpp ----------------------------------------===//

#include "ReferenceFromCheckpoint.h"

namespace hybridc::reference {

std::unique_ptr<ReferenceModel> makeReference(const Checkpoint &checkpoint) {
  return makeReference(checkpoint, checkpoint.config());
}

std::unique_ptr<ReferenceModel> makeReference(const Checkpoint &checkpoint,
                                              const ModelConfig &config) {
  // find() rather than get(): get() promises non-null only for the tensors
  // the checkpoint's own config requires, and we want a readable message.
  return std::make_unique<ReferenceModel>(
      config, [&checkpoint](const std::string &name) {
        const TensorView *tensor = checkpoint.find(name);
        if (!tensor)
          fatal("checkpoint " + checkpoint.directory() + " has no tensor '" +
                name + "'");
        return tensor->toFloat();
      });
}

} // namespace hybridc::reference
