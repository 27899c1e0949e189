//===- ChatSourceTest.cpp - where a chat template comes from --------------===//
#include "hybridc/Chat/ChatTemplateSource.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace hybridc;

namespace {

class ChatSource : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("hybridc-chat-source", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string write(llvm::StringRef name, llvm::StringRef text) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    llvm::sys::fs::create_directories(llvm::sys::path::parent_path(path));
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    os << text;
    return path.str().str();
  }

  /// A GGUF v3 file with string metadata and a token list, no tensors.
  std::string writeGguf(llvm::StringRef name,
                        const std::vector<std::pair<std::string, std::string>> &strings,
                        const std::vector<std::string> &tokens, uint32_t bos, uint32_t eos) {
    std::string b;
    auto u32 = [&](uint32_t v) { b.append(reinterpret_cast<const char *>(&v), 4); };
    auto u64 = [&](uint64_t v) { b.append(reinterpret_cast<const char *>(&v), 8); };
    auto str = [&](const std::string &s) { u64(s.size()); b += s; };
    b += "GGUF";
    u32(3);
    u64(0);
    u64(strings.size() + 3);
    for (const auto &kv : strings) {
      str(kv.first);
      u32(8);
      str(kv.second);
    }
    str("tokenizer.ggml.tokens");
    u32(9);
    u32(8);
    u64(tokens.size());
    for (const std::string &t : tokens)
      str(t);
    str("tokenizer.ggml.bos_token_id");
    u32(4);
    u32(bos);
    str("tokenizer.ggml.eos_token_id");
    u32(4);
    u32(eos);
    while (b.size() % 32)
      b += '\0';
    return write(name, b);
  }

  std::string error(llvm::StringRef source) {
    llvm::Expected<ChatTemplateSet> set = loadChatTemplates(source);
    if (set)
      return "(no error)";
    return llvm::toString(set.takeError());
  }

  llvm::SmallString<256> dir;
};

} // namespace

TEST_F(ChatSource, TokenizerConfigWithOneTemplate) {
  std::string path = write("tokenizer_config.json",
                           R"({"bos_token": {"content": "<s>", "lstrip": false},
                               "eos_token": "</s>", "chat_template": "{{ bos_token }}"})");
  llvm::Expected<ChatTemplateSet> set = loadChatTemplates(path);
  ASSERT_TRUE(bool(set)) << llvm::toString(set.takeError());
  ASSERT_EQ(set->templates.size(), 1u);
  EXPECT_EQ(set->templates[0].first, "default");
  EXPECT_EQ(set->bosToken.value_or(""), "<s>");
  EXPECT_EQ(set->eosToken.value_or(""), "</s>");
  // A model folder reads the same file.
  llvm::Expected<ChatTemplateSet> folder = loadChatTemplates(dir);
  ASSERT_TRUE(bool(folder)) << llvm::toString(folder.takeError());
  EXPECT_EQ(folder->templates[0].second, "{{ bos_token }}");
}

TEST_F(ChatSource, NamedTemplatesAndSelection) {
  std::string path = write("tokenizer_config.json",
                           R"({"chat_template": [{"name": "default", "template": "D"},
                                                 {"name": "tool_use", "template": "T"}]})");
  llvm::Expected<ChatTemplateSet> set = loadChatTemplates(path);
  ASSERT_TRUE(bool(set)) << llvm::toString(set.takeError());
  EXPECT_EQ(set->select(std::nullopt, false)->second, "D");
  EXPECT_EQ(set->select(std::nullopt, true)->second, "T"); // transformers' choice with tools
  EXPECT_EQ(set->select(std::string("tool_use"), false)->second, "T");
  llvm::Expected<std::pair<std::string, std::string>> bad = set->select(std::string("rag"), false);
  ASSERT_FALSE(bool(bad));
  std::string msg = llvm::toString(bad.takeError());
  EXPECT_NE(msg.find("no chat template named 'rag' (there are 'default', 'tool_use')"),
            std::string::npos)
      << msg;
}

TEST_F(ChatSource, JinjaFileAndFolderWithChatTemplateJinja) {
  std::string path = write("t.jinja", "{{ messages|length }}");
  llvm::Expected<ChatTemplateSet> set = loadChatTemplates(path);
  ASSERT_TRUE(bool(set));
  EXPECT_EQ(set->templates[0].second, "{{ messages|length }}");
  write("model/tokenizer_config.json", R"({"eos_token": "E", "chat_template": "old"})");
  write("model/chat_template.jinja", "new");
  llvm::Expected<ChatTemplateSet> model = loadChatTemplates((dir + "/model").str());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->select(std::nullopt, false)->second, "new");
  EXPECT_EQ(model->eosToken.value_or(""), "E");
}

TEST_F(ChatSource, GgufTemplatesAndSpecialTokens) {
  std::string path = writeGguf("m.gguf",
                               {{"general.architecture", "granitehybrid"},
                                {"tokenizer.chat_template", "G"},
                                {"tokenizer.chat_template.tool_use", "GT"}},
                               {"<|pad|>", "<|start|>", "<|end_of_text|>"}, 1, 2);
  llvm::Expected<ChatTemplateSet> set = loadChatTemplates(path);
  ASSERT_TRUE(bool(set)) << llvm::toString(set.takeError());
  ASSERT_EQ(set->templates.size(), 2u);
  EXPECT_EQ(set->select(std::nullopt, false)->second, "G");
  EXPECT_EQ(set->select(std::string("tool_use"), false)->second, "GT");
  EXPECT_EQ(set->bosToken.value_or(""), "<|start|>");
  EXPECT_EQ(set->eosToken.value_or(""), "<|end_of_text|>");
}

TEST_F(ChatSource, ErrorsNameTheSource) {
  EXPECT_NE(error(write("a/tokenizer_config.json", R"({"eos_token": "x"})"))
                .find("has no \"chat_template\""),
            std::string::npos);
  EXPECT_NE(error(write("b/tokenizer_config.json", R"({"chat_template": 3})"))
                .find("chat_template: expected a string or a list"),
            std::string::npos);
  EXPECT_NE(error(write("c/tokenizer_config.json", R"({"chat_template": [{"name": "x"}]})"))
                .find("chat_template[0]: expected {\"name\": string, \"template\": string}"),
            std::string::npos);
  EXPECT_NE(error(write("d/tokenizer_config.json", "{oops")).find("tokenizer_config.json: not JSON"),
            std::string::npos);
  write("out/model.weights", "");
  EXPECT_NE(error((dir + "/out").str()).find("not a template source"), std::string::npos);
  EXPECT_NE(error((dir + "/missing").str()).find("no such file or folder"), std::string::npos);
  std::string gguf = writeGguf("plain.gguf", {{"general.architecture", "x"}}, {"a"}, 0, 0);
  EXPECT_NE(error(gguf).find("has no tokenizer.chat_template"), std::string::npos);
}
