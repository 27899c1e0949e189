/*===- stream_text.c - text in, text out through a hybridc-compiled model -===*
 *
 * A plain C program that links a library made by `hybridc compile` through
 * its generated header: tokenize a prompt with the model's own tokenizer,
 * prefill it, then sample one token at a time and print the text of each as
 * soon as it makes whole UTF-8 characters, until the end-of-text token.
 *
 * Build (for a model compiled with --name sample into OUT):
 *   cc -O2 -DHYBRIDC_MODEL=sample -I OUT stream_text.c -L OUT -lsample \
 *      -Wl,-rpath,OUT -o stream_text
 * Run:
 *   ./stream_text OUT/sample.weights 32 "The harbour town"          (greedy)
 *   ./stream_text OUT/sample.weights 32 "The harbour town" 0.8 42   (temperature, seed)
 * The continuation goes to stdout; the prompt's size, the generated ids and
 * the speed to stderr.
 *===----------------------------------------------------------------------===*/
/* clock_gettime under strict -std=c99 / c11 as well. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef HYBRIDC_MODEL
#define HYBRIDC_MODEL sample
#endif
/* The model's prefix: sample_tokenize, sample_prefill, ... */
#define HYBRIDC_CAT_(a, b) a##_##b
#define HYBRIDC_CAT(a, b) HYBRIDC_CAT_(a, b)
#define API(fn) HYBRIDC_CAT(HYBRIDC_MODEL, fn)
#define HYBRIDC_STR_(x) #x
#define HYBRIDC_STR(x) HYBRIDC_STR_(x)
#include HYBRIDC_STR(HYBRIDC_MODEL.h)

/* The values of <PREFIX>_TOKENIZE_ADD_SPECIAL, _PARSE_SPECIAL and
 * _ERR_CAPACITY, the same in every hybridc library (the upper-case prefix
 * cannot be spelled from HYBRIDC_MODEL). */
enum { ADD_SPECIAL = 1, PARSE_SPECIAL = 2, ERR_CAPACITY = 5 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int fail(const char *what) {
  fprintf(stderr, "\nerror: %s: %s\n", what, API(last_error)());
  return 1;
}

/* Bytes at the end of buf[0..n) that start a UTF-8 character whose other
 * bytes have not arrived yet (0 to 3). A byte that no continuation could
 * complete counts as finished: detokenize prints it as U+FFFD. */
static size_t unfinished_tail(const char *buf, size_t n) {
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    unsigned char lead = (unsigned char)buf[n - back];
    if ((lead & 0xC0) == 0x80)
      continue; /* a continuation byte: the lead is further back */
    size_t need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xC2 && lead <= 0xDF ? 2 : 1;
    if (back >= need)
      return 0;
    if (back >= 2) { /* the second byte's range after E0, ED, F0 and F4 */
      unsigned char second = (unsigned char)buf[n - back + 1];
      unsigned char lo = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
      unsigned char hi = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
      if (second < lo || second > hi)
        return 0;
    }
    return back;
  }
  return 0;
}

/* Prints the text of the tokens waiting in ids[0..n). */
static int print_text(API(model) *model, const int32_t *ids, int64_t n) {
  char text[4096];
  int64_t len = 0;
  if (API(detokenize)(model, ids, n, text, sizeof text, &len) != 0)
    return fail("detokenize");
  fwrite(text, 1, (size_t)len, stdout);
  fflush(stdout); /* stream: show the text as soon as it exists */
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s WEIGHTS N_GENERATE PROMPT [TEMPERATURE [SEED]]\n", argv[0]);
    return 2;
  }
  const char *weights = argv[1];
  const int n_generate = atoi(argv[2]);
  const char *prompt = argv[3];

  API(model) *model = NULL;
  API(session) *session = NULL;
  if (API(model_open)(weights, &model) != 0 || API(session_create)(model, &session) != 0)
    return fail("open");

  /* The prompt's size first (capacity 0), then its ids. */
  int64_t n_prompt = 0;
  const int32_t flags = ADD_SPECIAL | PARSE_SPECIAL;
  int status = API(tokenize)(model, prompt, -1, flags, NULL, 0, &n_prompt);
  if (status != 0 && status != ERR_CAPACITY)
    return fail("tokenize");
  if (n_prompt == 0) {
    fprintf(stderr, "error: the prompt gives no tokens\n");
    return 1;
  }
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)n_prompt);
  if (API(tokenize)(model, prompt, -1, flags, ids, n_prompt, &n_prompt) != 0)
    return fail("tokenize");

  const int64_t vocab = API(vocab_size);
  float *logits = malloc(sizeof(float) * (size_t)vocab);
  double t0 = now();
  if (API(prefill)(session, ids, n_prompt, logits, 0 /* last position only */) != 0)
    return fail("prefill");
  double t1 = now();
  fprintf(stderr, "prompt: %lld tokens in %.3f s\n", (long long)n_prompt, t1 - t0);

  API(sampler_params) params = API(sampler_default_params)();
  if (argc > 4)
    params.temperature = (float)atof(argv[4]);
  if (argc > 5)
    params.seed = strtoull(argv[5], NULL, 10);
  API(sampler) *sampler = NULL;
  if (API(sampler_create)(model, &params, &sampler) != 0 ||
      API(sampler_accept)(sampler, ids, n_prompt) != 0)
    return fail("sampler");

  /* Tokens whose bytes end inside a character wait in `waiting` until the
   * next piece completes it. */
  const int32_t eos = API(token_eos)(model);
  int32_t *generated = malloc(sizeof(int32_t) * (size_t)(n_generate > 0 ? n_generate : 1));
  int32_t waiting[8];
  int64_t n_waiting = 0, n_generated = 0;
  char bytes[512]; /* at least a whole piece (below), so one always fits after a flush */
  size_t n_bytes = 0;
  int stopped = 0;
  for (int i = 0; i < n_generate; ++i) {
    int32_t next;
    if (API(sampler_sample)(sampler, logits, &next) != 0)
      return fail("sample");
    if (next == eos) {
      stopped = 1;
      break;
    }
    generated[n_generated++] = next;
    char piece[256];
    int64_t len = 0;
    if (API(token_piece)(model, next, piece, sizeof piece, &len) != 0)
      return fail("token_piece");
    /* A character is at most 4 bytes, so a handful of tokens always ends
     * one; the guards only keep the buffers safe (a piece may be long:
     * cl100k and Llama 3 have pieces of 128 bytes). */
    if (n_bytes + (size_t)len > sizeof bytes || n_waiting == 8) {
      if (print_text(model, waiting, n_waiting) != 0)
        return 1;
      n_waiting = 0;
      n_bytes = 0;
    }
    memcpy(bytes + n_bytes, piece, (size_t)len);
    n_bytes += (size_t)len;
    waiting[n_waiting++] = next;
    if (unfinished_tail(bytes, n_bytes) == 0) {
      if (print_text(model, waiting, n_waiting) != 0)
        return 1;
      n_waiting = 0;
      n_bytes = 0;
    }
    if (i + 1 < n_generate && API(decode)(session, next, logits) != 0)
      return fail("decode");
  }
  if (n_waiting > 0 && print_text(model, waiting, n_waiting) != 0) /* cut off: U+FFFD */
    return 1;
  printf("\n");
  fflush(stdout); /* before the summary on stderr */
  double t2 = now();
  fprintf(stderr, "generated %lld tokens in %.3f s (%.1f tokens/s)%s; ids:", (long long)n_generated,
          t2 - t1, n_generated > 0 ? n_generated / (t2 - t1) : 0.0,
          stopped ? ", stopped at the end-of-text token" : "");
  for (int64_t i = 0; i < n_generated; ++i)
    fprintf(stderr, " %d", generated[i]);
  fprintf(stderr, "\n");
  API(sampler_free)(sampler);
  API(session_free)(session);
  API(model_close)(model);
  free(generated);
  free(logits);
  free(ids);
  return 0;
}
