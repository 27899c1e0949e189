/*===- stream_tokens.c - stream tokens through a hybridc-compiled model ---===*
 *
 * A plain C program that links a library made by `hybridc compile` through
 * its generated header: open the model, prefill a prompt, then decode one
 * token at a time (greedy), printing each token as it is produced.
 *
 * Build (for a model compiled with --name sample into OUT):
 *   cc -O2 -DHYBRIDC_MODEL=sample -I OUT stream_tokens.c -L OUT -lsample \
 *      -Wl,-rpath,OUT -o stream_tokens
 * Run:
 *   ./stream_tokens OUT/sample.weights 32 1 2 3 4     (generate 32 after 1 2 3 4)
 *===----------------------------------------------------------------------===*/
/* clock_gettime under strict -std=c99 / c11 as well. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef HYBRIDC_MODEL
#define HYBRIDC_MODEL sample
#endif
/* The model's prefix: sample_prefill, sample_decode, ... */
#define HYBRIDC_CAT_(a, b) a##_##b
#define HYBRIDC_CAT(a, b) HYBRIDC_CAT_(a, b)
#define API(fn) HYBRIDC_CAT(HYBRIDC_MODEL, fn)
#define HYBRIDC_STR_(x) #x
#define HYBRIDC_STR(x) HYBRIDC_STR_(x)
#include HYBRIDC_STR(HYBRIDC_MODEL.h)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int32_t argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best])
      best = i;
  return (int32_t)best;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s WEIGHTS N_GENERATE TOKEN...\n", argv[0]);
    return 2;
  }
  const char *weights = argv[1];
  int n_generate = atoi(argv[2]);
  int64_t n_prompt = argc - 3;
  int32_t *prompt = malloc(sizeof(int32_t) * n_prompt);
  for (int64_t i = 0; i < n_prompt; ++i)
    prompt[i] = (int32_t)atoi(argv[3 + i]);

  API(model) *model = NULL;
  API(session) *session = NULL;
  if (API(model_open)(weights, &model) != 0 || API(session_create)(model, &session) != 0) {
    fprintf(stderr, "error: %s\n", API(last_error)());
    return 1;
  }
  const int64_t vocab = API(vocab_size);
  float *logits = malloc(sizeof(float) * vocab);

  double t0 = now();
  if (API(prefill)(session, prompt, n_prompt, logits, 0 /* last position only */) != 0) {
    fprintf(stderr, "error: %s\n", API(last_error)());
    return 1;
  }
  double t1 = now();
  printf("prompt: %lld tokens in %.3f s\ntokens:", (long long)n_prompt, t1 - t0);
  fflush(stdout);
  for (int i = 0; i < n_generate; ++i) {
    int32_t next = argmax(logits, vocab);
    printf(" %d", next);
    fflush(stdout); /* stream: show each token as soon as it exists */
    if (API(decode)(session, next, logits) != 0) {
      fprintf(stderr, "\nerror: %s\n", API(last_error)());
      return 1;
    }
  }
  double t2 = now();
  printf("\ngenerated %d tokens in %.3f s (%.1f tokens/s); session state %lld bytes at "
         "position %lld\n",
         n_generate, t2 - t1, n_generate > 0 ? n_generate / (t2 - t1) : 0.0,
         (long long)API(session_state_bytes)(session), (long long)API(session_position)(session));
  API(session_free)(session);
  API(model_close)(model);
  free(logits);
  free(prompt);
  return 0;
}
