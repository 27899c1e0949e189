//===- TokenizeCommand.cpp - `hybridc tokenize TOKENIZER --text S` --------===//
//
// Text -> ids (or, with --decode, ids -> text) with a model's tokenizer,
// without compiling the model: TOKENIZER is a tokenizer.json, a model
// folder or GGUF file (the runtime's engine runs here on the blob a compile
// would embed), or an output folder of `hybridc compile` (its library's own
// <name>_tokenize). The ids are printed on one line, separated by spaces.
// Special-token text is recognised as the reference does (tokenizers.js
// always does) unless --no-parse-special; no token is added unless
// --add-special.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "hybridc/Run/LibraryText.h"
#include "hybridc/Run/TextTokenizer.h"
#include "hybridc/Run/TokenList.h"
#include "hybridc/Support/Error.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace hybridc;

namespace {

struct TokenizeOptions {
  std::string tokenizer;
  std::optional<std::string> text;
  std::string file;
  bool decode = false;
  bool addSpecial = false;
  bool noParseSpecial = false;
};

llvm::Expected<std::string> input(const TokenizeOptions &o) {
  if (o.text)
    return *o.text;
  if (o.file.empty())
    return makeError("give the input with --text S or --file F");
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
      llvm::MemoryBuffer::getFile(o.file, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return makeError(o.file + ": cannot read: " + buf.getError().message());
  return (*buf)->getBuffer().str();
}

llvm::Error tokenize(const TokenizeOptions &o) {
  llvm::Expected<std::string> in = input(o);
  if (!in)
    return in.takeError();
  llvm::Expected<std::unique_ptr<TextTokenizer>> t = TextTokenizer::open(o.tokenizer);
  if (!t)
    return t.takeError();
  if (o.decode) {
    // Ids separated by spaces, newlines or commas.
    std::string list = *in;
    for (char &c : list)
      if (c == ',')
        c = ' ';
    llvm::Expected<std::vector<int32_t>> ids =
        parseTokenText(list, o.text ? llvm::StringRef("--text") : llvm::StringRef(o.file));
    if (!ids)
      return ids.takeError();
    llvm::Expected<std::string> text = (*t)->decode(*ids);
    if (!text)
      return text.takeError();
    llvm::outs() << *text;
    return llvm::Error::success();
  }
  const int32_t flags = (o.addSpecial ? kTokenizeAddSpecial : 0) |
                        (o.noParseSpecial ? 0 : kTokenizeParseSpecial);
  llvm::Expected<std::vector<int32_t>> ids = (*t)->encode(*in, flags);
  if (!ids)
    return ids.takeError();
  for (size_t i = 0; i < ids->size(); ++i)
    llvm::outs() << (i ? " " : "") << (*ids)[i];
  llvm::outs() << "\n";
  return llvm::Error::success();
}

} // namespace

void hybridc::addTokenizeCommand(CLI::App &app, int &exitCode) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App *cmd = app.add_subcommand(
      "tokenize", "Text to token ids (or ids to text) with a model's tokenizer, without "
                  "compiling the model");
  cmd->add_option("tokenizer", opts->tokenizer,
                  "A tokenizer.json, a model folder or .gguf file, or an output folder of "
                  "`hybridc compile`")
      ->required();
  auto *text = cmd->add_option("--text", opts->text,
                               "The text (with --decode: the ids, separated by spaces or commas)");
  auto *file = cmd->add_option("--file", opts->file, "Read the text (or the ids) from this file");
  text->excludes(file);
  cmd->add_flag("--decode", opts->decode, "Read token ids and print their text");
  cmd->add_flag("--add-special", opts->addSpecial,
                "Add the tokenizer's own tokens around the text (a BOS token, ...)");
  cmd->add_flag("--no-parse-special", opts->noParseSpecial,
                "Tokenize special-token text (\"<|end_of_text|>\") as plain text");
  cmd->callback([opts, &exitCode] {
    exitCode = 0;
    if (llvm::Error e = tokenize(*opts)) {
      reportError(std::move(e));
      exitCode = 1;
    }
  });
}
