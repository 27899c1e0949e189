//===- Sampler.cpp - the next token from a row of logits -------------------===//
//
// In this order (documented in the generated header):
//   1. repetition penalty: each distinct token among the last repeat_last_n
//      tokens of the history has its logit divided by repeat_penalty if
//      positive, multiplied by it if not;
//   2. temperature 0: the largest logit (the lowest id among equal ones);
//   3. top-k: the k largest logits (ties: lower ids first);
//   4. softmax of logit / temperature over what is left;
//   5. min-p: tokens below min_p x the most likely one's probability go;
//      top-p: only the most likely tokens (ties: lower ids first) up to a
//      cumulative probability of top_p stay, at least one. Both are measured
//      on the distribution of step 4, so their order does not matter;
//   6. a draw from what is left, renormalised, with the sampler's own
//      generator (xoshiro256**, seeded by splitmix64 from the seed): the same
//      seed and the same logits give the same tokens.
// The sampled token joins the history; _accept adds tokens (the prompt)
// without sampling.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "TextInternal.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

namespace {

struct Candidate {
  double weight; // exp((logit - max) / temperature)
  int32_t id;
  float logit;
};

uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

int by_weight(const void *a, const void *b) {
  const Candidate *x = (const Candidate *)a, *y = (const Candidate *)b;
  if (x->weight != y->weight)
    return x->weight > y->weight ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

} // namespace

struct hybridc_rt_sampler {
  hybridc_rt_sampler_params params;
  int32_t vocab;
  uint64_t rng[4];
  int32_t *history; // ring of the last repeat_last_n tokens
  int64_t historyCount, historyNext;
  float *logits;    // [vocab] working copy
  uint32_t *seen;   // [vocab] stamp of the penalty pass that last saw the token
  uint32_t stamp;
  Candidate *candidates; // [vocab]
};

static void seed(hybridc_rt_sampler *s) {
  uint64_t x = s->params.seed;
  for (uint64_t &r : s->rng)
    r = splitmix64(&x);
}

// xoshiro256**: a uniform double in [0, 1) from the top 53 bits.
static double uniform(hybridc_rt_sampler *s) {
  uint64_t *r = s->rng;
  const uint64_t result = rotl(r[1] * 5, 7) * 9;
  const uint64_t t = r[1] << 17;
  r[2] ^= r[0];
  r[3] ^= r[1];
  r[1] ^= r[2];
  r[0] ^= r[3];
  r[2] ^= t;
  r[3] = rotl(r[3], 45);
  return (double)(result >> 11) * (1.0 / 9007199254740992.0);
}

static int check_params(const hybridc_rt_sampler_params *p) {
  const char *field = NULL;
  if (!isfinite(p->temperature) || p->temperature < 0)
    field = "temperature must be >= 0";
  else if (p->top_k < 0)
    field = "top_k must be >= 0 (0: off)";
  else if (!isfinite(p->top_p) || !(p->top_p > 0) || p->top_p > 1)
    field = "top_p must be in (0, 1] (1: off)";
  else if (!isfinite(p->min_p) || p->min_p < 0 || p->min_p > 1)
    field = "min_p must be in [0, 1] (0: off)";
  else if (!isfinite(p->repeat_penalty) || !(p->repeat_penalty > 0))
    field = "repeat_penalty must be > 0 (1: off)";
  else if (p->repeat_last_n < 0 || p->repeat_last_n > (1 << 24))
    field = "repeat_last_n must be in [0, 16777216]";
  if (!field)
    return HYBRIDC_OK;
  return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                         "sampler_create: %s (temperature %g, top_k %d, top_p %g, min_p %g, "
                         "repeat_penalty %g, repeat_last_n %d)",
                         field, (double)p->temperature, p->top_k, (double)p->top_p,
                         (double)p->min_p, (double)p->repeat_penalty, p->repeat_last_n);
}

static void remember(hybridc_rt_sampler *s, int32_t token) {
  const int64_t n = s->params.repeat_last_n;
  if (n == 0)
    return;
  s->history[s->historyNext] = token;
  s->historyNext = (s->historyNext + 1) % n;
  if (s->historyCount < n)
    ++s->historyCount;
}

// Steps 3 to 6 on s->logits (the penalty applied); temperature > 0.
static int32_t draw(hybridc_rt_sampler *s) {
  const hybridc_rt_sampler_params &p = s->params;
  const float *l = s->logits;
  Candidate *c = s->candidates;
  int64_t n = 0;
  if (p.top_k > 0 && p.top_k < s->vocab) {
    // A min-heap of the k best so far (worst on top); ids come in
    // ascending order, so an equal logit never displaces an earlier id.
    const int64_t k = p.top_k;
    for (int32_t id = 0; id < s->vocab; ++id) {
      if (n == k && !(l[id] > c[0].logit))
        continue;
      int64_t i;
      if (n < k) { // sift up
        i = n++;
        while (i > 0 && (c[(i - 1) / 2].logit > l[id] ||
                         (c[(i - 1) / 2].logit == l[id] && c[(i - 1) / 2].id < id))) {
          c[i] = c[(i - 1) / 2];
          i = (i - 1) / 2;
        }
      } else { // replace the top, sift down
        i = 0;
        for (;;) {
          int64_t child = 2 * i + 1;
          if (child >= n)
            break;
          if (child + 1 < n &&
              (c[child + 1].logit < c[child].logit ||
               (c[child + 1].logit == c[child].logit && c[child + 1].id > c[child].id)))
            ++child;
          if (c[child].logit > l[id] || (c[child].logit == l[id] && c[child].id < id))
            break;
          c[i] = c[child];
          i = child;
        }
      }
      c[i] = Candidate{0, id, l[id]};
    }
  } else {
    for (int32_t id = 0; id < s->vocab; ++id)
      c[n++] = Candidate{0, id, l[id]};
  }
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    if (c[i].logit > max)
      max = c[i].logit;
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    c[i].weight = exp(((double)c[i].logit - max) / p.temperature);
    total += c[i].weight;
  }
  // min-p: relative to the most likely token, whose weight is exp(0) = 1.
  if (p.min_p > 0) {
    int64_t kept = 0;
    for (int64_t i = 0; i < n; ++i)
      if (c[i].weight >= p.min_p)
        c[kept++] = c[i];
    n = kept;
  }
  // top-p needs the most likely first, a sort of every candidate (the whole
  // vocabulary without top-k), so only then; without it the draw runs over
  // the candidates in the order they are in, as fixed for a seed.
  if (p.top_p < 1) {
    qsort(c, (size_t)n, sizeof(Candidate), by_weight);
    const double target = p.top_p * total;
    double sum = 0;
    int64_t kept = 0;
    while (kept < n && sum < target)
      sum += c[kept++].weight;
    n = kept > 0 ? kept : 1;
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += c[i].weight;
  const double u = uniform(s) * sum;
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    acc += c[i].weight;
    if (u < acc)
      return c[i].id;
  }
  return c[n - 1].id; // rounding left u at the very top
}

extern "C" {

hybridc_rt_sampler_params hybridc_rt_sampler_default_params(void) {
  hybridc_rt_sampler_params p;
  p.temperature = 0.0f; // greedy: every filter off until asked for
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.repeat_penalty = 1.0f;
  p.repeat_last_n = 64;
  p.seed = 0;
  return p;
}

int hybridc_rt_sampler_create(int32_t vocab_size, const hybridc_rt_sampler_params *params,
                              hybridc_rt_sampler **out) {
  if (!out)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "sampler_create: out is NULL");
  *out = NULL;
  if (vocab_size < 1)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "sampler_create: vocab_size %d < 1",
                           vocab_size);
  hybridc_rt_sampler_params p = params ? *params : hybridc_rt_sampler_default_params();
  int status = check_params(&p);
  if (status != HYBRIDC_OK)
    return status;
  hybridc_rt_sampler *s = (hybridc_rt_sampler *)calloc(1, sizeof *s);
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "sampler_create: out of memory");
  s->params = p;
  s->vocab = vocab_size;
  s->history = (int32_t *)malloc((size_t)(p.repeat_last_n > 0 ? p.repeat_last_n : 1) * sizeof(int32_t));
  s->logits = (float *)malloc((size_t)vocab_size * sizeof(float));
  s->seen = (uint32_t *)calloc((size_t)vocab_size, sizeof(uint32_t));
  s->candidates = (Candidate *)malloc((size_t)vocab_size * sizeof(Candidate));
  if (!s->history || !s->logits || !s->seen || !s->candidates) {
    hybridc_rt_sampler_free(s);
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "sampler_create: out of memory");
  }
  seed(s);
  *out = s;
  return HYBRIDC_OK;
}

int hybridc_rt_sampler_create_for_model(const hybridc_model *model,
                                        const hybridc_rt_sampler_params *params,
                                        hybridc_rt_sampler **out) {
  if (!model) {
    if (out)
      *out = NULL;
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "sampler_create: model is NULL");
  }
  return hybridc_rt_sampler_create(model->desc->vocab_size, params, out);
}

void hybridc_rt_sampler_free(hybridc_rt_sampler *s) {
  if (!s)
    return;
  free(s->history);
  free(s->logits);
  free(s->seen);
  free(s->candidates);
  free(s);
}

int hybridc_rt_sampler_sample(hybridc_rt_sampler *s, const float *logits, int32_t *token) {
  if (!s || !logits || !token)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "sampler_sample: %s is NULL",
                           !s ? "sampler" : !logits ? "logits" : "token");
  bool finite = false;
  for (int32_t i = 0; i < s->vocab; ++i) {
    const float v = logits[i];
    if (isnan(v) || v == INFINITY)
      return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                             "sampler_sample: logits[%d] is %s", i, isnan(v) ? "NaN" : "+inf");
    finite |= v != -INFINITY;
  }
  if (!finite)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "sampler_sample: every one of the %d logits is -inf", s->vocab);
  memcpy(s->logits, logits, (size_t)s->vocab * sizeof(float));
  const float penalty = s->params.repeat_penalty;
  if (penalty != 1.0f && s->historyCount > 0) {
    if (++s->stamp == 0) { // wrapped: start the stamps again
      memset(s->seen, 0, (size_t)s->vocab * sizeof(uint32_t));
      s->stamp = 1;
    }
    for (int64_t i = 0; i < s->historyCount; ++i) {
      const int32_t id = s->history[i];
      if (s->seen[id] == s->stamp)
        continue; // each distinct token once
      s->seen[id] = s->stamp;
      float &v = s->logits[id];
      if (v == -INFINITY)
        continue; // masked stays masked
      v = v > 0 ? v / penalty : v * penalty;
      // A tiny or huge penalty must not make a finite logit infinite.
      v = fminf(fmaxf(v, -FLT_MAX), FLT_MAX);
    }
  }
  int32_t chosen = 0;
  if (s->params.temperature == 0.0f) {
    for (int32_t i = 1; i < s->vocab; ++i)
      if (s->logits[i] > s->logits[chosen])
        chosen = i;
  } else {
    chosen = draw(s);
  }
  remember(s, chosen);
  *token = chosen;
  return HYBRIDC_OK;
}

int hybridc_rt_sampler_accept(hybridc_rt_sampler *s, const int32_t *tokens, int64_t n) {
  if (!s || (!tokens && n > 0) || n < 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "sampler_accept: sampler or tokens is NULL, or n < 0 (n %" PRId64 ")", n);
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= s->vocab)
      return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                             "sampler_accept: tokens[%" PRId64 "] = %d is out of range [0, %d)",
                             i, tokens[i], s->vocab);
  for (int64_t i = 0; i < n; ++i)
    remember(s, tokens[i]);
  return HYBRIDC_OK;
}

int hybridc_rt_sampler_reset(hybridc_rt_sampler *s) {
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "sampler_reset: sampler is NULL");
  s->historyCount = s->historyNext = 0;
  seed(s);
  return HYBRIDC_OK;
}

} // extern "C"
