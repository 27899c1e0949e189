//===- ChatTemplates.cpp - the chat templates stored with a tokenizer -----===//
//
// A library keeps the model's chat templates (Jinja text) in its tokenizer
// blob, checked when the model opens (TokenizerBlob.cpp); rendering them is
// the caller's business (hybridc's own engine, or Jinja2 itself), since the
// library stays libc-only.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "TextInternal.h"

#include <stdio.h>
#include <string.h>

extern "C" {

int32_t hybridc_rt_tokenizer_chat_template_count(const hybridc_rt_tokenizer *t) {
  return t ? t->header.num_chat_templates : 0;
}

const char *hybridc_rt_tokenizer_chat_template_name(const hybridc_rt_tokenizer *t,
                                                    int32_t index) {
  if (!t || index < 0 || index >= t->header.num_chat_templates)
    return NULL;
  return (const char *)t->strings + t->chat_templates[index].name_offset;
}

int hybridc_rt_tokenizer_chat_template(const hybridc_rt_tokenizer *t, const char *name,
                                       const char **text, int64_t *len) {
  if (!t)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "chat_template: tokenizer is NULL");
  if (!text || !len)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "chat_template: the text or length pointer is NULL");
  if (!name)
    name = "default";
  char names[512] = "";
  size_t used = 0;
  for (int32_t i = 0; i < t->header.num_chat_templates; ++i) {
    const hybridc_tokenizer_chat_template &c = t->chat_templates[i];
    const char *candidate = (const char *)t->strings + c.name_offset;
    if (strcmp(candidate, name) == 0) {
      *text = (const char *)t->strings + c.text_offset;
      *len = c.text_bytes;
      return HYBRIDC_OK;
    }
    int n = snprintf(names + used, sizeof names - used, "%s'%s'", i ? ", " : "", candidate);
    if (n > 0)
      used = used + (size_t)n < sizeof names ? used + (size_t)n : sizeof names - 1;
  }
  if (t->header.num_chat_templates == 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "chat_template: the model has no chat template (its tokenizer_config.json "
                           "or GGUF file had none; `hybridc compile --chat-template FILE` adds one)");
  return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                         "chat_template: no chat template named '%s' (the model has %s)", name,
                         names);
}

} // extern "C"
