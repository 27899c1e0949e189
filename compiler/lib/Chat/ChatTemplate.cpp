//===- ChatTemplate.cpp - parse and render a chat template ----------------===//
#include "hybridc/Chat/ChatTemplate.h"
#include "hybridc/Support/Error.h"

#include "JinjaAst.h"
#include "JinjaEval.h"
#include "JinjaLexer.h"
#include "JinjaParser.h"
#include "PythonText.h"

using namespace hybridc;
using namespace hybridc::jinja;

namespace {
llvm::Error placeError(const Program &p, const SourceError &e) {
  size_t line, column;
  lineAndColumn(p.source, e.offset, line, column);
  return makeError("chat template '" + p.name + "': line " + llvm::Twine(line) + ", column " +
                   llvm::Twine(column) + ": " + e.message);
}
} // namespace

llvm::Expected<ChatTemplate> ChatTemplate::parse(std::string source, std::string name) {
  auto program = std::make_shared<Program>();
  program->name = std::move(name);
  if (!py::isValidUtf8(source))
    return makeError("chat template '" + program->name + "': not valid UTF-8");
  program->source = normalizeSource(source);
  std::vector<Token> tokens;
  SourceError error;
  if (!lexTemplate(program->source, tokens, error) ||
      !parseTemplate(tokens, program->body, error))
    return placeError(*program, error);
  ChatTemplate t;
  t.program_ = std::move(program);
  return t;
}

llvm::Expected<std::string> ChatTemplate::render(const JinjaValue &context,
                                                 const RenderLimits &limits) const {
  if (!context.isDict())
    return makeError("chat template '" + program_->name + "': the context must be a dict");
  Evaluator ev(program_, limits);
  std::string out;
  SourceError error;
  if (!ev.render(context, out, error))
    return placeError(*program_, error);
  return out;
}

const std::string &ChatTemplate::name() const { return program_->name; }

llvm::Expected<JinjaValue> hybridc::buildChatContext(const ChatInputs &in) {
  if (!in.messages.isList() || in.messages.seq() != JinjaValue::Seq::List)
    return makeError("messages: expected a JSON array of messages, got " +
                     (in.messages.isDict() ? std::string("an object") : typeName(in.messages)));
  const ValueList &messages = in.messages.getList();
  for (size_t i = 0; i < messages.size(); ++i) {
    const JinjaValue &m = messages[i];
    std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.isDict())
      return makeError(where + ": expected an object with \"role\" and \"content\", got " +
                       typeName(m));
    const JinjaValue *role = m.getDict().find("role");
    if (!role)
      return makeError(where + ": no \"role\"");
    if (!role->isString())
      return makeError(where + ".role: expected a string, got " + typeName(*role));
    if (const JinjaValue *content = m.getDict().find("content"))
      if (!content->isString() && !content->isList() && !content->isNone())
        return makeError(where + ".content: expected a string, a list of parts or null, got " +
                         typeName(*content));
  }
  JinjaDict ctx;
  ctx.set(JinjaValue::string("messages"), in.messages);
  if (in.tools) {
    if (!in.tools->isList() || in.tools->seq() != JinjaValue::Seq::List)
      return makeError("tools: expected a JSON array of tools, got " + typeName(*in.tools));
    const ValueList &tools = in.tools->getList();
    for (size_t i = 0; i < tools.size(); ++i)
      if (!tools[i].isDict())
        return makeError("tools[" + std::to_string(i) + "]: expected an object, got " +
                         typeName(tools[i]));
    ctx.set(JinjaValue::string("tools"), *in.tools);
  } else {
    ctx.set(JinjaValue::string("tools"), JinjaValue::none());
  }
  ctx.set(JinjaValue::string("documents"), JinjaValue::none());
  ctx.set(JinjaValue::string("add_generation_prompt"),
          JinjaValue::boolean(in.addGenerationPrompt));
  if (in.bosToken)
    ctx.set(JinjaValue::string("bos_token"), JinjaValue::string(*in.bosToken));
  if (in.eosToken)
    ctx.set(JinjaValue::string("eos_token"), JinjaValue::string(*in.eosToken));
  for (const auto &kv : in.extra)
    ctx.set(JinjaValue::string(kv.first), kv.second);
  return JinjaValue::dict(std::move(ctx));
}
