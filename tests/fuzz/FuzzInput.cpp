//===- FuzzInput.cpp - helpers shared by the fuzz targets -----------------===//
#include "FuzzInput.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

std::string baseDir() {
  if (const char *t = std::getenv("TMPDIR"); t && *t)
    return t;
  struct stat st;
  return ::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
}

} // namespace

std::string hybridc::fuzz::writeInput(const char *name, const uint8_t *data, size_t size) {
  static const std::string dir = baseDir();
  std::string path = dir + "/hybridc-fuzz-" + std::to_string(::getpid()) + "-" + name;
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    std::abort(); // the harness, not the parser: nothing to learn from going on
  if (size && std::fwrite(data, 1, size, f) != size)
    std::abort();
  std::fclose(f);
  return path;
}

std::string hybridc::fuzz::scratchDir(const char *name) {
  static const std::string dir = baseDir();
  std::string path = dir + "/hybridc-fuzz-" + std::to_string(::getpid()) + "-" + name;
  ::mkdir(path.c_str(), 0700);
  return path;
}
