//===- TokenizerGguf.cpp - a GGUF file's tokenizer.ggml.* metadata --------===//
//
// llama.cpp's converter stores the tokenizer as arrays: tokenizer.ggml.tokens
// (byte-level strings, or an added token's text), token_type (1 normal, 2
// unknown, 3 control, 4 user-defined, 5 unused, 6 byte), merges ("a b"),
// bos/eos_token_id, add_bos_token / add_eos_token, and names the pre-
// tokenizer by a word (tokenizer.ggml.pre) for which llama.cpp holds the
// pattern. hybridc knows the byte-level ones below (Granite 4.0's is
// "dbrx"); any other is an error naming it.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Model/Gguf.h"
#include "hybridc/Tokenizer/Tokenizer.h"
#include "hybridc/Support/Error.h"

#include "TokenizerBuilder.h"

using namespace hybridc;

namespace {

// The cl100k family's pattern (GPT-4, Llama 3, DBRX, Granite 4.0), as
// tokenizer.json files spell it.
const char kCl100kPattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

enum TokenType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

} // namespace

llvm::Expected<std::optional<TokenizerSpec>> hybridc::readTokenizerGguf(const GgufFile &file) {
  const std::string &path = file.path();
  auto fail = [&](const llvm::Twine &key, const llvm::Twine &what) {
    return makeError(path + ": " + key + ": " + what);
  };
  const GgufValue *model = file.find("tokenizer.ggml.model");
  if (!model)
    return std::nullopt;
  if (model->type != GgufType::String)
    return fail("tokenizer.ggml.model", "expected a string");
  if (model->s == "none" || model->s == "no_vocab")
    return std::nullopt;
  if (model->s != "gpt2")
    return fail("tokenizer.ggml.model",
                "'" + model->s + "' is not supported by hybridc (it implements byte-level BPE, "
                                 "'gpt2'); compile with --no-tokenizer to leave it out");

  RawTokenizer raw;
  raw.source = path;
  raw.vocabWhere = "tokenizer.ggml.tokens";
  std::string pre = "default";
  if (const GgufValue *p = file.find("tokenizer.ggml.pre")) {
    if (p->type != GgufType::String)
      return fail("tokenizer.ggml.pre", "expected a string");
    pre = p->s.str();
  }
  TokenizerSpec::Step step;
  if (pre == "gpt-2") {
    step.isolated = false; // ByteLevel's own split keeps the matches
    step.pattern = byteLevelSplitPattern();
  } else if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3" || pre == "dbrx" ||
             pre == "smaug-bpe") {
    llvm::Expected<std::string> pattern = translateSplitPattern(kCl100kPattern);
    if (!pattern)
      return pattern.takeError();
    step.pattern = *pattern;
    // llama.cpp merges Llama 3's words that are whole vocabulary entries
    // directly, as its tokenizer.json says (ignore_merges).
    raw.ignoreMerges = pre != "dbrx" && pre != "smaug-bpe";
  } else {
    return fail("tokenizer.ggml.pre",
                "'" + pre + "' is not supported by hybridc (supported: gpt-2, llama-bpe, "
                            "llama3, llama-v3, dbrx, smaug-bpe); compile with --no-tokenizer "
                            "to leave the tokenizer out");
  }
  raw.steps.push_back(step);

  const GgufValue *tokens = file.find("tokenizer.ggml.tokens");
  if (!tokens || tokens->type != GgufType::Array || tokens->elementType != GgufType::String)
    return fail("tokenizer.ggml.tokens", "expected an array of strings");
  const GgufValue *types = file.find("tokenizer.ggml.token_type");
  if (types && (types->type != GgufType::Array || types->count != tokens->count))
    return fail("tokenizer.ggml.token_type",
                "expected an integer array as long as tokenizer.ggml.tokens (" +
                    llvm::Twine(tokens->count) + ")");
  for (uint64_t id = 0; id < tokens->strings.size(); ++id) {
    int64_t type = kNormal;
    if (types && !types->integerAt(id, type))
      return fail("tokenizer.ggml.token_type", "expected integers");
    const std::string text = tokens->strings[id].str();
    switch (type) {
    case kNormal:
    case kUnknown:
    case kUnused:
    case kByte:
      raw.vocab.push_back({text, static_cast<int64_t>(id)});
      break;
    case kControl:
    case kUserDefined: {
      RawTokenizer::Added a;
      a.id = static_cast<int32_t>(id);
      a.content = text;
      a.special = type == kControl;
      a.where = "tokenizer.ggml.tokens[" + std::to_string(id) + "]";
      raw.added.push_back(std::move(a));
      break;
    }
    default:
      return fail("tokenizer.ggml.token_type[" + llvm::Twine(id) + "]",
                  "unknown token type " + llvm::Twine(type));
    }
  }
  const GgufValue *merges = file.find("tokenizer.ggml.merges");
  if (!merges || merges->type != GgufType::Array || merges->elementType != GgufType::String)
    return fail("tokenizer.ggml.merges", "expected an array of strings");
  for (uint64_t k = 0; k < merges->strings.size(); ++k) {
    const std::string where = "tokenizer.ggml.merges[" + std::to_string(k) + "]";
    auto [left, right] = merges->strings[k].split(' ');
    if (left.empty() || right.empty() || right.contains(' '))
      return fail(where, "'" + merges->strings[k] + "' is not two tokens separated by one space");
    raw.merges.push_back({left.str(), right.str(), where});
  }

  // BOS / EOS by id; add_bos_token / add_eos_token make the template.
  for (auto [key, out, where] :
       {std::tuple{"tokenizer.ggml.bos_token_id", &raw.bosId, &raw.bosWhere},
        std::tuple{"tokenizer.ggml.eos_token_id", &raw.eosId, &raw.eosWhere}}) {
    if (!file.find(key))
      continue;
    llvm::Expected<int64_t> id = file.getInt(key);
    if (!id)
      return id.takeError();
    *out = *id;
    *where = key;
  }
  auto flag = [&](const char *key) -> llvm::Expected<bool> {
    return file.find(key) ? file.getBool(key) : llvm::Expected<bool>(false);
  };
  llvm::Expected<bool> addBos = flag("tokenizer.ggml.add_bos_token");
  if (!addBos)
    return addBos.takeError();
  llvm::Expected<bool> addEos = flag("tokenizer.ggml.add_eos_token");
  if (!addEos)
    return addEos.takeError();
  if (*addBos || *addEos) {
    auto text = [&](const std::optional<int64_t> &id, const char *what)
        -> llvm::Expected<std::string> {
      if (!id || *id < 0 || static_cast<uint64_t>(*id) >= tokens->strings.size())
        return fail(what, "is set but the token id is missing or out of range");
      return tokens->strings[*id].str();
    };
    raw.templWhere = "tokenizer.ggml.add_bos_token/add_eos_token";
    if (*addBos) {
      llvm::Expected<std::string> bos = text(raw.bosId, "tokenizer.ggml.add_bos_token");
      if (!bos)
        return bos.takeError();
      raw.templ.push_back(*bos);
    }
    raw.templ.push_back(std::nullopt);
    if (*addEos) {
      llvm::Expected<std::string> eos = text(raw.eosId, "tokenizer.ggml.add_eos_token");
      if (!eos)
        return eos.takeError();
      raw.templ.push_back(*eos);
    }
  }
  llvm::Expected<std::vector<TokenizerSpec::ChatTemplate>> templates = chatTemplatesOfGguf(file);
  if (!templates)
    return templates.takeError();
  raw.chatTemplates = std::move(*templates);
  llvm::Expected<TokenizerSpec> spec = finishTokenizer(std::move(raw));
  if (!spec)
    return spec.takeError();
  return std::move(*spec);
}
