//===- TestFiles.cpp - temporary model folders for loader tests -----------===//
#include "TestFiles.h"

#include "hybridc/Model/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

namespace hybridc::test {

TempDir::TempDir() {
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("hybridc-test", dir))
    std::abort();
  path_ = std::string(dir);
}

TempDir::~TempDir() { llvm::sys::fs::remove_directories(path_); }

void writeFile(const std::string &path, const std::string &contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

static void writeHeaderAndData(const std::string &path, uint64_t headerLength,
                               const std::string &header, const std::string &data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((headerLength >> (8 * i)) & 0xff);
  writeFile(path, bytes + header + data);
}

void writeSafetensors(const std::string &path, const std::vector<TensorData> &tensors) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  std::string data;
  for (const TensorData &t : tensors) {
    std::string shape;
    for (size_t i = 0; i < t.shape.size(); ++i)
      shape += (i ? "," : "") + std::to_string(t.shape[i]);
    header += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + t.bytes.size()) + "]}";
    data.append(t.bytes.begin(), t.bytes.end());
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  writeHeaderAndData(path, header.size(), header, data);
}

void writeRawSafetensors(const std::string &path, uint64_t headerLength,
                         const std::string &header, size_t dataBytes) {
  writeHeaderAndData(path, headerLength, header, std::string(dataBytes, '\0'));
}

std::string goldenDir() { return std::string(HYBRIDC_TEST_DATA_DIR) + "/golden/tiny-seed1"; }

std::vector<TensorData> goldenTensors() {
  auto file = SafetensorsFile::open(goldenDir() + "/model.safetensors");
  if (!file) {
    ADD_FAILURE() << llvm::toString(file.takeError());
    return {};
  }
  std::vector<TensorData> out;
  for (const TensorView &t : (*file)->tensors())
    out.push_back({t.name, dtypeName(t.dtype).str(), t.shape,
                   std::vector<uint8_t>(t.data, t.data + t.numBytes)});
  return out;
}

void writeModelDir(const TempDir &dir, const std::vector<TensorData> &tensors,
                   const std::function<std::string(std::string)> &editConfig) {
  std::string config = readFile(goldenDir() + "/config.json");
  if (editConfig)
    config = editConfig(config);
  writeFile(dir.file("config.json"), config);
  writeSafetensors(dir.file("model.safetensors"), tensors);
}

std::string replaceOnce(std::string text, const std::string &from, const std::string &to) {
  size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << "'" << from << "' not found";
  if (pos != std::string::npos)
    text.replace(pos, from.size(), to);
  return text;
}

std::string errorMessage(llvm::Error error) {
  if (!error)
    return "";
  return llvm::toString(std::move(error));
}

} // namespace hybridc::test
