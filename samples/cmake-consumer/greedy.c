/*===- greedy.c - a program built against a model by hybridc_add_model ---===*
 *
 * The CMake target `chat_model` gives this file chat.h on its include path,
 * libchat.so to link and CHAT_WEIGHTS_PATH, the weights file's path.
 * Usage: greedy N_GENERATE TOKEN...   (prints the prompt's greedy continuation)
 *===----------------------------------------------------------------------===*/
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>

static int32_t argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best])
      best = i;
  return (int32_t)best;
}

static int fail(void) {
  fprintf(stderr, "error: %s\n", chat_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s N_GENERATE TOKEN...\n", argv[0]);
    return 2;
  }
  const int n_generate = atoi(argv[1]);
  const int64_t n_prompt = argc - 2;
  int32_t *prompt = malloc(sizeof(int32_t) * (size_t)n_prompt);
  float *logits = malloc(sizeof(float) * chat_vocab_size);
  if (!prompt || !logits)
    return 1;
  for (int64_t i = 0; i < n_prompt; ++i)
    prompt[i] = (int32_t)atoi(argv[2 + i]);

  chat_model *model = NULL;
  chat_session *session = NULL;
  if (chat_model_open(CHAT_WEIGHTS_PATH, &model) != CHAT_OK ||
      chat_session_create(model, &session) != CHAT_OK)
    return fail();
  if (chat_prefill(session, prompt, n_prompt, logits, 0) != CHAT_OK)
    return fail();
  printf("target %s\ntokens:", chat_model_target(model));
  for (int i = 0; i < n_generate; ++i) {
    const int32_t next = argmax(logits, chat_vocab_size);
    printf(" %d", next);
    if (chat_decode(session, next, logits) != CHAT_OK)
      return fail();
  }
  printf("\n");
  chat_session_free(session);
  chat_model_close(model);
  free(logits);
  free(prompt);
  return 0;
}
