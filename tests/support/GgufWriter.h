//===- GgufWriter.h - GGUF files for the loader tests -----------*- C++ -*-===//
//
// A GGUF document as plain data, read from a file or built by hand, edited
// by a test and written back: the loader's error paths get files that are
// wrong in exactly one way. Independent of the loader (its own reading of
// the format), so a bug shared by both cannot hide.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_IMPORTER_GGUFWRITER_H
#define HYBRIDC_TESTS_IMPORTER_GGUFWRITER_H

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hybridc::test {

struct GgufKv {
  std::string key;
  uint32_t type = 0;               // GGUF value type
  std::vector<uint8_t> raw;        // the encoded value (after the type)
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne; // fastest first
  uint32_t type = 0;
  uint64_t offset = 0;
};

struct GgufDoc {
  uint32_t version = 3;
  std::vector<GgufKv> kvs;
  std::vector<GgufTensorInfo> tensors;
  std::vector<uint8_t> data; // the data section
  uint64_t alignment = 32;

  GgufKv *kv(const std::string &key) {
    for (GgufKv &k : kvs)
      if (k.key == key)
        return &k;
    return nullptr;
  }
  GgufTensorInfo *tensor(const std::string &name) {
    for (GgufTensorInfo &t : tensors)
      if (t.name == name)
        return &t;
    return nullptr;
  }
  void erase(const std::string &key) {
    for (size_t i = 0; i < kvs.size(); ++i)
      if (kvs[i].key == key)
        kvs.erase(kvs.begin() + i);
  }
};

namespace gguf_detail {
template <typename T> void put(std::vector<uint8_t> &out, T v) {
  const uint8_t *p = reinterpret_cast<const uint8_t *>(&v);
  out.insert(out.end(), p, p + sizeof v);
}
inline void putString(std::vector<uint8_t> &out, const std::string &s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}
inline size_t scalarSize(uint32_t t) {
  static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  return t < 13 ? sizes[t] : 0;
}
} // namespace gguf_detail

/// Value encoders for GgufKv::raw.
inline GgufKv kvU32(const std::string &key, uint32_t v) {
  GgufKv k{key, 4, {}};
  gguf_detail::put(k.raw, v);
  return k;
}
inline GgufKv kvF32(const std::string &key, float v) {
  GgufKv k{key, 6, {}};
  gguf_detail::put(k.raw, v);
  return k;
}
inline GgufKv kvBool(const std::string &key, bool v) {
  GgufKv k{key, 7, {}};
  k.raw.push_back(v ? 1 : 0);
  return k;
}
inline GgufKv kvString(const std::string &key, const std::string &v) {
  GgufKv k{key, 8, {}};
  gguf_detail::putString(k.raw, v);
  return k;
}

/// The bytes of `doc` as a GGUF file (data section aligned).
inline std::string serializeGguf(const GgufDoc &doc) {
  using namespace gguf_detail;
  std::vector<uint8_t> out = {'G', 'G', 'U', 'F'};
  put<uint32_t>(out, doc.version);
  put<uint64_t>(out, doc.tensors.size());
  put<uint64_t>(out, doc.kvs.size());
  for (const GgufKv &k : doc.kvs) {
    putString(out, k.key);
    put<uint32_t>(out, k.type);
    out.insert(out.end(), k.raw.begin(), k.raw.end());
  }
  for (const GgufTensorInfo &t : doc.tensors) {
    putString(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t n : t.ne)
      put<uint64_t>(out, n);
    put<uint32_t>(out, t.type);
    put<uint64_t>(out, t.offset);
  }
  while (out.size() % doc.alignment)
    out.push_back(0);
  out.insert(out.end(), doc.data.begin(), doc.data.end());
  return std::string(out.begin(), out.end());
}

/// Reads a well-formed GGUF file into a document (throws on anything odd:
/// the inputs are the test's own golden files).
inline GgufDoc readGgufDoc(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  size_t pos = 0;
  auto get = [&](void *dst, size_t n) {
    if (pos + n > bytes.size())
      throw std::runtime_error(path + ": short");
    std::memcpy(dst, bytes.data() + pos, n);
    pos += n;
  };
  auto u32 = [&] { uint32_t v; get(&v, 4); return v; };
  auto u64 = [&] { uint64_t v; get(&v, 8); return v; };
  auto str = [&] {
    uint64_t n = u64();
    std::string s(bytes.data() + pos, n);
    pos += n;
    return s;
  };
  GgufDoc doc;
  pos = 4;
  doc.version = u32();
  uint64_t nt = u64(), nkv = u64();
  for (uint64_t i = 0; i < nkv; ++i) {
    GgufKv k;
    k.key = str();
    k.type = u32();
    size_t start = pos;
    if (k.type == 8) {
      str();
    } else if (k.type == 9) {
      uint32_t et = u32();
      uint64_t n = u64();
      for (uint64_t j = 0; j < n; ++j)
        if (et == 8)
          str();
        else
          pos += gguf_detail::scalarSize(et);
    } else {
      pos += gguf_detail::scalarSize(k.type);
    }
    k.raw.assign(bytes.begin() + start, bytes.begin() + pos);
    if (k.key == "general.alignment")
      std::memcpy(&doc.alignment, k.raw.data(), 4), doc.alignment &= 0xffffffffu;
    doc.kvs.push_back(std::move(k));
  }
  for (uint64_t i = 0; i < nt; ++i) {
    GgufTensorInfo t;
    t.name = str();
    uint32_t rank = u32();
    for (uint32_t d = 0; d < rank; ++d)
      t.ne.push_back(u64());
    t.type = u32();
    t.offset = u64();
    doc.tensors.push_back(std::move(t));
  }
  pos = (pos + doc.alignment - 1) / doc.alignment * doc.alignment;
  doc.data.assign(bytes.begin() + pos, bytes.end());
  return doc;
}

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_IMPORTER_GGUFWRITER_H
