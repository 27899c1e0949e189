//===- Manifest.h - what `hybridc compile` wrote into OUT_DIR ---*- C++ -*-===//
//
// OUT_DIR/hybridc-model.json names the library, header and weights of a
// compiled model so that `hybridc run` / `bench` (and users) can find them.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUN_MANIFEST_H
#define HYBRIDC_RUN_MANIFEST_H

#include "hybridc/Model/ModelWork.h"
#include "hybridc/Run/LibraryDescription.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>
#include <string>

namespace hybridc {

constexpr const char *kManifestFileName = "hybridc-model.json";

struct Manifest {
  std::string name;     // the C prefix
  std::string library;  // file names relative to the output folder
  std::string header;
  std::string weights;  // "" when the weights are embedded
  std::string target;
  std::string weightsDtype;
  /// What the matmuls multiply the weights with: "bf16" (activations
  /// rounded to bf16, vdpbf16ps) or "f32"; "" in older folders.
  std::string matmulInputs;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  /// The `work` section; absent in folders compiled before it existed.
  std::optional<ModelWork> work;
  /// What `hybridc inspect` shows; absent in folders compiled before it.
  std::optional<LibraryDescription> description;

  /// This manifest as one CPU variant of the library sees it: `target` and
  /// `matmulInputs` that variant's (unchanged when the description does not
  /// list it). A library of several variants records them all in `target`,
  /// comma-separated.
  Manifest forVariant(const std::string &variant) const;
};

/// The `work` section as written to the manifest (and printed by bench --json).
llvm::json::Object workToJson(const ModelWork &work);

llvm::Error writeManifest(const std::string &outDir, const Manifest &manifest);
llvm::Expected<Manifest> readManifest(const std::string &outDir);

} // namespace hybridc

#endif // HYBRIDC_RUN_MANIFEST_H
