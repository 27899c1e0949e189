//===- RegexTest.cpp - Split patterns as PCRE2 runs them -----------------===//
//
// The translation of tokenizer.json's Oniguruma patterns, checked on its
// text (each rewrite the reference's semantics need) and on what PCRE2 then
// matches where the engines would disagree: U+180E is not \s for the
// reference, 'ſ is not (?i:'s), U+0085 is \s.
//
//===----------------------------------------------------------------------===//
#include "TokenizerTestUtil.h"

#include "hybridc/runtime_abi.h"

#include <gtest/gtest.h>

using namespace hybridc;
using namespace hybridc::test;

namespace {

std::string translated(llvm::StringRef pattern) {
  llvm::Expected<std::string> t = translateSplitPattern(pattern);
  if (!t)
    return "error: " + llvm::toString(t.takeError());
  return *t;
}

TEST(SplitPattern, Rewrites) {
  EXPECT_EQ(translated("\\s+"), "\\p{White_Space}+");
  EXPECT_EQ(translated("[^\\s\\p{L}]"), "[^\\p{White_Space}\\p{L}]");
  EXPECT_EQ(translated("\\S|\\d|\\D"), "\\P{White_Space}|\\p{Nd}|\\P{Nd}");
  EXPECT_EQ(translated("(?i:'s|'ll)"), "(?:'[sS]|'[lL][lL])");
  EXPECT_EQ(translated("(?i:a(b)c)d"), "(?:[aA]([bB])[cC])d");
  EXPECT_EQ(translated("a.b"), "a[^\\n]b");
  EXPECT_EQ(translated("\\p{N}{1,3}x{,2}y{2,}"), "\\p{N}{1,3}x{0,2}y{2,}");
  EXPECT_EQ(translated("a{b"), "a\\{b");
  EXPECT_EQ(translated("\\v\\x41\\x{1F600}\\u00e9"), "\\x0B\\x{41}\\x{1F600}\\x{00e9}");
  EXPECT_EQ(translated("\\.\\-\\'"), "\\.\\-\\'");
  EXPECT_EQ(translated("a+?b*?"), "a+?b*?");
  EXPECT_EQ(translated("(?=a)(?!b)(?<=c)(?<!d)"), "(?=a)(?!b)(?<=c)(?<!d)");
}

// The cl100k pattern, as Granite 4.0, GPT-4 and Llama 3 spell it.
TEST(SplitPattern, Cl100k) {
  EXPECT_EQ(translated("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                       "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
            "\\p{N}{1,3}| ?[^\\p{White_Space}\\p{L}\\p{N}]+[\\r\\n]*|\\p{White_Space}*[\\r\\n]+|"
            "\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+");
}

// Where PCRE2's own reading would differ from the reference's, the ids
// show which one ran. Expected ids from tokenizers.js (gpt35turbo).
TEST(SplitPattern, WhereTheEnginesDiffer) {
  const Engine &e = engineFor("gpt35turbo");
  // 'ſ: (?i:'s) would take it in PCRE2's Unicode folding; the reference
  // reads ' then the letter.
  EXPECT_EQ(e.encode("a'\xc5\xbf", HYBRIDC_TOKENIZE_PARSE_SPECIAL),
            (std::vector<int32_t>{64, 6, 129, 123}));
  // U+180E is not White_Space (PCRE2's \s would take it).
  EXPECT_EQ(e.encode("a\xe1\xa0\x8e b", HYBRIDC_TOKENIZE_PARSE_SPECIAL),
            (std::vector<int32_t>{64, 157, 254, 236, 293}));
}

} // namespace
