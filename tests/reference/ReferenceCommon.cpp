//===- ReferenceCommon.cpp ------------------------------------------------===//

#include "ReferenceCommon.h"

#include <cstdio>
#include <cstdlib>

namespace hybridc::reference {

void fatal(const std::string &message) {
  std::fprintf(stderr, "hybridc reference: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

std::vector<float> loadTensor(const TensorLoader &loader,
                              const std::string &name,
                              int64_t expectedElements) {
  std::vector<float> values = loader(name);
  if (static_cast<int64_t>(values.size()) != expectedElements)
    fatal("tensor '" + name + "' has " + std::to_string(values.size()) +
          " elements, expected " + std::to_string(expectedElements));
  return values;
}

} // namespace hybridc::reference
