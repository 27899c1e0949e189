//===- ModelText.cpp - a model's tokenizer and its P_* text functions -----===//
//
// model_open opens the tokenizer blob the library embeds (none when it was
// compiled without one); the public text functions of the generated API
// forward here, with an error naming the model when it has no tokenizer.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "TextInternal.h"

#include <stdio.h>

extern "C" {

// ---- Model level: what the public P_* text functions forward to --------------------

static int model_tokenizer(const hybridc_model *m, const char *fn,
                           const hybridc_rt_tokenizer **out) {
  if (!m)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  if (!m->tokenizer)
    return hybridc_rt_fail(HYBRIDC_ERR_NO_TOKENIZER,
                           "%s: model '%s' was compiled without a tokenizer (its folder had no "
                           "tokenizer.json, or `hybridc compile --no-tokenizer`); it takes "
                           "and returns token ids only",
                           fn, m->desc->name ? m->desc->name : "(unnamed)");
  *out = m->tokenizer;
  return HYBRIDC_OK;
}

int hybridc_rt_tokenize(const hybridc_model *m, const char *text, int64_t len, int32_t flags,
                        int32_t *ids, int64_t capacity, int64_t *n_ids) {
  const hybridc_rt_tokenizer *t = NULL;
  int status = model_tokenizer(m, "tokenize", &t);
  return status != HYBRIDC_OK ? status
                              : hybridc_rt_tokenizer_encode(t, text, len, flags, ids, capacity, n_ids);
}

int hybridc_rt_detokenize(const hybridc_model *m, const int32_t *ids, int64_t n, char *buf,
                          int64_t capacity, int64_t *len) {
  const hybridc_rt_tokenizer *t = NULL;
  int status = model_tokenizer(m, "detokenize", &t);
  return status != HYBRIDC_OK ? status : hybridc_rt_tokenizer_decode(t, ids, n, buf, capacity, len);
}

int hybridc_rt_token_piece(const hybridc_model *m, int32_t id, char *buf, int64_t capacity,
                           int64_t *len) {
  const hybridc_rt_tokenizer *t = NULL;
  int status = model_tokenizer(m, "token_piece", &t);
  return status != HYBRIDC_OK ? status : hybridc_rt_tokenizer_piece(t, id, buf, capacity, len);
}

int hybridc_rt_chat_template(const hybridc_model *m, const char *name, const char **text,
                             int64_t *len) {
  const hybridc_rt_tokenizer *t = NULL;
  int status = model_tokenizer(m, "chat_template", &t);
  return status != HYBRIDC_OK ? status : hybridc_rt_tokenizer_chat_template(t, name, text, len);
}

int32_t hybridc_rt_chat_template_count(const hybridc_model *m) {
  return m ? hybridc_rt_tokenizer_chat_template_count(m->tokenizer) : 0;
}

const char *hybridc_rt_chat_template_name(const hybridc_model *m, int32_t index) {
  return m ? hybridc_rt_tokenizer_chat_template_name(m->tokenizer, index) : NULL;
}

int32_t hybridc_rt_token_bos(const hybridc_model *m) {
  return m ? hybridc_rt_tokenizer_bos(m->tokenizer) : -1;
}

int32_t hybridc_rt_token_eos(const hybridc_model *m) {
  return m ? hybridc_rt_tokenizer_eos(m->tokenizer) : -1;
}

} // extern "C"

int hybridc_rt_model_open_tokenizer(hybridc_model *m) {
  const hybridc_model_desc *d = m->desc;
  m->tokenizer = NULL;
  if (!d->tokenizer && d->tokenizer_bytes == 0)
    return HYBRIDC_OK; // compiled without one
  hybridc_rt_tokenizer *t = NULL;
  int status = hybridc_rt_tokenizer_open(d->tokenizer, d->tokenizer_bytes, d->vocab_size, &t);
  if (status != HYBRIDC_OK) {
    char detail[256];
    snprintf(detail, sizeof detail, "%s", hybridc_rt_last_error());
    return hybridc_rt_fail(status, "model_open: the tokenizer in model '%s' is refused: %s",
                           d->name ? d->name : "(unnamed)", detail);
  }
  m->tokenizer = t;
  return HYBRIDC_OK;
}

void hybridc_rt_model_close_tokenizer(hybridc_model *m) {
  hybridc_rt_tokenizer_free(m->tokenizer);
  m->tokenizer = NULL;
}
