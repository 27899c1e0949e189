//===- Safetensors.cpp - memory-mapped safetensors files ------------------===//
//
// The file is mapped once, read-only; tensors are views into the mapping, so
// opening a multi-gigabyte checkpoint costs page-table entries, not copies.
// The header is untrusted input: every size and offset is checked before use.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Model/Safetensors.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace hybridc;

namespace {

llvm::Error headerError(llvm::StringRef path, const llvm::Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (path + ": " + what).str());
}

std::optional<DType> parseDType(llvm::StringRef s) {
  if (s == "F32")
    return DType::F32;
  if (s == "BF16")
    return DType::BF16;
  if (s == "F16")
    return DType::F16;
  return std::nullopt;
}

/// Parses one header entry into `view` (data pointer filled in later).
llvm::Error parseEntry(llvm::StringRef path, llvm::StringRef name,
                       const llvm::json::Value &value, uint64_t dataBytes,
                       TensorView &view, uint64_t &begin, uint64_t &end) {
  auto fail = [&](const llvm::Twine &what) {
    return headerError(path, "tensor '" + name + "': " + what);
  };
  const llvm::json::Object *obj = value.getAsObject();
  if (!obj)
    return fail("header entry is not an object");
  std::optional<llvm::StringRef> dtype = obj->getString("dtype");
  if (!dtype)
    return fail("missing \"dtype\"");
  std::optional<DType> dt = parseDType(*dtype);
  if (!dt)
    return fail("unsupported dtype \"" + *dtype + "\" (supported: F32, BF16, F16)");
  const llvm::json::Array *shape = obj->getArray("shape");
  if (!shape)
    return fail("missing \"shape\"");
  const llvm::json::Array *offsets = obj->getArray("data_offsets");
  if (!offsets || offsets->size() != 2)
    return fail("\"data_offsets\" must be [begin, end]");

  view.name = name.str();
  view.dtype = *dt;
  view.file = path.str();
  uint64_t elements = 1;
  for (const llvm::json::Value &d : *shape) {
    std::optional<int64_t> dim = d.getAsInteger();
    if (!dim || *dim < 0)
      return fail("shape entries must be non-negative integers");
    // Reject shapes whose byte size would overflow before comparing sizes.
    if (*dim != 0 && elements > (UINT64_MAX / 8) / static_cast<uint64_t>(*dim))
      return fail("shape is too large");
    elements *= static_cast<uint64_t>(*dim);
    view.shape.push_back(*dim);
  }
  std::optional<int64_t> b = (*offsets)[0].getAsInteger();
  std::optional<int64_t> e = (*offsets)[1].getAsInteger();
  if (!b || !e || *b < 0 || *e < *b)
    return fail("\"data_offsets\" must be non-negative integers with begin <= end");
  begin = static_cast<uint64_t>(*b);
  end = static_cast<uint64_t>(*e);
  uint64_t expected = elements * static_cast<uint64_t>(dtypeBlock(*dt).bytes);
  if (end - begin != expected)
    return fail(llvm::formatv("data_offsets [{0}, {1}) hold {2} bytes but shape and "
                              "dtype need {3}",
                              begin, end, end - begin, expected));
  if (end > dataBytes)
    return fail(llvm::formatv("data_offsets end {0} runs past the end of the data "
                              "section ({1} bytes): the file is truncated",
                              end, dataBytes));
  view.numBytes = expected;
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::open(llvm::StringRef path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path.str();

  int fd = ::open(file->path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return headerError(path, llvm::Twine("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return headerError(path, "not a regular file");
  }
  uint64_t fileSize = static_cast<uint64_t>(st.st_size);
  if (fileSize < 8) {
    ::close(fd);
    return headerError(path, llvm::formatv("file is {0} bytes, too short for the "
                                           "8-byte header length: truncated",
                                           fileSize));
  }
  void *map = ::mmap(nullptr, fileSize, PROT_READ, MAP_PRIVATE, fd, 0);
  int mapErrno = errno;
  ::close(fd); // the mapping keeps the file alive
  if (map == MAP_FAILED)
    return headerError(path, llvm::Twine("mmap failed: ") + std::strerror(mapErrno));
  file->mapping_ = map;
  file->mappingSize_ = fileSize;
  const uint8_t *bytes = static_cast<const uint8_t *>(map);

  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | bytes[i];
  if (headerLen > kMaxSafetensorsHeaderBytes)
    return headerError(path, llvm::formatv("header length {0} exceeds the {1}-byte "
                                           "limit",
                                           headerLen, kMaxSafetensorsHeaderBytes));
  if (headerLen > fileSize - 8)
    return headerError(path, llvm::formatv("header length {0} runs past the end of "
                                           "the {1}-byte file: truncated",
                                           headerLen, fileSize));
  llvm::StringRef headerText(reinterpret_cast<const char *>(bytes + 8), headerLen);
  llvm::Expected<llvm::json::Value> header = llvm::json::parse(headerText);
  if (!header)
    return headerError(path, "header is not valid JSON: " +
                                 llvm::toString(header.takeError()));
  const llvm::json::Object *entries = header->getAsObject();
  if (!entries)
    return headerError(path, "header is not a JSON object");

  uint64_t dataStart = 8 + headerLen;
  uint64_t dataBytes = fileSize - dataStart;
  struct Range {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Range> ranges;
  for (const auto &kv : *entries) {
    llvm::StringRef name = kv.first;
    if (name == "__metadata__")
      continue;
    TensorView view;
    uint64_t begin = 0, end = 0;
    if (llvm::Error e = parseEntry(path, name, kv.second, dataBytes, view, begin, end))
      return std::move(e);
    view.data = bytes + dataStart + begin;
    view.mapped = true;
    ranges.push_back({begin, end, file->tensors_.size()});
    file->tensors_.push_back(std::move(view));
  }
  // Overlapping byte ranges mean a corrupt or malicious header. Sort by start
  // and compare each range with the furthest-reaching one before it.
  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.begin < b.begin; });
  const Range *reach = nullptr;
  for (const Range &cur : ranges) {
    if (cur.end == cur.begin)
      continue; // empty tensors occupy no bytes
    if (reach && cur.begin < reach->end)
      return headerError(
          path, llvm::formatv("tensors '{0}' [{1}, {2}) and '{3}' [{4}, {5}) overlap",
                              file->tensors_[reach->tensor].name, reach->begin,
                              reach->end, file->tensors_[cur.tensor].name, cur.begin,
                              cur.end));
    if (!reach || cur.end > reach->end)
      reach = &cur;
  }
  // JSON objects are unordered: keep a stable, name-sorted tensor list.
  std::sort(file->tensors_.begin(), file->tensors_.end(),
            [](const TensorView &a, const TensorView &b) { return a.name < b.name; });
  for (size_t i = 0; i < file->tensors_.size(); ++i)
    file->index_[file->tensors_[i].name] = i;
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_)
    ::munmap(mapping_, mappingSize_);
}

const TensorView *SafetensorsFile::find(llvm::StringRef name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}
