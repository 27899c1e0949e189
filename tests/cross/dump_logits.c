/*===- dump_logits.c - a compiled library's logits, three ways -----------===*
 *
 * Built for the cross target (aarch64) and run under qemu by the e2e tests,
 * which cannot dlopen a foreign library themselves: this program loads one,
 * feeds it a token list three ways and writes every row of logits, which
 * the x86 test then compares with the C++ reference.
 *
 *   dump_logits LIB NAME WEIGHTS|- VOCAB CHUNK OUT_PREFIX TOKEN...
 *
 *   OUT_PREFIX.oneshot.f32   one prefill of all tokens, LOGITS_ALL
 *   OUT_PREFIX.chunked.f32   prefill calls of CHUNK tokens, LOGITS_ALL each
 *   OUT_PREFIX.stepwise.f32  the first token by prefill, then one decode each
 * each [n][VOCAB] f32, native byte order. The library's target goes to
 * stdout ("target: <name>"). WEIGHTS "-": the library's embedded weights.
 * Any failure prints the library's last error and exits non-zero.
 *
 *===--------------------------------------------------------------------===*/
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*open_fn)(const char *, void **);
typedef void (*close_fn)(void *);
typedef const char *(*target_fn)(const void *);
typedef int (*create_fn)(void *, void **);
typedef void (*free_fn)(void *);
typedef int (*threads_fn)(void *, int32_t);
typedef int (*prefill_fn)(void *, const int32_t *, int64_t, float *, int32_t);
typedef int (*decode_fn)(void *, int32_t, float *);
typedef const char *(*error_fn)(void);

static void *lib;
static const char *prefix;

static void *symbol(const char *suffix) {
  char name[256];
  snprintf(name, sizeof name, "%s_%s", prefix, suffix);
  void *p = dlsym(lib, name);
  if (!p) {
    fprintf(stderr, "dump_logits: %s not found: %s\n", name, dlerror());
    exit(2);
  }
  return p;
}

static void fail(const char *what) {
  error_fn last_error = (error_fn)symbol("last_error");
  fprintf(stderr, "dump_logits: %s failed: %s\n", what, last_error());
  exit(1);
}

static void write_rows(const char *out_prefix, const char *kind, const float *rows, int64_t n,
                       int64_t vocab) {
  char path[4096];
  snprintf(path, sizeof path, "%s.%s.f32", out_prefix, kind);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(rows, sizeof(float), (size_t)(n * vocab), f) != (size_t)(n * vocab) ||
      fclose(f) != 0) {
    fprintf(stderr, "dump_logits: cannot write %s\n", path);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: dump_logits LIB NAME WEIGHTS|- VOCAB CHUNK OUT_PREFIX TOKEN...\n");
    return 2;
  }
  lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dump_logits: %s\n", dlerror());
    return 2;
  }
  prefix = argv[2];
  const char *weights = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
  const int64_t vocab = atoll(argv[4]), chunk = atoll(argv[5]);
  const char *out_prefix = argv[6];
  const int64_t n = argc - 7;
  if (vocab <= 0 || chunk <= 0) {
    fprintf(stderr, "dump_logits: VOCAB and CHUNK must be positive\n");
    return 2;
  }
  int32_t *tokens = malloc(sizeof(int32_t) * (size_t)n);
  float *rows = malloc(sizeof(float) * (size_t)(n * vocab));
  if (!tokens || !rows)
    return 2;
  for (int64_t i = 0; i < n; ++i)
    tokens[i] = (int32_t)atoi(argv[7 + i]);

  void *model = NULL;
  if (((open_fn)symbol("model_open"))(weights, &model) != 0)
    fail("model_open");
  /* Two threads: the parallel loops and the pool are exercised as on x86. */
  if (((threads_fn)symbol("model_set_threads"))(model, 2) != 0)
    fail("model_set_threads");
  printf("target: %s\n", ((target_fn)symbol("model_target"))(model));
  create_fn create = (create_fn)symbol("session_create");
  free_fn session_free = (free_fn)symbol("session_free");
  prefill_fn prefill = (prefill_fn)symbol("prefill");
  decode_fn decode = (decode_fn)symbol("decode");
  enum { LOGITS_ALL = 1 };

  void *s = NULL;
  if (create(model, &s) != 0 || prefill(s, tokens, n, rows, LOGITS_ALL) != 0)
    fail("one-shot prefill");
  session_free(s);
  write_rows(out_prefix, "oneshot", rows, n, vocab);

  if (create(model, &s) != 0)
    fail("session_create");
  for (int64_t at = 0; at < n; at += chunk) {
    const int64_t len = n - at < chunk ? n - at : chunk;
    if (prefill(s, tokens + at, len, rows + at * vocab, LOGITS_ALL) != 0)
      fail("chunked prefill");
  }
  session_free(s);
  write_rows(out_prefix, "chunked", rows, n, vocab);

  if (create(model, &s) != 0 || prefill(s, tokens, 1, rows, LOGITS_ALL) != 0)
    fail("first-token prefill");
  for (int64_t i = 1; i < n; ++i)
    if (decode(s, tokens[i], rows + i * vocab) != 0)
      fail("decode");
  session_free(s);
  write_rows(out_prefix, "stepwise", rows, n, vocab);

  ((close_fn)symbol("model_close"))(model);
  free(rows);
  free(tokens);
  return 0;
}
