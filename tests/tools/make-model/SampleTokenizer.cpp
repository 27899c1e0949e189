//===- SampleTokenizer.cpp - a small byte-level BPE tokenizer for samples -===//
//
// Merges are learned the classic way: split the text into words (a letter
// run with the space before it, a digit run, a punctuation run, a space
// run), count adjacent symbol pairs over all words, merge the most frequent
// pair (ties: the lowest ids), repeat while a pair occurs twice and the
// vocabulary has room. Everything is ordered, so the files are the same on
// every machine.
//
//===----------------------------------------------------------------------===//
#include "SampleTokenizer.h"

#include <cctype>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

namespace hybridc::sample {
namespace {

// The training text: written for this sample, plain English with some
// numbers and punctuation.
const char kTrainingText[] = R"(
The harbour town woke slowly. Fishing boats came in with the tide, the bakery
opened its shutters at six, and by seven the market square was full of voices.
People talked about the weather, the price of bread, the ferry that was late
again, and the new bridge that the council had promised for years.

On the hill above the town stood an old workshop. Its owner repaired clocks,
radios and, lately, small computers that people brought in paper bags. She
liked machines that could explain themselves: a clock shows its gears, a radio
its valves. The computers were different. They took in words and gave back
words, and nobody could say exactly what happened in between.

One evening a student came to the workshop with a question. "How does the
machine read a sentence?" she asked. The owner thought for a while. "It does
not read the way we do," she said. "First it cuts the text into pieces. Common
words stay whole, rare words are broken into parts, and every piece gets a
number. The machine only ever sees the numbers."

"And when it answers?" asked the student.

"Then it works backwards. It predicts one number at a time, turns each number
into its piece of text, and joins the pieces together. If you watch closely,
you can see the words arrive one after another, like boats coming into the
harbour."

The student wrote this down in her notebook. Later she counted the pieces in
a page of her own writing: 412 words became 519 pieces. Short words such as
the, and, of, to and in were single pieces. Long words were split: the word
"understanding" became "under" and "standing", and her own name became three
small pieces that meant nothing on their own.

In the spring the council finally built the bridge. It had 3 arches, 120
metres of stone and a path for bicycles. On the first morning, children ran
across it and back again, and the old men on the harbour wall agreed that it
was better than they had expected. The ferry kept running anyway, because some
people simply liked the slow crossing, the gulls, and the smell of the sea.

The workshop is still there. The clocks still tick, the radios still hum, and
on the shelf by the window there is a small computer that, when you ask it a
question, answers with one word after another, slowly, as if it were thinking.
)";

constexpr int64_t kAddedTokens = 4;

bool isLetter(unsigned char c) { return std::isalpha(c) || c >= 0x80; }

// Words of the training text, counted.
std::map<std::string, int64_t> countWords(const std::string &text) {
  std::map<std::string, int64_t> words;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    const unsigned char c = text[i];
    if ((c == ' ' && i + 1 < text.size() && isLetter(text[i + 1])) || isLetter(c)) {
      ++i;
      while (i < text.size() && isLetter(text[i]))
        ++i;
    } else if (std::isdigit(c)) {
      while (i < text.size() && i - start < 3 && std::isdigit(static_cast<unsigned char>(text[i])))
        ++i;
    } else if (std::isspace(c)) {
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
    } else {
      while (i < text.size() && std::ispunct(static_cast<unsigned char>(text[i])))
        ++i;
    }
    ++words[text.substr(start, i - start)];
  }
  return words;
}

// GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves,
// the others for U+0100 onwards in byte order.
std::string byteLevel(const std::string &bytes) {
  std::string out;
  for (unsigned char b : bytes) {
    uint32_t c = b;
    if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)) {
      c = 256;
      for (int k = 0; k < b; ++k)
        if (!((k >= 0x21 && k <= 0x7E) || (k >= 0xA1 && k <= 0xAC) || k >= 0xAE))
          ++c;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

// A JSON string literal of UTF-8 text.
std::string quote(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

} // namespace

SampleTokenizerFiles makeSampleTokenizer(int64_t vocabSize) {
  if (vocabSize < 256 + kAddedTokens)
    throw std::invalid_argument("the sample tokenizer needs a vocab_size of at least " +
                                std::to_string(256 + kAddedTokens));
  // Learn merges.
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b)
    tokens.push_back(std::string(1, static_cast<char>(b)));
  std::map<std::string, int32_t> idOf;
  for (int b = 0; b < 256; ++b)
    idOf[tokens[b]] = b;
  std::vector<std::pair<std::vector<int32_t>, int64_t>> words;
  for (const auto &[w, n] : countWords(kTrainingText)) {
    std::vector<int32_t> symbols;
    for (unsigned char c : w)
      symbols.push_back(c);
    words.push_back({symbols, n});
  }
  const int64_t learnable = vocabSize - 256 - kAddedTokens;
  std::vector<std::pair<int32_t, int32_t>> merges;
  while (static_cast<int64_t>(tokens.size()) - 256 < learnable) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pairs;
    for (const auto &[symbols, n] : words)
      for (size_t k = 0; k + 1 < symbols.size(); ++k)
        pairs[{symbols[k], symbols[k + 1]}] += n;
    std::pair<int32_t, int32_t> best{-1, -1};
    int64_t bestCount = 1;
    for (const auto &[pair, n] : pairs) // in id order: the first maximum wins ties
      if (n > bestCount) {
        best = pair;
        bestCount = n;
      }
    if (best.first < 0)
      break; // no pair occurs twice
    const std::string joined = tokens[best.first] + tokens[best.second];
    int32_t id;
    auto it = idOf.find(joined);
    if (it != idOf.end()) {
      id = it->second;
    } else {
      id = static_cast<int32_t>(tokens.size());
      tokens.push_back(joined);
      idOf[joined] = id;
    }
    merges.push_back(best);
    for (auto &[symbols, n] : words) {
      std::vector<int32_t> merged;
      for (size_t k = 0; k < symbols.size(); ++k) {
        if (k + 1 < symbols.size() && symbols[k] == best.first && symbols[k + 1] == best.second) {
          merged.push_back(id);
          ++k;
        } else {
          merged.push_back(symbols[k]);
        }
      }
      symbols = std::move(merged);
    }
  }

  // The added tokens take the top ids, as Granite's do; the ids between the
  // learned tokens and them name no token.
  struct Added {
    const char *text;
    bool special, strip;
  };
  const Added added[kAddedTokens] = {{"<|start_of_text|>", true, false},
                                     {"<|end_of_text|>", true, false},
                                     {"<|mask|>", true, true},
                                     {"<tool_call>", false, false}};
  const int64_t firstAdded = vocabSize - kAddedTokens;
  SampleTokenizerFiles files;
  files.bosId = firstAdded;
  files.eosId = firstAdded + 1;
  files.merges = static_cast<int64_t>(merges.size());

  std::string j = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
  j += "  \"added_tokens\": [\n";
  for (int64_t k = 0; k < kAddedTokens; ++k) {
    const Added &a = added[k];
    j += "    {\"id\": " + std::to_string(firstAdded + k) + ", \"content\": " + quote(a.text) +
         ", \"single_word\": false, \"lstrip\": " + (a.strip ? "true" : "false") +
         ", \"rstrip\": " + (a.strip ? "true" : "false") + ", \"normalized\": false, " +
         "\"special\": " + (a.special ? "true" : "false") + "}" +
         (k + 1 < kAddedTokens ? ",\n" : "\n");
  }
  j += "  ],\n  \"normalizer\": null,\n";
  j += "  \"pre_tokenizer\": {\n    \"type\": \"Sequence\",\n    \"pretokenizers\": [\n"
       "      {\"type\": \"Split\", \"pattern\": {\"Regex\": " +
       quote("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
             "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") +
       "}, \"behavior\": \"Isolated\", \"invert\": false},\n"
       "      {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
       "\"use_regex\": false}\n    ]\n  },\n";
  j += "  \"post_processor\": {\n    \"type\": \"TemplateProcessing\",\n"
       "    \"single\": [{\"SpecialToken\": {\"id\": \"<|start_of_text|>\", \"type_id\": 0}}, "
       "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],\n"
       "    \"pair\": [{\"SpecialToken\": {\"id\": \"<|start_of_text|>\", \"type_id\": 0}}, "
       "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"B\", "
       "\"type_id\": 1}}],\n"
       "    \"special_tokens\": {\"<|start_of_text|>\": {\"id\": \"<|start_of_text|>\", \"ids\": [" +
       std::to_string(firstAdded) + "], \"tokens\": [\"<|start_of_text|>\"]}}\n  },\n";
  j += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": "
       "true, \"use_regex\": true},\n";
  j += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
       "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n"
       "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n"
       "    \"vocab\": {\n";
  for (size_t id = 0; id < tokens.size(); ++id)
    j += "      " + quote(byteLevel(tokens[id])) + ": " + std::to_string(id) +
         (id + 1 < tokens.size() ? ",\n" : "\n");
  j += "    },\n    \"merges\": [\n";
  for (size_t k = 0; k < merges.size(); ++k)
    j += "      " + quote(byteLevel(tokens[merges[k].first]) + " " +
                          byteLevel(tokens[merges[k].second])) +
         (k + 1 < merges.size() ? ",\n" : "\n");
  j += "    ]\n  }\n}\n";
  files.tokenizerJson = std::move(j);
  files.tokenizerConfigJson = "{\n  \"bos_token\": \"<|start_of_text|>\",\n"
                              "  \"eos_token\": \"<|end_of_text|>\",\n"
                              "  \"clean_up_tokenization_spaces\": false,\n"
                              "  \"model_max_length\": 131072,\n"
                              "  \"tokenizer_class\": \"PreTrainedTokenizerFast\"\n}\n";
  return files;
}

} // namespace hybridc::sample
