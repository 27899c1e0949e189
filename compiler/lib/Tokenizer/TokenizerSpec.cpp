//===- TokenizerSpec.cpp - resolving a tokenizer, and its runtime blob ----===//
//
// The file formats name tokens by their byte-level strings (GPT-2's renaming
// of the 256 bytes to printable characters: "Ġ" for a space). The runtime
// works on raw bytes, so every key becomes bytes here, once; the merges
// become id triples; what tokenizers.js does with the odd corners (an added
// token that is also a vocabulary entry, a byte without a token, byte
// fallback) is decided here too, and what hybridc cannot reproduce exactly
// is refused with the file and field.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Tokenizer/Tokenizer.h"
#include "hybridc/Model/Gguf.h"
#include "hybridc/Support/Error.h"
#include "hybridc/text_abi.h"

#include "TokenizerBuilder.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>
#include <map>

using namespace hybridc;

// ---- The byte-level alphabet ----------------------------------------------------

namespace {

struct Alphabet {
  uint32_t charOf[256];
  int16_t byteOf[512]; // the alphabet's characters are all below U+0200
  Alphabet() {
    std::fill(std::begin(byteOf), std::end(byteOf), int16_t(-1));
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      // The printable Latin-1 characters stand for themselves; the others
      // (controls, space, NBSP, soft hyphen, ...) for U+0100 onwards, in
      // byte order.
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      charOf[b] = printable ? uint32_t(b) : next++;
      byteOf[charOf[b]] = int16_t(b);
    }
  }
};

const Alphabet &alphabet() {
  static const Alphabet a;
  return a;
}

/// The code points of UTF-8 `text`; false if it is not UTF-8.
bool codePoints(llvm::StringRef text, std::vector<uint32_t> &out) {
  out.clear();
  const llvm::UTF8 *p = reinterpret_cast<const llvm::UTF8 *>(text.begin());
  const llvm::UTF8 *end = reinterpret_cast<const llvm::UTF8 *>(text.end());
  while (p < end) {
    llvm::UTF32 c;
    if (llvm::convertUTF8Sequence(&p, end, &c, llvm::strictConversion) != llvm::conversionOK)
      return false;
    out.push_back(c);
  }
  return true;
}

} // namespace

uint32_t hybridc::byteLevelChar(uint8_t byte) { return alphabet().charOf[byte]; }

bool hybridc::byteLevelToBytes(llvm::StringRef text, std::string &bytes) {
  std::vector<uint32_t> cps;
  if (!codePoints(text, cps))
    return false;
  std::string out;
  for (uint32_t c : cps) {
    if (c >= 512 || alphabet().byteOf[c] < 0)
      return false; // `bytes` untouched
    out.push_back(static_cast<char>(alphabet().byteOf[c]));
  }
  bytes = std::move(out);
  return true;
}

std::string hybridc::byteLevelDecode(llvm::StringRef text) {
  std::vector<uint32_t> cps;
  std::string bytes;
  if (!codePoints(text, cps))
    return bytes;
  for (uint32_t c : cps)
    bytes.push_back(c < 512 && alphabet().byteOf[c] >= 0 ? static_cast<char>(alphabet().byteOf[c])
                                                          : '\0');
  return bytes;
}

/// The UTF-8 bytes of code point `c`.
static std::string utf8Of(uint32_t c) {
  char buf[4];
  char *p = buf;
  llvm::ConvertCodePointToUTF8(c, p);
  return std::string(buf, p);
}

// ---- Resolving ------------------------------------------------------------------

llvm::Expected<TokenizerSpec> hybridc::finishTokenizer(RawTokenizer raw) {
  const std::string &src = raw.source;
  auto fail = [&](const llvm::Twine &what) { return makeError(src + ": " + what); };
  TokenizerSpec spec;
  spec.source = src;
  spec.steps = std::move(raw.steps);
  spec.ignoreMerges = raw.ignoreMerges;
  spec.chatTemplates = std::move(raw.chatTemplates); // checked by their reader

  // Ids: the vocabulary's and the added tokens', without gaps or not.
  constexpr int64_t kMaxTokens = int64_t(1) << 24;
  int64_t maxId = -1;
  for (const auto &[text, id] : raw.vocab) {
    if (id < 0 || id >= kMaxTokens)
      return fail(raw.vocabWhere + ": '" + text + "' has id " + llvm::Twine(id) +
                  ", outside [0, " + llvm::Twine(kMaxTokens) + ")");
    maxId = std::max(maxId, id);
  }
  for (const RawTokenizer::Added &a : raw.added) {
    if (a.id < 0 || a.id >= kMaxTokens)
      return fail(a.where + ": id " + llvm::Twine(a.id) + " is out of range");
    maxId = std::max<int64_t>(maxId, a.id);
  }
  if (maxId < 0)
    return fail(raw.vocabWhere + ": the vocabulary is empty");
  // The runtime's limits (text_abi.h); no real tokenizer comes near them.
  if (spec.steps.size() > 64)
    return fail("pre_tokenizer: " + llvm::Twine(spec.steps.size()) +
                " steps, more than hybridc's 64");
  if (raw.templ.size() > 64)
    return fail(raw.templWhere + ": " + llvm::Twine(raw.templ.size()) +
                " items, more than hybridc's 64");
  spec.tokens.resize(static_cast<size_t>(maxId + 1));

  // The vocabulary: a byte-level string each; its raw bytes are the key BPE
  // finds it by. A string with characters outside the alphabet can never
  // come out of BPE (every pre-token is made of alphabet characters); it
  // still decodes as tokenizers.js decodes it.
  llvm::StringMap<int32_t> byText;       // byte-level string -> id
  std::map<std::string, int32_t> byKey;  // raw bytes -> id
  std::vector<std::string> textOf(spec.tokens.size()); // id -> byte-level string
  for (const auto &[text, id64] : raw.vocab) {
    const int32_t id = static_cast<int32_t>(id64);
    TokenizerSpec::Token &t = spec.tokens[id];
    if (t.present)
      return fail(raw.vocabWhere + ": '" + textOf[id] + "' and '" + text + "' both have id " +
                  llvm::Twine(id));
    textOf[id] = text;
    t.present = true;
    t.piece = byteLevelDecode(text);
    byText[text] = id;
    // An empty string is no word's token.
    std::string key;
    if (!text.empty() && byteLevelToBytes(text, key)) {
      t.vocab = true;
      t.key = key;
      byKey[key] = id;
    }
  }

  // Added tokens: their text is what they decode to. One that is also a
  // vocabulary entry must be that same entry; one that is not is still
  // found by BPE under its text (an alias) while it is active, as in the
  // reference, where the added text joins the model's token map.
  llvm::StringMap<int32_t> addedByText;
  std::vector<bool> isAdded(spec.tokens.size(), false);
  for (const RawTokenizer::Added &a : raw.added) {
    std::vector<uint32_t> cps;
    if (a.content.empty() || !codePoints(a.content, cps))
      return fail(a.where + ": the token's text is empty or not UTF-8");
    if (isAdded[a.id])
      return fail(a.where + ": id " + llvm::Twine(a.id) + " is given to two added tokens");
    if (!addedByText.insert({a.content, a.id}).second)
      return fail(a.where + ": '" + a.content + "' is added twice");
    isAdded[a.id] = true;
    TokenizerSpec::Token &t = spec.tokens[a.id];
    if (t.present) {
      auto it = byText.find(a.content);
      if (it == byText.end() || it->second != a.id)
        return fail(a.where + ": added token '" + a.content + "' (id " + llvm::Twine(a.id) +
                    ") would replace " + raw.vocabWhere + " entry '" + textOf[a.id] +
                    "' of another text; hybridc does not support that");
    } else {
      t.present = true;
      std::string key;
      if (byteLevelToBytes(a.content, key)) {
        auto it = byKey.find(key);
        if (it != byKey.end())
          return fail(a.where + ": added token '" + a.content + "' (id " + llvm::Twine(a.id) +
                      ") has the text of " + raw.vocabWhere + " entry " +
                      llvm::Twine(it->second) + "; hybridc does not support that");
        if (key.size() == 1)
          return fail(a.where + ": added token '" + a.content +
                      "' stands for a single byte that the vocabulary lacks; hybridc does not "
                      "support that");
        t.key = key;
        t.alias = true;
      }
    }
    t.piece = a.content;
    t.added = true;
    t.special = a.special;
    t.lstrip = a.lstrip;
    t.rstrip = a.rstrip;
  }

  // A text as the reference resolves it to an id: added tokens first, then
  // the vocabulary.
  auto resolve = [&](llvm::StringRef text) -> std::optional<int32_t> {
    auto a = addedByText.find(text);
    if (a != addedByText.end())
      return a->second;
    auto v = byText.find(text);
    if (v != byText.end())
      return v->second;
    return std::nullopt;
  };

  // Merges: every string must be in the vocabulary, and so must the pair
  // joined (the Rust library refuses such a file as well). A pair merged
  // twice keeps its later rank, as the reference's rank map does.
  std::map<std::pair<int32_t, int32_t>, size_t> pairIndex;
  std::vector<std::array<int32_t, 3>> merges;
  std::vector<bool> dropped;
  for (const RawTokenizer::Merge &m : raw.merges) {
    std::optional<int32_t> ids[3] = {std::nullopt, std::nullopt, std::nullopt};
    const std::string joined = m.left + m.right;
    const std::string *texts[3] = {&m.left, &m.right, &joined};
    for (int k = 0; k < 3; ++k) {
      auto it = byText.find(*texts[k]);
      if (it == byText.end())
        return fail(m.where + " '" + m.left + " " + m.right + "': '" + *texts[k] +
                    "' is not in " + raw.vocabWhere);
      ids[k] = it->second;
    }
    // Strings outside the alphabet never occur in a word: the merge can
    // never apply.
    if (!spec.tokens[*ids[0]].vocab || !spec.tokens[*ids[1]].vocab ||
        !spec.tokens[*ids[2]].vocab)
      continue;
    auto [it, inserted] = pairIndex.insert({{*ids[0], *ids[1]}, merges.size()});
    if (!inserted) {
      dropped[it->second] = true;
      it->second = merges.size();
    }
    merges.push_back({*ids[0], *ids[1], *ids[2]});
    dropped.push_back(false);
  }
  for (size_t i = 0; i < merges.size(); ++i)
    if (!dropped[i])
      spec.merges.push_back(merges[i]);

  // Bytes: the token of each single byte, and what a byte without one
  // becomes (byte fallback's <0xXX> tokens of its byte-level character's
  // UTF-8, as the reference spells them, else the unknown token, else
  // nothing: the reference drops it).
  std::optional<int32_t> unk;
  if (raw.unk) {
    unk = resolve(*raw.unk);
    if (!unk)
      return fail(raw.unkWhere + ": '" + *raw.unk + "' is not a token");
  }
  for (int b = 0; b < 256; ++b) {
    auto it = byKey.find(std::string(1, char(b)));
    spec.byteToken[b] = it != byKey.end() ? it->second : -1;
    std::vector<int32_t> &f = spec.fallback[b];
    if (spec.byteToken[b] >= 0)
      continue;
    if (raw.byteFallback) {
      for (unsigned char c : utf8Of(byteLevelChar(uint8_t(b)))) {
        std::optional<int32_t> id = resolve(llvm::formatv("<0x{0:X-2}>", unsigned(c)).str());
        if (!id) {
          f.clear();
          break;
        }
        f.push_back(*id);
      }
      if (!f.empty())
        continue;
    }
    if (unk)
      f.push_back(*unk);
  }

  // The post-processor's template.
  int sequences = 0;
  for (const std::optional<std::string> &item : raw.templ) {
    if (!item) {
      ++sequences;
      spec.templ.push_back(-1);
      continue;
    }
    std::optional<int32_t> id = resolve(*item);
    if (!id)
      return fail(raw.templWhere + ": special token '" + *item + "' is not a token");
    spec.templ.push_back(*id);
  }
  if (!raw.templ.empty() && sequences != 1)
    return fail(raw.templWhere + ": the template must hold the input sequence ($A) once (it has " +
                llvm::Twine(sequences) + ")");

  // BOS and EOS.
  auto end = [&](const std::optional<std::string> &text, const std::optional<int64_t> &id,
                 const std::string &where, int32_t &out) -> llvm::Error {
    if (text) {
      std::optional<int32_t> r = resolve(*text);
      if (!r)
        return fail(where + ": '" + *text + "' is not a token");
      out = *r;
    } else if (id) {
      if (*id < 0 || *id >= spec.size() || !spec.tokens[*id].present)
        return fail(where + ": token id " + llvm::Twine(*id) + " does not exist (" +
                    llvm::Twine(spec.size()) + " ids)");
      out = static_cast<int32_t>(*id);
    }
    return llvm::Error::success();
  };
  if (llvm::Error e = end(raw.bosText, raw.bosId, raw.bosWhere, spec.bos))
    return std::move(e);
  if (llvm::Error e = end(raw.eosText, raw.eosId, raw.eosWhere, spec.eos))
    return std::move(e);
  return spec;
}

// ---- Describing and serializing -------------------------------------------------

std::string TokenizerSpec::describe() const {
  int added = 0, special = 0;
  for (const Token &t : tokens) {
    added += t.added;
    special += t.special;
  }
  std::string pre;
  for (const Step &s : steps)
    pre += std::string(pre.empty() ? "" : " + ") +
           (s.prefixSpace ? "prefix space" : s.isolated ? "split" : "split (matches only)");
  auto name = [&](int32_t id) {
    return id < 0 ? std::string("none")
                  : llvm::formatv("{0} ({1})", id, llvm::StringRef(tokens[id].piece)).str();
  };
  std::string templates;
  for (const ChatTemplate &t : chatTemplates)
    templates += llvm::formatv("{0}{1} ({2} bytes)", templates.empty() ? ", chat templates " : ", ",
                               t.name, t.text.size())
                     .str();
  return llvm::formatv("{0}: byte-level BPE, {1} ids, {2} merges, {3} added ({4} special), "
                       "pre-tokenizer {5}{6}, BOS {7}, EOS {8}{9}",
                       llvm::sys::path::filename(source), tokens.size(), merges.size(), added,
                       special, pre.empty() ? "none" : pre,
                       ignoreMerges ? ", ignore_merges" : "", name(bos), name(eos), templates)
      .str();
}

namespace {

/// Little-endian writes into a byte vector (the blob is read in place by the
/// runtime on little-endian machines only).
class BlobWriter {
public:
  explicit BlobWriter(std::vector<uint8_t> &out) : out(out) {}
  template <typename T> void put(const T &v) {
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
  }

private:
  std::vector<uint8_t> &out;
};

} // namespace

std::vector<uint8_t> hybridc::serializeTokenizer(const TokenizerSpec &spec) {
  std::string strings;
  auto addString = [&](const std::string &s) {
    const uint32_t at = static_cast<uint32_t>(strings.size());
    strings += s;
    return at;
  };
  std::vector<hybridc_tokenizer_token> tokens;
  for (const TokenizerSpec::Token &t : spec.tokens) {
    hybridc_tokenizer_token r{};
    if (t.present) {
      r.piece_offset = addString(t.piece);
      r.piece_bytes = static_cast<uint32_t>(t.piece.size());
      // A vocabulary key equal to the piece shares its bytes.
      r.key_offset = t.key == t.piece ? r.piece_offset : addString(t.key);
      r.key_bytes = static_cast<uint32_t>(t.key.size());
      r.flags = HYBRIDC_TOKEN_PRESENT | (t.added ? HYBRIDC_TOKEN_ADDED : 0) |
                (t.special ? HYBRIDC_TOKEN_SPECIAL : 0) | (t.lstrip ? HYBRIDC_TOKEN_LSTRIP : 0) |
                (t.rstrip ? HYBRIDC_TOKEN_RSTRIP : 0) | (t.vocab ? HYBRIDC_TOKEN_VOCAB : 0) |
                (t.alias ? HYBRIDC_TOKEN_ALIAS : 0);
      if (r.key_bytes == 0)
        r.key_offset = 0;
    }
    tokens.push_back(r);
  }
  std::vector<hybridc_tokenizer_step> steps;
  for (const TokenizerSpec::Step &s : spec.steps) {
    hybridc_tokenizer_step r{};
    if (s.prefixSpace) {
      r.kind = HYBRIDC_STEP_PREFIX_SPACE;
    } else {
      r.kind = HYBRIDC_STEP_SPLIT;
      r.mode = s.isolated ? HYBRIDC_SPLIT_ISOLATED : HYBRIDC_SPLIT_MATCHES;
      r.pattern_offset = addString(s.pattern);
      r.pattern_bytes = static_cast<uint32_t>(s.pattern.size());
    }
    steps.push_back(r);
  }
  // Each followed by a NUL, so the runtime hands out C strings in place.
  std::vector<hybridc_tokenizer_chat_template> chat;
  for (const TokenizerSpec::ChatTemplate &t : spec.chatTemplates) {
    hybridc_tokenizer_chat_template r{};
    r.name_offset = addString(t.name + '\0');
    r.name_bytes = static_cast<uint32_t>(t.name.size());
    r.text_offset = addString(t.text + '\0');
    r.text_bytes = static_cast<uint32_t>(t.text.size());
    chat.push_back(r);
  }

  hybridc_tokenizer_header h{};
  std::memcpy(h.magic, HYBRIDC_TOKENIZER_MAGIC, sizeof h.magic);
  h.format_version = HYBRIDC_TOKENIZER_FORMAT_VERSION;
  h.header_bytes = HYBRIDC_TOKENIZER_HEADER_BYTES;
  h.num_tokens = spec.size();
  h.num_merges = static_cast<int32_t>(spec.merges.size());
  h.num_steps = static_cast<int32_t>(steps.size());
  h.num_template = static_cast<int32_t>(spec.templ.size());
  h.bos = spec.bos;
  h.eos = spec.eos;
  h.flags = spec.ignoreMerges ? HYBRIDC_TOKENIZER_IGNORE_MERGES : 0;
  h.string_bytes = static_cast<uint32_t>(strings.size());
  h.num_chat_templates = static_cast<int32_t>(chat.size());

  std::vector<uint8_t> blob;
  BlobWriter w(blob);
  w.put(h);
  for (const hybridc_tokenizer_token &t : tokens)
    w.put(t);
  for (const std::array<int32_t, 3> &m : spec.merges)
    w.put(hybridc_tokenizer_merge{m[0], m[1], m[2]});
  for (int b = 0; b < 256; ++b)
    w.put(spec.byteToken[b]);
  for (int b = 0; b < 256; ++b) {
    hybridc_tokenizer_fallback f{};
    f.count = static_cast<int32_t>(spec.fallback[b].size());
    for (size_t i = 0; i < spec.fallback[b].size() && i < 2; ++i)
      f.ids[i] = spec.fallback[b][i];
    w.put(f);
  }
  for (int32_t item : spec.templ)
    w.put(item);
  for (const hybridc_tokenizer_step &s : steps)
    w.put(s);
  for (const hybridc_tokenizer_chat_template &c : chat)
    w.put(c);
  blob.insert(blob.end(), strings.begin(), strings.end());
  const uint64_t total = blob.size();
  std::memcpy(blob.data() + offsetof(hybridc_tokenizer_header, total_bytes), &total,
              sizeof total);
  return blob;
}

// ---- Finding a model's tokenizer -----------------------------------------------

llvm::Expected<std::optional<TokenizerSpec>> hybridc::readTokenizer(llvm::StringRef path) {
  if (llvm::sys::fs::is_directory(path)) {
    llvm::SmallString<256> json(path), config(path);
    llvm::sys::path::append(json, "tokenizer.json");
    llvm::sys::path::append(config, "tokenizer_config.json");
    if (!llvm::sys::fs::exists(json))
      return std::nullopt;
    llvm::Expected<TokenizerSpec> spec =
        readTokenizerJson(json, llvm::sys::fs::exists(config) ? llvm::StringRef(config) : "");
    if (!spec)
      return spec.takeError();
    return std::move(*spec);
  }
  if (path.ends_with(".gguf")) {
    llvm::Expected<std::unique_ptr<GgufFile>> gguf = GgufFile::open(path);
    if (!gguf)
      return gguf.takeError();
    return readTokenizerGguf(**gguf);
  }
  llvm::SmallString<256> config(llvm::sys::path::parent_path(path));
  llvm::sys::path::append(config, "tokenizer_config.json");
  llvm::Expected<TokenizerSpec> spec =
      readTokenizerJson(path, llvm::sys::fs::exists(config) ? llvm::StringRef(config) : "");
  if (!spec)
    return spec.takeError();
  return std::move(*spec);
}
