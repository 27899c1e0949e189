//===- ErrorTest.cpp - every kind of tokenizer file hybridc refuses -------===//
//
// Each test takes the sample tokenizer (tests/data/tokenizers/sample), breaks
// or changes one thing, and expects the reader's error to name the file and
// the field: a feature hybridc does not implement is refused, never turned
// into other ids.
//
//===----------------------------------------------------------------------===//
#include "TokenizerTestUtil.h"

#include "hybridc/runtime_abi.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <functional>

using namespace hybridc;
using namespace hybridc::test;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

namespace {

class TokenizerErrors : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> d;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("hybridc-tokenizer-errors", d));
    dir = std::string(d);
    auto buf = llvm::MemoryBuffer::getFile(tokenizerDataDir() + "/sample/tokenizer.json");
    ASSERT_TRUE(bool(buf));
    base = llvm::cantFail(llvm::json::parse((*buf)->getBuffer()));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string write(const std::string &name, const std::string &text) {
    std::string path = dir + "/" + name;
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec);
    out << text;
    return path;
  }
  /// The sample tokenizer with `edit` applied, as <dir>/tokenizer.json.
  std::string edited(const std::function<void(Object &)> &edit) {
    Value v = base;
    edit(*v.getAsObject());
    std::string text;
    llvm::raw_string_ostream os(text);
    os << v;
    return write("tokenizer.json", os.str());
  }
  /// Reading `path` (with `configPath`) fails with a message naming the
  /// file at fault and holding `needle`.
  void expectRefused(const std::string &path, const std::string &needle,
                     const std::string &configPath = "") {
    llvm::Expected<TokenizerSpec> spec = readTokenizerJson(path, configPath);
    ASSERT_FALSE(bool(spec)) << "accepted; expected an error mentioning: " << needle;
    std::string message = llvm::toString(spec.takeError());
    EXPECT_TRUE(message.find(path) != std::string::npos ||
                (!configPath.empty() && message.find(configPath) != std::string::npos))
        << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  }
  void expectRefused(const std::function<void(Object &)> &edit, const std::string &needle) {
    expectRefused(edited(edit), needle);
  }

  Object &preTokenizer(Object &root, size_t k) {
    return *(*root.getObject("pre_tokenizer")->getArray("pretokenizers"))[k].getAsObject();
  }
  Object &model(Object &root) { return *root.getObject("model"); }

  std::string dir;
  Value base = nullptr;
};

TEST_F(TokenizerErrors, TheBaseIsAccepted) {
  llvm::Expected<TokenizerSpec> spec = readTokenizerJson(edited([](Object &) {}), "");
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  EXPECT_EQ(spec->size(), 512);
}

TEST_F(TokenizerErrors, NotJson) {
  expectRefused(write("tokenizer.json", "{\"model\": "), "not valid JSON");
  expectRefused(write("array.json", "[1, 2]"), "expected a JSON object");
  llvm::Expected<TokenizerSpec> missing = readTokenizerJson(dir + "/missing.json", "");
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("cannot read"), std::string::npos);
}

TEST_F(TokenizerErrors, AnotherModelType) {
  expectRefused([&](Object &r) { model(r)["type"] = "WordPiece"; },
                "model.type: 'WordPiece' (hybridc implements BPE) is not supported");
  expectRefused([&](Object &r) { model(r)["type"] = "Unigram"; }, "'Unigram'");
}

TEST_F(TokenizerErrors, BpeOptionsHybridcDoesNotReproduce) {
  expectRefused([&](Object &r) { model(r)["dropout"] = 0.1; }, "model.dropout");
  expectRefused([&](Object &r) { model(r)["fuse_unk"] = true; }, "model.fuse_unk: true");
  expectRefused([&](Object &r) { model(r)["continuing_subword_prefix"] = "##"; },
                "model.continuing_subword_prefix: '##'");
  expectRefused([&](Object &r) { model(r)["end_of_word_suffix"] = "</w>"; },
                "model.end_of_word_suffix");
  expectRefused([&](Object &r) { r["truncation"] = Object{{"max_length", 8}}; },
                "truncation: a value other than null");
  expectRefused([&](Object &r) { r["padding"] = Object{{"strategy", "BatchLongest"}}; },
                "padding: a value other than null");
}

TEST_F(TokenizerErrors, Normalizers) {
  expectRefused([&](Object &r) { r["normalizer"] = Object{{"type", "NFC"}}; },
                "normalizer: type 'NFC'");
  expectRefused(
      [&](Object &r) {
        r["normalizer"] = Object{{"type", "Sequence"}, {"normalizers", Array{Object{{"type", "Lowercase"}}}}};
      },
      "normalizer: type 'Sequence'");
  // An empty sequence changes nothing, and is accepted.
  llvm::Expected<TokenizerSpec> empty = readTokenizerJson(
      edited([&](Object &r) { r["normalizer"] = Object{{"type", "Sequence"}, {"normalizers", Array{}}}; }),
      "");
  EXPECT_TRUE(bool(empty)) << llvm::toString(empty.takeError());
}

TEST_F(TokenizerErrors, PreTokenizers) {
  expectRefused([&](Object &r) { r["pre_tokenizer"] = nullptr; }, "pre_tokenizer: none");
  expectRefused([&](Object &r) { preTokenizer(r, 0) = Object{{"type", "Whitespace"}}; },
                "pre_tokenizer.pretokenizers[0]: type 'Whitespace' (supported: Sequence, Split, "
                "ByteLevel) is not supported");
  expectRefused([&](Object &r) { preTokenizer(r, 0) = Object{{"type", "Digits"}, {"individual_digits", true}}; },
                "type 'Digits'");
  expectRefused(
      [&](Object &r) { r.getObject("pre_tokenizer")->getArray("pretokenizers")->pop_back(); },
      "a pre-tokenizer without ByteLevel");
  expectRefused(
      [&](Object &r) {
        r.getObject("pre_tokenizer")->getArray("pretokenizers")->push_back(
            Object{{"type", "Split"}, {"pattern", Object{{"String", " "}}}, {"behavior", "Isolated"}});
      },
      "pre_tokenizer.pretokenizers[2]: a pre-tokenizer after ByteLevel");
}

TEST_F(TokenizerErrors, SplitBehaviours) {
  for (const char *b : {"MergedWithPrevious", "MergedWithNext", "Contiguous"})
    expectRefused([&](Object &r) { preTokenizer(r, 0)["behavior"] = b; },
                  std::string("Split behavior '") + b + "' with invert false");
  expectRefused([&](Object &r) { preTokenizer(r, 0)["invert"] = true; },
                "Split behavior 'Isolated' with invert true");
  expectRefused([&](Object &r) { preTokenizer(r, 0)["behavior"] = "Removed"; },
                "Split behavior 'Removed' with invert false");
  expectRefused([&](Object &r) { preTokenizer(r, 0)["pattern"] = Object{}; },
                "pre_tokenizer.pretokenizers[0].pattern: expected \"Regex\" or \"String\"");
}

TEST_F(TokenizerErrors, RegexConstructs) {
  const std::pair<const char *, const char *> cases[] = {
      {"\\w+", "the escape \\w at offset 0"},
      {"a\\b", "the escape \\b at offset 1"},
      {"^a", "the anchor ^"},
      {"a$", "the anchor $"},
      {"a++", "a possessive quantifier"},
      {"(?>ab)", "the group '(?>...'"},
      {"(?<n>a)", "the group '(?<...'"},
      {"(?i)ab", "the group '(?i...'"},
      {"(?i:[a-z])", "a character class inside (?i:...)"},
      {"[[:alpha:]]", "a nested class or POSIX bracket"},
      {"[a-z&&[^aeiou]]", "a class intersection"},
      {"\\p{Han}", "the property \\p{Han}"},
      {"\\1", "the escape \\1"},
      {"(ab", "an unclosed group"},
      {"ab)", "an unmatched ')'"},
      {"[ab", "an unterminated class"},
      {"*a", "a quantifier with nothing before it"},
  };
  for (const auto &[pattern, needle] : cases)
    expectRefused([&](Object &r) { preTokenizer(r, 0)["pattern"] = Object{{"Regex", pattern}}; },
                  std::string("pre_tokenizer.pretokenizers[0].pattern.Regex: pattern '") +
                      pattern + "': " + needle);
}

TEST_F(TokenizerErrors, Decoders) {
  expectRefused([&](Object &r) { r["decoder"] = Object{{"type", "WordPiece"}}; },
                "decoder: type 'WordPiece' (supported: ByteLevel)");
  expectRefused([&](Object &r) { r["decoder"] = nullptr; }, "a tokenizer without a ByteLevel decoder");
}

TEST_F(TokenizerErrors, PostProcessors) {
  expectRefused([&](Object &r) { r["post_processor"] = Object{{"type", "BertProcessing"}}; },
                "post_processor: type 'BertProcessing'");
  expectRefused(
      [&](Object &r) {
        (*r.getObject("post_processor")->getArray("single"))[1] =
            Object{{"Sequence", Object{{"id", "B"}, {"type_id", 0}}}};
      },
      "post_processor.single[1].Sequence.id: anything but \"A\"");
  expectRefused(
      [&](Object &r) {
        (*r.getObject("post_processor")->getArray("single"))[0] =
            Object{{"SpecialToken", Object{{"id", "<|nope|>"}, {"type_id", 0}}}};
      },
      "post_processor.single: special token '<|nope|>' is not a token");
  expectRefused(
      [&](Object &r) { r.getObject("post_processor")->getArray("single")->pop_back(); },
      "must hold the input sequence ($A) once");
}

TEST_F(TokenizerErrors, Vocabulary) {
  expectRefused([&](Object &r) { (*model(r).getObject("vocab"))["x"] = 5; }, "both have id 5");
  expectRefused([&](Object &r) { (*model(r).getObject("vocab"))["x"] = -1; }, "has id -1");
  expectRefused([&](Object &r) { (*model(r).getObject("vocab"))["x"] = "five"; },
                "model.vocab: 'x': expected an integer id");
  expectRefused([&](Object &r) { model(r)["vocab"] = Array{}; }, "model.vocab: expected an object");
}

// A vocabulary string with a character outside the byte-level alphabet is
// accepted (BPE never makes it) and decodes as tokenizers.js decodes it: the
// character becomes a 0 byte. (Found by the tokenizer_json fuzz target: such
// a string once left a half-made key behind.)
TEST_F(TokenizerErrors, VocabularyOutsideTheAlphabetIsKeptForDecoding) {
  llvm::Expected<TokenizerSpec> spec = readTokenizerJson(
      edited([&](Object &r) { (*model(r).getObject("vocab"))["x\xe2\x98\x83y"] = 600; }), "");
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  Engine e(serializeTokenizer(*spec));
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e.decode({600}), std::string("x\0y", 3));
  EXPECT_EQ(e.encode("x\xe2\x98\x83y", 0).size(), 5u) << "never one token";
}

TEST_F(TokenizerErrors, Merges) {
  expectRefused([&](Object &r) { (*model(r).getArray("merges"))[1] = "a b c"; },
                "model.merges[1]: 'a b c' is not two tokens separated by one space");
  expectRefused([&](Object &r) { (*model(r).getArray("merges"))[2] = "a"; },
                "model.merges[2]: 'a' is not two tokens");
  expectRefused([&](Object &r) { (*model(r).getArray("merges"))[3] = 7; },
                "model.merges[3]: expected \"left right\"");
  // A token, or the pair joined, missing from the vocabulary.
  expectRefused([&](Object &r) { (*model(r).getArray("merges"))[0] = "Ġ ☃"; },
                "model.merges[0] 'Ġ ☃': '☃' is not in model.vocab");
  expectRefused([&](Object &r) { (*model(r).getArray("merges"))[0] = "q z"; },
                "model.merges[0] 'q z': 'qz' is not in model.vocab");
  // The array form is accepted.
  llvm::Expected<TokenizerSpec> pairs = readTokenizerJson(edited([&](Object &r) {
                                                            Value &m = (*model(r).getArray("merges"))[0];
                                                            auto [a, b] = m.getAsString()->split(' ');
                                                            m = Array{a.str(), b.str()};
                                                          }),
                                                          "");
  EXPECT_TRUE(bool(pairs)) << llvm::toString(pairs.takeError());
}

TEST_F(TokenizerErrors, AddedTokens) {
  auto added = [](Object &r, size_t k) -> Object & {
    return *(*r.getArray("added_tokens"))[k].getAsObject();
  };
  expectRefused([&](Object &r) { added(r, 0)["single_word"] = true; },
                "added_tokens[0].single_word: true is not supported");
  expectRefused([&](Object &r) { added(r, 0)["content"] = ""; },
                "added_tokens[0]: the token's text is empty");
  expectRefused([&](Object &r) { added(r, 1)["content"] = "<|start_of_text|>"; },
                "added_tokens[1]: '<|start_of_text|>' is added twice");
  expectRefused([&](Object &r) { added(r, 1)["id"] = 508; }, "id 508 is given to two added tokens");
  expectRefused([&](Object &r) { added(r, 0)["id"] = 300; }, "would replace model.vocab entry");
  expectRefused([&](Object &r) { added(r, 0)["content"] = "t"; },
                "has the text of model.vocab entry");
  expectRefused([&](Object &r) { added(r, 0).erase("id"); }, "added_tokens[0].id: expected an integer");
}

TEST_F(TokenizerErrors, UnknownToken) {
  expectRefused([&](Object &r) { model(r)["unk_token"] = "<unk>"; },
                "model.unk_token: '<unk>' is not a token");
}

TEST_F(TokenizerErrors, ConfigTokens) {
  const std::string json = edited([](Object &) {});
  expectRefused(json, "bos_token in " + dir + "/config.json: '<|nope|>' is not a token",
                write("config.json", "{\"bos_token\": \"<|nope|>\"}"));
  expectRefused(json, "eos_token: expected a string",
                write("config.json", "{\"eos_token\": 5}"));
  llvm::Expected<TokenizerSpec> object = readTokenizerJson(
      json, write("config.json", "{\"eos_token\": {\"content\": \"<|end_of_text|>\"}}"));
  ASSERT_TRUE(bool(object)) << llvm::toString(object.takeError());
  EXPECT_EQ(object->eos, 509);
}

// A pattern the translation passes but PCRE2 refuses (a lookbehind of
// varying length): the runtime's own check says so, at compile time.
TEST_F(TokenizerErrors, PatternPcre2Refuses) {
  llvm::Expected<TokenizerSpec> spec = readTokenizerJson(
      edited([&](Object &r) { preTokenizer(r, 0)["pattern"] = Object{{"Regex", "(?<=a+)b"}}; }), "");
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  Engine engine(serializeTokenizer(*spec));
  EXPECT_FALSE(engine.ok());
  EXPECT_NE(engine.error().find("step 0: PCRE2 refuses its pattern at offset"), std::string::npos)
      << engine.error();
}

// Valid text a pattern needs much backtracking state for is tokenized, not
// refused: a repeated group over a long word outgrows PCRE2's default 32 KiB
// JIT stack (the engine then gives the call a larger one).
TEST_F(TokenizerErrors, LongMatchesAreNotRefused) {
  llvm::Expected<TokenizerSpec> spec = readTokenizerJson(
      edited([&](Object &r) {
        preTokenizer(r, 0)["pattern"] = Object{{"Regex", "(?:ab|ba)+|\\s+"}};
      }),
      "");
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  Engine engine(serializeTokenizer(*spec));
  ASSERT_TRUE(engine.ok()) << engine.error();
  std::string word;
  for (int i = 0; i < 200000; ++i)
    word += "ab";
  EXPECT_EQ(engine.decode(engine.encode(word, 0)), word);
}

// A folder without tokenizer.json has no tokenizer: no error.
TEST_F(TokenizerErrors, FolderWithoutTokenizer) {
  llvm::Expected<std::optional<TokenizerSpec>> none = readTokenizer(dir);
  ASSERT_TRUE(bool(none)) << llvm::toString(none.takeError());
  EXPECT_FALSE(none->has_value());
}

} // namespace
