/*===- serve_streams.c - several streams at once with fork + decode_batch -===*
 *
 * A plain C program serving several conversations with one shared system
 * prompt through a library made by `hybridc compile`:
 *   1. prefill the system prompt once, in one session;
 *   2. fork it once per stream (a copy of its state, not a second prefill)
 *      and prefill each stream's own prompt on its fork;
 *   3. generate greedily for every stream at once with decode_batch, which
 *      reads each weight once per step for all streams.
 *
 * Build (for a model compiled with --name sample into OUT):
 *   cc -O2 -DHYBRIDC_MODEL=sample -I OUT serve_streams.c -L OUT -lsample \
 *      -Wl,-rpath,OUT -o serve_streams
 * Run:
 *   ./serve_streams OUT/sample.weights 16 "1 2 3 4" "5 6" "7" "8 9 10"
 * (generate 16 tokens for three streams whose prompts are the system prompt
 * "1 2 3 4" followed by "5 6", "7" and "8 9 10").
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef HYBRIDC_MODEL
#define HYBRIDC_MODEL sample
#endif
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

/* Parses the space-separated token ids in `text` into a new array. */
static int32_t *parse_tokens(const char *text, int64_t *n) {
  int32_t *ids = malloc(sizeof(int32_t) * 4096);
  *n = 0;
  char *end;
  for (long v = strtol(text, &end, 10); end != text && *n < 4096; v = strtol(text, &end, 10)) {
    ids[(*n)++] = (int32_t)v;
    text = end;
  }
  return ids;
}

static int fail(const char *what) {
  fprintf(stderr, "error: %s: %s\n", what, API(last_error)());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s WEIGHTS N_GENERATE SYSTEM_TOKENS STREAM_TOKENS...\n", argv[0]);
    return 2;
  }
  const int n_generate = atoi(argv[2]);
  const int n_streams = argc - 4;
  API(model) *model = NULL;
  API(session) *system = NULL;
  if (API(model_open)(argv[1], &model) != 0 || API(session_create)(model, &system) != 0)
    return fail("open");
  const int64_t vocab = API(vocab_size);

  int64_t n_system;
  int32_t *system_tokens = parse_tokens(argv[3], &n_system);
  double t0 = now();
  if (n_system > 0 && API(prefill)(system, system_tokens, n_system, NULL, 0) != 0)
    return fail("prefill of the system prompt");

  API(session) **streams = malloc(sizeof *streams * n_streams);
  float *logits = malloc(sizeof(float) * vocab * n_streams);
  int32_t *next = malloc(sizeof(int32_t) * n_streams);
  int32_t *generated = malloc(sizeof(int32_t) * n_streams * (n_generate > 0 ? n_generate : 1));
  for (int i = 0; i < n_streams; ++i) {
    int64_t n;
    int32_t *own = parse_tokens(argv[4 + i], &n);
    if (API(session_fork)(system, &streams[i]) != 0)
      return fail("fork");
    if (n == 0) {
      fprintf(stderr, "error: stream %d has no tokens of its own\n", i);
      return 2;
    }
    if (API(prefill)(streams[i], own, n, logits + i * vocab, 0) != 0)
      return fail("prefill of a stream's prompt");
    next[i] = argmax(logits + i * vocab, vocab);
    free(own);
  }
  double t1 = now();

  for (int step = 0; step < n_generate; ++step) {
    for (int i = 0; i < n_streams; ++i)
      generated[i * n_generate + step] = next[i];
    if (API(decode_batch)(streams, next, n_streams, logits) != 0)
      return fail("decode_batch");
    for (int i = 0; i < n_streams; ++i)
      next[i] = argmax(logits + i * vocab, vocab);
  }
  double t2 = now();

  printf("system prompt: %lld tokens, shared by %d streams (prompts in %.3f s)\n",
         (long long)n_system, n_streams, t1 - t0);
  for (int i = 0; i < n_streams; ++i) {
    printf("stream %d tokens:", i);
    for (int step = 0; step < n_generate; ++step)
      printf(" %d", generated[i * n_generate + step]);
    printf("\n");
  }
  printf("generated %d tokens per stream in %.3f s (%.1f tokens/s over all streams)\n",
         n_generate, t2 - t1,
         n_generate > 0 ? (double)n_generate * n_streams / (t2 - t1) : 0.0);
  for (int i = 0; i < n_streams; ++i)
    API(session_free)(streams[i]);
  API(session_free)(system);
  API(model_close)(model);
  free(streams);
  free(logits);
  free(next);
  free(generated);
  free(system_tokens);
  return 0;
}
