//===- TokenizerJson.cpp - tokenizer.json and tokenizer_config.json -------===//
//
// What hybridc reads from a Hugging Face tokenizer.json (docs/formats.md,
// "tokenizer.json"): a BPE model on the byte-level alphabet, a pre-tokenizer
// of Split steps ending in ByteLevel, added tokens, a ByteLevel decoder and a
// ByteLevel or TemplateProcessing post-processor. Every other component, and
// every option whose effect hybridc does not reproduce, is an error naming
// its place in the file ("pre_tokenizer.pretokenizers[1]: type 'Digits' is
// not supported"). tokenizer_config.json gives bos_token, eos_token and the
// chat templates.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Tokenizer/Tokenizer.h"
#include "hybridc/Support/Error.h"

#include "TokenizerBuilder.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cctype>

using namespace hybridc;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

namespace {

class JsonReader {
public:
  explicit JsonReader(llvm::StringRef path) : path(path) {}
  llvm::Expected<RawTokenizer> read(const Object &root);

private:
  llvm::Error fail(const llvm::Twine &where, const llvm::Twine &what) {
    return makeError(path + ": " + where + ": " + what);
  }
  llvm::Error unsupported(const llvm::Twine &where, const llvm::Twine &what) {
    return fail(where, what + " is not supported by hybridc");
  }
  /// A bool field, `fallback` when absent or null.
  llvm::Expected<bool> boolean(const Object &o, llvm::StringRef key, const llvm::Twine &where,
                               bool fallback);
  llvm::Expected<std::optional<std::string>> string(const Object &o, llvm::StringRef key,
                                                    const llvm::Twine &where);
  llvm::Error normalizer(const Value *v);
  llvm::Error preTokenizer(const Value *v, RawTokenizer &raw);
  llvm::Error split(const Object &o, const std::string &where, RawTokenizer &raw);
  llvm::Error model(const Value *v, RawTokenizer &raw);
  llvm::Error addedTokens(const Value *v, RawTokenizer &raw);
  llvm::Error postProcessor(const Value *v, const std::string &where, RawTokenizer &raw);
  llvm::Error decoder(const Value *v, const std::string &where);

  std::string path;
};

llvm::Expected<bool> JsonReader::boolean(const Object &o, llvm::StringRef key,
                                         const llvm::Twine &where, bool fallback) {
  const Value *v = o.get(key);
  if (!v || v->kind() == Value::Null)
    return fallback;
  std::optional<bool> b = v->getAsBoolean();
  if (!b)
    return fail(where + "." + key, "expected true or false");
  return *b;
}

llvm::Expected<std::optional<std::string>> JsonReader::string(const Object &o, llvm::StringRef key,
                                                              const llvm::Twine &where) {
  const Value *v = o.get(key);
  if (!v || v->kind() == Value::Null)
    return std::nullopt;
  std::optional<llvm::StringRef> s = v->getAsString();
  if (!s)
    return fail(where + "." + key, "expected a string");
  return s->str();
}

/// The "type" of a component object.
std::string typeOf(const Object &o) {
  const Value *t = o.get("type");
  std::optional<llvm::StringRef> s = t ? t->getAsString() : std::nullopt;
  return s ? s->str() : std::string();
}

llvm::Error JsonReader::normalizer(const Value *v) {
  if (!v || v->kind() == Value::Null)
    return llvm::Error::success();
  const Object *o = v->getAsObject();
  if (!o)
    return fail("normalizer", "expected an object or null");
  const std::string type = typeOf(*o);
  // An empty sequence changes nothing.
  if (type == "Sequence") {
    const Array *list = o->getArray("normalizers");
    if (list && list->empty())
      return llvm::Error::success();
  }
  return unsupported("normalizer", "type '" + type + "' (hybridc runs no normalizer)");
}

llvm::Error JsonReader::split(const Object &o, const std::string &where, RawTokenizer &raw) {
  const Object *pattern = o.getObject("pattern");
  if (!pattern)
    return fail(where + ".pattern", "expected an object with \"Regex\" or \"String\"");
  llvm::Expected<bool> invert = boolean(o, "invert", where, false);
  if (!invert)
    return invert.takeError();
  const std::optional<llvm::StringRef> behavior =
      o.get("behavior") ? o.get("behavior")->getAsString() : std::nullopt;
  if (!behavior)
    return fail(where + ".behavior", "expected a string");
  TokenizerSpec::Step step;
  if (*behavior == "Isolated" && !*invert)
    step.isolated = true;
  else if (*behavior == "Removed" && *invert)
    step.isolated = false; // the matches are the pieces
  else
    return unsupported(where, "Split behavior '" + *behavior + "' with invert " +
                                  (*invert ? "true" : "false") +
                                  " (supported: Isolated, and Removed with invert true)");
  if (const Value *re = pattern->get("Regex")) {
    std::optional<llvm::StringRef> text = re->getAsString();
    if (!text)
      return fail(where + ".pattern.Regex", "expected a string");
    llvm::Expected<std::string> translated = translateSplitPattern(*text);
    if (!translated)
      return fail(where + ".pattern.Regex", llvm::toString(translated.takeError()));
    step.pattern = std::move(*translated);
  } else if (const Value *str = pattern->get("String")) {
    std::optional<llvm::StringRef> text = str->getAsString();
    if (!text || text->empty())
      return fail(where + ".pattern.String", "expected a non-empty string");
    if (!step.isolated)
      return unsupported(where, "a String pattern with behavior Removed");
    for (char c : *text) { // a literal: every ASCII punctuation character escaped
      if (std::ispunct(static_cast<unsigned char>(c)) || c == ' ')
        step.pattern += '\\';
      step.pattern += c;
    }
  } else {
    return fail(where + ".pattern", "expected \"Regex\" or \"String\"");
  }
  raw.steps.push_back(std::move(step));
  return llvm::Error::success();
}

llvm::Error JsonReader::preTokenizer(const Value *v, RawTokenizer &raw) {
  if (!v || v->kind() == Value::Null)
    return unsupported("pre_tokenizer", "none (byte-level BPE needs a ByteLevel pre-tokenizer)");
  const Object *o = v->getAsObject();
  if (!o)
    return fail("pre_tokenizer", "expected an object");
  std::vector<std::pair<const Object *, std::string>> items;
  if (typeOf(*o) == "Sequence") {
    const Array *list = o->getArray("pretokenizers");
    if (!list)
      return fail("pre_tokenizer.pretokenizers", "expected an array");
    for (size_t k = 0; k < list->size(); ++k) {
      const std::string where = "pre_tokenizer.pretokenizers[" + std::to_string(k) + "]";
      const Object *item = (*list)[k].getAsObject();
      if (!item)
        return fail(where, "expected an object");
      items.push_back({item, where});
    }
  } else {
    items.push_back({o, "pre_tokenizer"});
  }
  bool byteLevel = false;
  for (const auto &[item, where] : items) {
    const std::string type = typeOf(*item);
    if (byteLevel)
      return unsupported(where, "a pre-tokenizer after ByteLevel ('" + type + "')");
    if (type == "Split") {
      if (llvm::Error e = split(*item, where, raw))
        return e;
    } else if (type == "ByteLevel") {
      byteLevel = true;
      // tokenizers.js's defaults: no prefix space, its own split.
      llvm::Expected<bool> prefix = boolean(*item, "add_prefix_space", where, false);
      if (!prefix)
        return prefix.takeError();
      llvm::Expected<bool> useRegex = boolean(*item, "use_regex", where, true);
      if (!useRegex)
        return useRegex.takeError();
      if (*prefix) {
        TokenizerSpec::Step s;
        s.prefixSpace = true;
        raw.steps.push_back(s);
      }
      if (*useRegex) {
        TokenizerSpec::Step s;
        s.isolated = false;
        s.pattern = byteLevelSplitPattern();
        raw.steps.push_back(s);
      }
    } else {
      return unsupported(where, "type '" + type + "' (supported: Sequence, Split, ByteLevel)");
    }
  }
  if (!byteLevel)
    return unsupported("pre_tokenizer", "a pre-tokenizer without ByteLevel (hybridc implements "
                                        "byte-level BPE only)");
  return llvm::Error::success();
}

llvm::Error JsonReader::model(const Value *v, RawTokenizer &raw) {
  const Object *o = v ? v->getAsObject() : nullptr;
  if (!o)
    return fail("model", "expected an object");
  const std::string type = typeOf(*o);
  if (type != "BPE")
    return unsupported("model.type", "'" + type + "' (hybridc implements BPE)");
  if (const Value *d = o->get("dropout"); d && d->kind() != Value::Null &&
                                          d->getAsNumber().value_or(1) != 0)
    return unsupported("model.dropout", "a dropout other than null or 0");
  llvm::Expected<bool> fuse = boolean(*o, "fuse_unk", "model", false);
  if (!fuse)
    return fuse.takeError();
  if (*fuse)
    return unsupported("model.fuse_unk", "true");
  for (llvm::StringRef affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    llvm::Expected<std::optional<std::string>> s = string(*o, affix, "model");
    if (!s)
      return s.takeError();
    if (*s && !(*s)->empty())
      return unsupported(("model." + affix).str(), "'" + **s + "'");
  }
  llvm::Expected<bool> fallback = boolean(*o, "byte_fallback", "model", false);
  llvm::Expected<bool> ignore = boolean(*o, "ignore_merges", "model", false);
  llvm::Expected<std::optional<std::string>> unk = string(*o, "unk_token", "model");
  if (!fallback)
    return fallback.takeError();
  if (!ignore)
    return ignore.takeError();
  if (!unk)
    return unk.takeError();
  raw.byteFallback = *fallback;
  raw.ignoreMerges = *ignore;
  raw.unk = *unk;
  raw.unkWhere = "model.unk_token";

  const Object *vocab = o->getObject("vocab");
  if (!vocab)
    return fail("model.vocab", "expected an object of token -> id");
  raw.vocab.reserve(vocab->size());
  for (const auto &[key, value] : *vocab) {
    std::optional<int64_t> id = value.getAsInteger();
    if (!id)
      return fail("model.vocab", "'" + key.str() + "': expected an integer id");
    raw.vocab.push_back({key.str(), *id});
  }
  const Array *merges = o->getArray("merges");
  if (!merges)
    return fail("model.merges", "expected an array");
  raw.merges.reserve(merges->size());
  for (size_t k = 0; k < merges->size(); ++k) {
    const std::string where = "model.merges[" + std::to_string(k) + "]";
    const Value &m = (*merges)[k];
    RawTokenizer::Merge merge;
    merge.where = where;
    if (std::optional<llvm::StringRef> s = m.getAsString()) {
      // "left right": the strings never hold a space (it is "Ġ").
      auto [left, right] = s->split(' ');
      if (left.empty() || right.empty() || right.contains(' '))
        return fail(where, "'" + *s + "' is not two tokens separated by one space");
      merge.left = left.str();
      merge.right = right.str();
    } else if (const Array *pair = m.getAsArray(); pair && pair->size() == 2 &&
                                                   (*pair)[0].getAsString() &&
                                                   (*pair)[1].getAsString()) {
      merge.left = (*pair)[0].getAsString()->str();
      merge.right = (*pair)[1].getAsString()->str();
    } else {
      return fail(where, "expected \"left right\" or [\"left\", \"right\"]");
    }
    raw.merges.push_back(std::move(merge));
  }
  return llvm::Error::success();
}

llvm::Error JsonReader::addedTokens(const Value *v, RawTokenizer &raw) {
  if (!v || v->kind() == Value::Null)
    return llvm::Error::success();
  const Array *list = v->getAsArray();
  if (!list)
    return fail("added_tokens", "expected an array");
  for (size_t k = 0; k < list->size(); ++k) {
    const std::string where = "added_tokens[" + std::to_string(k) + "]";
    const Object *o = (*list)[k].getAsObject();
    if (!o)
      return fail(where, "expected an object");
    RawTokenizer::Added a;
    a.where = where;
    std::optional<int64_t> id = o->getInteger("id");
    std::optional<llvm::StringRef> content = o->getString("content");
    if (!id)
      return fail(where + ".id", "expected an integer");
    if (!content)
      return fail(where + ".content", "expected a string");
    a.id = *id > INT32_MAX || *id < INT32_MIN ? -1 : static_cast<int32_t>(*id);
    a.content = content->str();
    llvm::Expected<bool> single = boolean(*o, "single_word", where, false);
    llvm::Expected<bool> special = boolean(*o, "special", where, false);
    llvm::Expected<bool> lstrip = boolean(*o, "lstrip", where, false);
    llvm::Expected<bool> rstrip = boolean(*o, "rstrip", where, false);
    llvm::Expected<bool> normalized = boolean(*o, "normalized", where, false);
    for (llvm::Expected<bool> *b : {&single, &special, &lstrip, &rstrip, &normalized})
      if (!*b)
        return b->takeError();
    // tokenizers.js ignores single_word, the Rust library does not: the two
    // references disagree, so hybridc takes neither side. (normalized makes
    // no difference without a normalizer.)
    if (*single)
      return unsupported(where + ".single_word", "true");
    a.special = *special;
    a.lstrip = *lstrip;
    a.rstrip = *rstrip;
    raw.added.push_back(std::move(a));
  }
  return llvm::Error::success();
}

llvm::Error JsonReader::postProcessor(const Value *v, const std::string &where,
                                      RawTokenizer &raw) {
  if (!v || v->kind() == Value::Null)
    return llvm::Error::success();
  const Object *o = v->getAsObject();
  if (!o)
    return fail(where, "expected an object or null");
  const std::string type = typeOf(*o);
  if (type == "ByteLevel") // offsets only: no tokens
    return llvm::Error::success();
  if (type == "Sequence") {
    const Array *list = o->getArray("processors");
    if (!list)
      return fail(where + ".processors", "expected an array");
    for (size_t k = 0; k < list->size(); ++k)
      if (llvm::Error e =
              postProcessor(&(*list)[k], where + ".processors[" + std::to_string(k) + "]", raw))
        return e;
    return llvm::Error::success();
  }
  if (type != "TemplateProcessing")
    return unsupported(where, "type '" + type +
                                  "' (supported: ByteLevel, TemplateProcessing, Sequence)");
  if (!raw.templWhere.empty())
    return unsupported(where, "a second TemplateProcessing");
  raw.templWhere = where + ".single";
  const Array *single = o->getArray("single");
  if (!single)
    return fail(where + ".single", "expected an array");
  for (size_t k = 0; k < single->size(); ++k) {
    const std::string at = where + ".single[" + std::to_string(k) + "]";
    const Object *item = (*single)[k].getAsObject();
    const Object *special = item ? item->getObject("SpecialToken") : nullptr;
    const Object *sequence = item ? item->getObject("Sequence") : nullptr;
    if (special) {
      std::optional<llvm::StringRef> id = special->getString("id");
      if (!id)
        return fail(at + ".SpecialToken.id", "expected a string");
      raw.templ.push_back(id->str());
    } else if (sequence) {
      std::optional<llvm::StringRef> id = sequence->getString("id");
      if (!id || *id != "A")
        return unsupported(at + ".Sequence.id", "anything but \"A\" in the single template");
      raw.templ.push_back(std::nullopt);
    } else {
      return fail(at, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  return llvm::Error::success();
}

llvm::Error JsonReader::decoder(const Value *v, const std::string &where) {
  const Object *o = v ? v->getAsObject() : nullptr;
  if (!o)
    return unsupported(where, "a tokenizer without a ByteLevel decoder");
  const std::string type = typeOf(*o);
  if (type == "ByteLevel")
    return llvm::Error::success();
  if (type == "Sequence") {
    const Array *list = o->getArray("decoders");
    if (!list || list->size() != 1)
      return unsupported(where, "a Sequence decoder other than [ByteLevel]");
    return decoder(&(*list)[0], where + ".decoders[0]");
  }
  return unsupported(where, "type '" + type + "' (supported: ByteLevel)");
}

llvm::Expected<RawTokenizer> JsonReader::read(const Object &root) {
  RawTokenizer raw;
  raw.source = path;
  for (llvm::StringRef key : {"truncation", "padding"})
    if (const Value *v = root.get(key); v && v->kind() != Value::Null)
      return unsupported(key, "a value other than null");
  if (llvm::Error e = normalizer(root.get("normalizer")))
    return std::move(e);
  if (llvm::Error e = preTokenizer(root.get("pre_tokenizer"), raw))
    return std::move(e);
  if (llvm::Error e = model(root.get("model"), raw))
    return std::move(e);
  if (llvm::Error e = addedTokens(root.get("added_tokens"), raw))
    return std::move(e);
  if (llvm::Error e = postProcessor(root.get("post_processor"), "post_processor", raw))
    return std::move(e);
  if (llvm::Error e = decoder(root.get("decoder"), "decoder"))
    return std::move(e);
  return raw;
}

llvm::Expected<Value> parseFile(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return makeError(path + ": cannot read: " + buf.getError().message());
  llvm::Expected<Value> v = llvm::json::parse((*buf)->getBuffer());
  if (!v)
    return makeError(path + ": not valid JSON: " + llvm::toString(v.takeError()));
  if (!v->getAsObject())
    return makeError(path + ": expected a JSON object at the top");
  return std::move(*v);
}

} // namespace

llvm::Expected<TokenizerSpec> hybridc::readTokenizerJson(llvm::StringRef jsonPath,
                                                         llvm::StringRef configPath) {
  llvm::Expected<Value> root = parseFile(jsonPath);
  if (!root)
    return root.takeError();
  llvm::Expected<RawTokenizer> raw = JsonReader(jsonPath).read(*root->getAsObject());
  if (!raw)
    return raw.takeError();
  if (!configPath.empty()) {
    llvm::Expected<Value> config = parseFile(configPath);
    if (!config)
      return config.takeError();
    const Object &c = *config->getAsObject();
    for (auto [key, text, where] : {std::tuple{"bos_token", &raw->bosText, &raw->bosWhere},
                                    std::tuple{"eos_token", &raw->eosText, &raw->eosWhere}}) {
      llvm::Expected<std::optional<std::string>> token = specialTokenOfConfig(c, key, configPath);
      if (!token)
        return token.takeError();
      if (*token) {
        *text = std::move(*token);
        *where = (key + llvm::Twine(" in ") + configPath).str();
      }
    }
    llvm::Expected<std::vector<TokenizerSpec::ChatTemplate>> templates =
        chatTemplatesOfConfig(c, configPath);
    if (!templates)
      return templates.takeError();
    raw->chatTemplates = std::move(*templates);
  }
  return finishTokenizer(std::move(*raw));
}
