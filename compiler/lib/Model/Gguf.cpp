//===- Gguf.cpp - memory-mapped GGUF v3 files -----------------------------===//
//
// Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64
// metadata count; the metadata (string key, u32 type, value); the tensor
// descriptions (string name, u32 rank, u64 ne[rank] fastest first, u32
// ggml type, u64 offset); padding to `general.alignment` (default 32); the
// data. A string is a u64 length and that many bytes. Every read goes
// through a cursor that knows how many bytes are left, so no length or
// count from the file is trusted before it is checked.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Model/Gguf.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace hybridc;

namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxRank = 4;
constexpr uint64_t kMaxNameBytes = 1 << 16;

// The ggml tensor types hybridc reads, by their code in the file.
struct GgmlType {
  uint32_t code;
  DType dtype;
  const char *name;
};
constexpr GgmlType kGgmlTypes[] = {
    {0, DType::F32, "F32"},   {1, DType::F16, "F16"},   {2, DType::Q4_0, "Q4_0"},
    {8, DType::Q8_0, "Q8_0"}, {12, DType::Q4_K, "Q4_K"}, {13, DType::Q5_K, "Q5_K"},
    {14, DType::Q6_K, "Q6_K"}, {30, DType::BF16, "BF16"},
};

// Names of the ggml types hybridc does not read, for a clearer message.
const char *ggmlTypeName(uint32_t code) {
  static const char *const names[] = {"F32",  "F16",  "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0",
                                      "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
                                      "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS",
                                      "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8",
                                      "I16", "I32", "I64", "F64", "IQ1_M", "BF16"};
  return code < sizeof names / sizeof *names ? names[code] : nullptr;
}

size_t scalarBytes(GgufType t) {
  switch (t) {
  case GgufType::U8:
  case GgufType::I8:
  case GgufType::Bool:
    return 1;
  case GgufType::U16:
  case GgufType::I16:
    return 2;
  case GgufType::U32:
  case GgufType::I32:
  case GgufType::F32:
    return 4;
  case GgufType::U64:
  case GgufType::I64:
  case GgufType::F64:
    return 8;
  case GgufType::String:
  case GgufType::Array:
    break;
  }
  return 0;
}

const char *typeName(GgufType t) {
  switch (t) {
  case GgufType::U8:
    return "u8";
  case GgufType::I8:
    return "i8";
  case GgufType::U16:
    return "u16";
  case GgufType::I16:
    return "i16";
  case GgufType::U32:
    return "u32";
  case GgufType::I32:
    return "i32";
  case GgufType::F32:
    return "f32";
  case GgufType::Bool:
    return "bool";
  case GgufType::String:
    return "string";
  case GgufType::Array:
    return "array";
  case GgufType::U64:
    return "u64";
  case GgufType::I64:
    return "i64";
  case GgufType::F64:
    return "f64";
  }
  return "?";
}

// Reads a scalar of `t` at `p` (known to hold scalarBytes(t) bytes).
void readScalar(GgufType t, const uint8_t *p, GgufValue &v) {
  switch (t) {
  case GgufType::U8:
  case GgufType::Bool:
    v.u = p[0];
    break;
  case GgufType::I8:
    v.i = static_cast<int8_t>(p[0]);
    break;
  case GgufType::U16: {
    uint16_t x;
    std::memcpy(&x, p, 2);
    v.u = x;
    break;
  }
  case GgufType::I16: {
    int16_t x;
    std::memcpy(&x, p, 2);
    v.i = x;
    break;
  }
  case GgufType::U32: {
    uint32_t x;
    std::memcpy(&x, p, 4);
    v.u = x;
    break;
  }
  case GgufType::I32: {
    int32_t x;
    std::memcpy(&x, p, 4);
    v.i = x;
    break;
  }
  case GgufType::F32: {
    float x;
    std::memcpy(&x, p, 4);
    v.f = x;
    break;
  }
  case GgufType::U64:
    std::memcpy(&v.u, p, 8);
    break;
  case GgufType::I64:
    std::memcpy(&v.i, p, 8);
    break;
  case GgufType::F64:
    std::memcpy(&v.f, p, 8);
    break;
  case GgufType::String:
  case GgufType::Array:
    break;
  }
}

bool isSigned(GgufType t) {
  return t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
}
bool isUnsigned(GgufType t) {
  return t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64;
}

} // namespace

bool GgufValue::isInteger() const { return isSigned(type) || isUnsigned(type); }

bool GgufValue::integerAt(uint64_t k, int64_t &out) const {
  GgufType t = type;
  GgufValue scalar;
  if (type == GgufType::Array) {
    if (k >= count || !(isSigned(elementType) || isUnsigned(elementType)))
      return false;
    t = elementType;
    readScalar(t, elements + k * scalarBytes(t), scalar);
  } else {
    if (k != 0)
      return false;
    scalar = *this;
  }
  if (isSigned(t)) {
    out = scalar.i;
    return true;
  }
  if (isUnsigned(t) && scalar.u <= static_cast<uint64_t>(INT64_MAX)) {
    out = static_cast<int64_t>(scalar.u);
    return true;
  }
  return false;
}

namespace hybridc {

/// The cursor over the mapped header: every read checks what is left.
class GgufReader {
public:
  GgufReader(GgufFile &file, const uint8_t *base, size_t size)
      : f(file), base(base), size(size) {}

  llvm::Error run();

private:
  size_t left() const { return size - pos; }
  llvm::Error need(size_t n, const llvm::Twine &what) {
    if (n > left())
      return f.error(llvm::formatv("truncated: {0} needs {1} bytes at offset {2}, the file "
                                   "has {3} left",
                                   what.str(), n, pos, left()));
    return llvm::Error::success();
  }
  template <typename T> llvm::Error read(T &out, const llvm::Twine &what) {
    if (llvm::Error e = need(sizeof(T), what))
      return e;
    std::memcpy(&out, base + pos, sizeof(T));
    pos += sizeof(T);
    return llvm::Error::success();
  }
  llvm::Error readString(llvm::StringRef &out, const llvm::Twine &what, uint64_t maxBytes);
  llvm::Error readValue(GgufType type, GgufValue &v, const std::string &key);
  llvm::Error readTensorInfo(uint64_t index, TensorView &t, uint64_t &offset);

  GgufFile &f;
  const uint8_t *base;
  size_t size;
  size_t pos = 0;
};

} // namespace hybridc

llvm::Error GgufReader::readString(llvm::StringRef &out, const llvm::Twine &what,
                                   uint64_t maxBytes) {
  uint64_t n;
  if (llvm::Error e = read(n, what + " length"))
    return e;
  if (n > maxBytes)
    return f.error(llvm::formatv("{0} is {1} bytes long, more than the {2} allowed",
                                 what.str(), n, maxBytes));
  if (n > left())
    return f.error(llvm::formatv("{0} is {1} bytes long but only {2} bytes of the file "
                                 "are left",
                                 what.str(), n, left()));
  out = llvm::StringRef(reinterpret_cast<const char *>(base + pos), n);
  pos += n;
  return llvm::Error::success();
}

llvm::Error GgufReader::readValue(GgufType type, GgufValue &v, const std::string &key) {
  v.type = type;
  const std::string what = "metadata '" + key + "'";
  if (type == GgufType::String)
    return readString(v.s, what, left());
  if (type != GgufType::Array) {
    const size_t n = scalarBytes(type);
    if (llvm::Error e = need(n, what))
      return e;
    readScalar(type, base + pos, v);
    pos += n;
    if (type == GgufType::Bool && v.u > 1)
      return f.error(what + ": a bool must be 0 or 1, got " + llvm::Twine(v.u));
    return llvm::Error::success();
  }
  uint32_t et;
  if (llvm::Error e = read(et, what + " element type"))
    return e;
  if (et > static_cast<uint32_t>(GgufType::F64))
    return f.error(what + ": unknown array element type " + llvm::Twine(et));
  v.elementType = static_cast<GgufType>(et);
  if (llvm::Error e = read(v.count, what + " array length"))
    return e;
  if (v.elementType == GgufType::Array)
    return f.error(what + ": arrays of arrays are not supported");
  if (v.elementType == GgufType::String) {
    // Each string needs at least its 8-byte length.
    if (v.count > left() / 8)
      return f.error(llvm::formatv("{0}: {1} strings cannot fit in the {2} bytes left "
                                   "(truncated or corrupt)",
                                   what, v.count, left()));
    v.strings.resize(static_cast<size_t>(v.count));
    for (uint64_t k = 0; k < v.count; ++k)
      if (llvm::Error e = readString(v.strings[k], what + " element " + llvm::Twine(k), left()))
        return e;
    return llvm::Error::success();
  }
  const size_t eb = scalarBytes(v.elementType);
  if (v.count > left() / eb)
    return f.error(llvm::formatv("{0}: {1} elements of {2} bytes cannot fit in the {3} bytes "
                                 "left (truncated or corrupt)",
                                 what, v.count, eb, left()));
  v.elements = base + pos;
  pos += static_cast<size_t>(v.count) * eb;
  if (v.elementType == GgufType::Bool)
    for (uint64_t k = 0; k < v.count; ++k)
      if (v.elements[k] > 1)
        return f.error(what + ": element " + llvm::Twine(k) + " is a bool but neither 0 nor 1");
  return llvm::Error::success();
}

llvm::Error GgufReader::readTensorInfo(uint64_t index, TensorView &t, uint64_t &offset) {
  llvm::StringRef name;
  if (llvm::Error e =
          readString(name, "tensor #" + llvm::Twine(index) + " name", kMaxNameBytes))
    return e;
  t.name = name.str();
  t.file = f.path_;
  const std::string what = "tensor '" + t.name + "'";
  uint32_t rank;
  if (llvm::Error e = read(rank, what + " rank"))
    return e;
  if (rank < 1 || rank > kMaxRank)
    return f.error(what + ": rank " + llvm::Twine(rank) + " is not in 1.." +
                   llvm::Twine(kMaxRank));
  std::vector<int64_t> ne(rank);
  int64_t elements = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    uint64_t n;
    if (llvm::Error e = read(n, what + " dimension"))
      return e;
    if (n == 0 || n > (uint64_t(1) << 40) ||
        __builtin_mul_overflow(elements, static_cast<int64_t>(n), &elements) ||
        elements > (int64_t(1) << 48))
      return f.error(llvm::formatv("{0}: dimension {1} is {2}: zero or too large", what, d, n));
    ne[d] = static_cast<int64_t>(n);
  }
  t.shape.assign(ne.rbegin(), ne.rend()); // GGUF lists the fastest dimension first
  uint32_t code;
  if (llvm::Error e = read(code, what + " type"))
    return e;
  auto type = std::find_if(std::begin(kGgmlTypes), std::end(kGgmlTypes),
                           [&](const GgmlType &g) { return g.code == code; });
  if (type == std::end(kGgmlTypes)) {
    const char *known = ggmlTypeName(code);
    return f.error(what + ": tensor type " +
                   (known ? llvm::Twine(known) + " (" + llvm::Twine(code) + ")"
                          : "code " + llvm::Twine(code)) +
                   " is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K are)");
  }
  t.dtype = type->dtype;
  if (ne[0] % dtypeBlock(t.dtype).elements != 0)
    return f.error(llvm::formatv("{0}: rows of {1} elements are not whole {2} blocks of {3}",
                                 what, ne[0], type->name, dtypeBlock(t.dtype).elements));
  int64_t bytes = dtypeBytes(t.dtype, elements);
  if (bytes < 0)
    return f.error(what + ": size overflows");
  t.numBytes = static_cast<size_t>(bytes);
  if (llvm::Error e = read(offset, what + " offset"))
    return e;
  return llvm::Error::success();
}

llvm::Error GgufReader::run() {
  char magic[4];
  if (llvm::Error e = need(4, "the magic"))
    return e;
  std::memcpy(magic, base, 4);
  pos = 4;
  if (std::memcmp(magic, "GGUF", 4) != 0)
    return f.error("not a GGUF file (bad magic; expected \"GGUF\")");
  if (llvm::Error e = read(f.version_, "the version"))
    return e;
  if (f.version_ != 3)
    return f.error("GGUF version " + llvm::Twine(f.version_) + " is not supported (only 3)");
  uint64_t tensorCount, kvCount;
  if (llvm::Error e = read(tensorCount, "the tensor count"))
    return e;
  if (llvm::Error e = read(kvCount, "the metadata count"))
    return e;
  // A key/value takes at least 8 + 4 bytes, a tensor description 8 + 4 + 8
  // + 4 + 8: counts the file cannot hold are rejected before any allocation.
  if (kvCount > left() / 12)
    return f.error(llvm::formatv("{0} metadata entries cannot fit in the {1} bytes left of a "
                                 "{2}-byte file (truncated or corrupt)",
                                 kvCount, left(), size));
  for (uint64_t k = 0; k < kvCount; ++k) {
    llvm::StringRef key;
    if (llvm::Error e = readString(key, "metadata key #" + llvm::Twine(k), kMaxNameBytes))
      return e;
    uint32_t type;
    if (llvm::Error e = read(type, "metadata '" + key + "' type"))
      return e;
    if (type > static_cast<uint32_t>(GgufType::F64))
      return f.error("metadata '" + key + "': unknown value type " + llvm::Twine(type));
    if (f.values_.count(key))
      return f.error("metadata '" + key + "' appears twice");
    GgufValue v;
    if (llvm::Error e = readValue(static_cast<GgufType>(type), v, key.str()))
      return e;
    f.keyOrder_.push_back(key.str());
    f.values_[key] = std::move(v);
  }
  if (tensorCount > left() / 32)
    return f.error(llvm::formatv("{0} tensor descriptions cannot fit in the {1} bytes left of a "
                                 "{2}-byte file (truncated or corrupt)",
                                 tensorCount, left(), size));

  uint64_t alignment = kDefaultAlignment;
  if (const GgufValue *a = f.find("general.alignment")) {
    int64_t v;
    if (!a->integerAt(0, v) || v <= 0 || (v & (v - 1)) != 0 || v > (1 << 20))
      return f.error("metadata 'general.alignment' must be a power of two up to 2^20");
    alignment = static_cast<uint64_t>(v);
  }
  f.tensors_.resize(static_cast<size_t>(tensorCount));
  std::vector<uint64_t> offsets(f.tensors_.size());
  for (uint64_t k = 0; k < tensorCount; ++k) {
    if (llvm::Error e = readTensorInfo(k, f.tensors_[k], offsets[k]))
      return e;
    if (f.tensorIndex_.count(f.tensors_[k].name))
      return f.error("tensor '" + f.tensors_[k].name + "' appears twice");
    f.tensorIndex_[f.tensors_[k].name] = static_cast<size_t>(k);
  }
  const uint64_t dataStart = (pos + alignment - 1) / alignment * alignment;
  if (dataStart > size && tensorCount > 0)
    return f.error("truncated: the data section would start past the end of the file");
  const uint64_t dataBytes = size > dataStart ? size - dataStart : 0;

  // Every tensor inside the data section, aligned, and no two overlapping.
  std::vector<size_t> order(f.tensors_.size());
  for (size_t k = 0; k < order.size(); ++k)
    order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return offsets[a] < offsets[b]; });
  uint64_t end = 0;
  for (size_t k : order) {
    TensorView &t = f.tensors_[k];
    const std::string what = "tensor '" + t.name + "'";
    if (offsets[k] % alignment != 0)
      return f.error(llvm::formatv("{0}: data offset {1} is not a multiple of the alignment {2}",
                                   what, offsets[k], alignment));
    if (offsets[k] > dataBytes || t.numBytes > dataBytes - offsets[k])
      return f.error(llvm::formatv("{0}: its {1} bytes at data offset {2} run past the end of "
                                   "the file ({3} bytes of data): truncated?",
                                   what, t.numBytes, offsets[k], dataBytes));
    if (offsets[k] < end)
      return f.error(what + ": its data overlaps the previous tensor's");
    end = offsets[k] + t.numBytes;
    t.data = base + dataStart + offsets[k];
    t.mapped = true;
  }
  return llvm::Error::success();
}

llvm::Error GgufFile::error(const llvm::Twine &what) const {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), (path_ + ": " + what).str());
}

llvm::Expected<std::unique_ptr<GgufFile>> GgufFile::open(llvm::StringRef path) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path.str();
  int fd = ::open(f->path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return f->error(llvm::Twine("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return f->error(llvm::Twine("cannot stat: ") + std::strerror(err));
  }
  f->mappingSize_ = static_cast<size_t>(st.st_size);
  if (f->mappingSize_ > 0) {
    void *m = ::mmap(nullptr, f->mappingSize_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return f->error(llvm::Twine("cannot map: ") + std::strerror(err));
    }
    f->mapping_ = m;
  }
  ::close(fd);
  GgufReader reader(*f, static_cast<const uint8_t *>(f->mapping_), f->mappingSize_);
  if (llvm::Error e = reader.run())
    return std::move(e);
  return f;
}

GgufFile::~GgufFile() {
  if (mapping_)
    ::munmap(mapping_, mappingSize_);
}

const GgufValue *GgufFile::find(llvm::StringRef key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

const TensorView *GgufFile::findTensor(llvm::StringRef name) const {
  auto it = tensorIndex_.find(name);
  return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

llvm::Expected<int64_t> GgufFile::getInt(llvm::StringRef key) const {
  const GgufValue *v = find(key);
  if (!v)
    return error("metadata '" + key + "' is missing");
  int64_t out;
  if (v->type == GgufType::Array || !v->integerAt(0, out))
    return error("metadata '" + key + "' must be an integer, got " + typeName(v->type));
  return out;
}

llvm::Expected<double> GgufFile::getFloat(llvm::StringRef key) const {
  const GgufValue *v = find(key);
  if (!v)
    return error("metadata '" + key + "' is missing");
  if (v->type == GgufType::F32 || v->type == GgufType::F64)
    return v->f;
  int64_t out;
  if (v->type != GgufType::Array && v->integerAt(0, out))
    return static_cast<double>(out);
  return error("metadata '" + key + "' must be a number, got " + typeName(v->type));
}

llvm::Expected<bool> GgufFile::getBool(llvm::StringRef key) const {
  const GgufValue *v = find(key);
  if (!v)
    return error("metadata '" + key + "' is missing");
  if (v->type != GgufType::Bool)
    return error("metadata '" + key + "' must be a bool, got " + typeName(v->type));
  return v->u != 0;
}

llvm::Expected<std::string> GgufFile::getString(llvm::StringRef key) const {
  const GgufValue *v = find(key);
  if (!v)
    return error("metadata '" + key + "' is missing");
  if (v->type != GgufType::String)
    return error("metadata '" + key + "' must be a string, got " + typeName(v->type));
  return v->s.str();
}
