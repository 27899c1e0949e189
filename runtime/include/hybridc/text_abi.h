/*===- text_abi.h - tokenizer blob and the runtime's text functions ------===*
 *
 * Text in, text out: the tokenizer `hybridc compile` embeds in a model
 * library, and the runtime functions the generated glue forwards the public
 * P_tokenize / P_detokenize / P_token_piece / P_token_bos / P_token_eos /
 * P_sampler_* functions to. hybridc itself links the same engine to run a
 * tokenizer.json without compiling a model (`hybridc tokenize`, `bench
 * --tokenize`, the tests).
 *
 * Plain C. Every runtime symbol is hidden inside a model library.
 *===----------------------------------------------------------------------===*/
#ifndef HYBRIDC_TEXT_ABI_H
#define HYBRIDC_TEXT_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Tokenizer blob (docs/formats.md, "Tokenizer blob") -------------------
 * A byte-level BPE tokenizer as the compiler resolved it from tokenizer.json
 * or GGUF metadata: every token's bytes, the merges by rank, the added
 * tokens, the pre-tokenizer's steps (PCRE2 patterns) and the post-
 * processor's template. All integers little-endian, every section 4-byte
 * aligned, in this order after the 64-byte header:
 *   tokens    num_tokens records of hybridc_tokenizer_token
 *   merges    num_merges records of hybridc_tokenizer_merge, by rank
 *   bytes     256 x i32: the token of each single byte (-1: none)
 *   fallback  256 x hybridc_tokenizer_fallback: what a byte without a token
 *             becomes (byte-fallback tokens, the unknown token, or nothing)
 *   template  num_template x i32: a token id, or -1 for the input's tokens
 *   steps     num_steps records of hybridc_tokenizer_step
 *   chat      num_chat_templates records of hybridc_tokenizer_chat_template:
 *             the model's chat templates (Jinja text), "default" first
 *   strings   string_bytes bytes that the offsets above point into (a chat
 *             template's name and text are each followed by a NUL byte,
 *             not counted in their sizes)
 * The runtime checks every count, offset and id, and compiles the patterns,
 * before it uses a blob; a blob it refuses makes model_open fail with
 * HYBRIDC_ERR_FORMAT. */
#define HYBRIDC_TOKENIZER_MAGIC "HYBRIDCT"
#define HYBRIDC_TOKENIZER_FORMAT_VERSION 2u
#define HYBRIDC_TOKENIZER_HEADER_BYTES 64u

typedef struct hybridc_tokenizer_header {
  char magic[8];          /* HYBRIDC_TOKENIZER_MAGIC, no terminator */
  uint32_t format_version; /* HYBRIDC_TOKENIZER_FORMAT_VERSION */
  uint32_t header_bytes;  /* HYBRIDC_TOKENIZER_HEADER_BYTES */
  uint64_t total_bytes;   /* the whole blob */
  int32_t num_tokens;     /* ids 0 .. num_tokens-1 */
  int32_t num_merges;
  int32_t num_steps;
  int32_t num_template;
  int32_t bos;            /* -1: none */
  int32_t eos;            /* -1: none */
  uint32_t flags;         /* HYBRIDC_TOKENIZER_IGNORE_MERGES */
  uint32_t string_bytes;
  int32_t num_chat_templates;
  uint8_t reserved[4];    /* zero */
} hybridc_tokenizer_header;

/* Header flags. */
enum {
  /* A pre-token that is itself a vocabulary key is that one token, without
   * merges (tokenizer.json's model.ignore_merges). */
  HYBRIDC_TOKENIZER_IGNORE_MERGES = 1
};

/* Token flags. */
enum {
  HYBRIDC_TOKEN_PRESENT = 1,  /* the id names a token (else it decodes to nothing) */
  HYBRIDC_TOKEN_ADDED = 2,    /* an added token: matched in the text before
                                 pre-tokenization, decoded as its text */
  HYBRIDC_TOKEN_SPECIAL = 4,  /* added and special: matched only with
                                 HYBRIDC_TOKENIZE_PARSE_SPECIAL */
  HYBRIDC_TOKEN_LSTRIP = 8,   /* added: the whitespace before it is dropped */
  HYBRIDC_TOKEN_RSTRIP = 16,  /* added: the whitespace after it is dropped */
  HYBRIDC_TOKEN_VOCAB = 32,   /* its key is a BPE vocabulary entry */
  HYBRIDC_TOKEN_ALIAS = 64    /* added, not in the BPE vocabulary, but its
                                 key is looked up like one while the token is
                                 active (what the reference does) */
};

typedef struct hybridc_tokenizer_token {
  uint32_t piece_offset, piece_bytes; /* what the token decodes to */
  uint32_t key_offset, key_bytes;     /* the bytes BPE knows it by */
  uint32_t flags;                     /* HYBRIDC_TOKEN_* */
} hybridc_tokenizer_token;

typedef struct hybridc_tokenizer_merge {
  int32_t left, right, result; /* key(result) == key(left) key(right) */
} hybridc_tokenizer_merge;

typedef struct hybridc_tokenizer_fallback {
  int32_t count;  /* 0, 1 or 2 */
  int32_t ids[2];
} hybridc_tokenizer_fallback;

/* Pre-tokenizer steps, applied in order to every piece of the text between
 * added tokens (one piece to start with). */
enum {
  HYBRIDC_STEP_SPLIT = 1,        /* split each piece with a PCRE2 pattern */
  HYBRIDC_STEP_PREFIX_SPACE = 2  /* prepend ' ' to a piece not starting with one */
};
enum {
  HYBRIDC_SPLIT_ISOLATED = 0, /* keep the matches and the text between them */
  HYBRIDC_SPLIT_MATCHES = 1   /* keep only the matches */
};

typedef struct hybridc_tokenizer_step {
  uint32_t kind, mode;                   /* HYBRIDC_STEP_*, HYBRIDC_SPLIT_* */
  uint32_t pattern_offset, pattern_bytes; /* UTF-8, for PCRE2 with UTF and UCP */
} hybridc_tokenizer_step;

typedef struct hybridc_tokenizer_chat_template {
  uint32_t name_offset, name_bytes; /* "default", "tool_use", ... */
  uint32_t text_offset, text_bytes; /* the Jinja text */
} hybridc_tokenizer_chat_template;

/* ---- The tokenizer engine -------------------------------------------------
 * A tokenizer built from a blob is read-only: any number of threads may use
 * one at once. Every function returns HYBRIDC_OK or an error status with
 * hybridc_rt_last_error() set; a failed call writes nothing to the caller's
 * buffers. On HYBRIDC_ERR_CAPACITY, *n_ids / *len say how much is needed. */
typedef struct hybridc_rt_tokenizer hybridc_rt_tokenizer;

/* Tokenize flags. */
enum {
  HYBRIDC_TOKENIZE_ADD_SPECIAL = 1,  /* add the post-processor's tokens (BOS, ...) */
  HYBRIDC_TOKENIZE_PARSE_SPECIAL = 2 /* special-token text becomes the special token */
};
/* The longest text one tokenize call takes (512 MiB). */
#define HYBRIDC_TOKENIZE_MAX_BYTES (1 << 29)

/* `blob` must stay alive and unchanged while the tokenizer is used (a model
 * library's blob is in its read-only data). vocab_size: ids below it are
 * accepted by decode (the model's vocabulary may be larger than the
 * tokenizer's; 0: the tokenizer's own size). */
int hybridc_rt_tokenizer_open(const uint8_t *blob, uint64_t bytes, int32_t vocab_size,
                              hybridc_rt_tokenizer **out);
void hybridc_rt_tokenizer_free(hybridc_rt_tokenizer *tokenizer);
/* len < 0: text is NUL-terminated. */
int hybridc_rt_tokenizer_encode(const hybridc_rt_tokenizer *tokenizer, const char *text,
                                int64_t len, int32_t flags, int32_t *ids, int64_t capacity,
                                int64_t *n_ids);
int hybridc_rt_tokenizer_decode(const hybridc_rt_tokenizer *tokenizer, const int32_t *ids,
                                int64_t n, char *buf, int64_t capacity, int64_t *len);
int hybridc_rt_tokenizer_piece(const hybridc_rt_tokenizer *tokenizer, int32_t id, char *buf,
                               int64_t capacity, int64_t *len);
int32_t hybridc_rt_tokenizer_bos(const hybridc_rt_tokenizer *tokenizer);
int32_t hybridc_rt_tokenizer_eos(const hybridc_rt_tokenizer *tokenizer);
int32_t hybridc_rt_tokenizer_size(const hybridc_rt_tokenizer *tokenizer); /* num_tokens */
/* The chat templates stored with the tokenizer: how many (0 for a NULL
 * tokenizer), the name of one (NULL past the end), and the text of the one
 * named `name` (NULL: "default"), NUL-terminated in the blob: *text and *len
 * are set only on success; an unknown name fails with
 * HYBRIDC_ERR_INVALID_ARGUMENT listing the names there are. */
int32_t hybridc_rt_tokenizer_chat_template_count(const hybridc_rt_tokenizer *tokenizer);
const char *hybridc_rt_tokenizer_chat_template_name(const hybridc_rt_tokenizer *tokenizer,
                                                    int32_t index);
int hybridc_rt_tokenizer_chat_template(const hybridc_rt_tokenizer *tokenizer, const char *name,
                                       const char **text, int64_t *len);

/* ---- What the public functions forward to (model level) ------------------ */
struct hybridc_model;
int hybridc_rt_tokenize(const struct hybridc_model *model, const char *text, int64_t len,
                        int32_t flags, int32_t *ids, int64_t capacity, int64_t *n_ids);
int hybridc_rt_detokenize(const struct hybridc_model *model, const int32_t *ids, int64_t n,
                          char *buf, int64_t capacity, int64_t *len);
int hybridc_rt_token_piece(const struct hybridc_model *model, int32_t id, char *buf,
                           int64_t capacity, int64_t *len);
int32_t hybridc_rt_token_bos(const struct hybridc_model *model);
int32_t hybridc_rt_token_eos(const struct hybridc_model *model);
int hybridc_rt_chat_template(const struct hybridc_model *model, const char *name,
                             const char **text, int64_t *len);
int32_t hybridc_rt_chat_template_count(const struct hybridc_model *model);
const char *hybridc_rt_chat_template_name(const struct hybridc_model *model, int32_t index);

/* ---- Sampler --------------------------------------------------------------
 * The public P_sampler_params has this layout (the glue checks it). */
typedef struct hybridc_rt_sampler_params {
  float temperature;     /* 0: greedy */
  int32_t top_k;         /* 0: off */
  float top_p;           /* 1: off */
  float min_p;           /* 0: off */
  float repeat_penalty;  /* 1: off */
  int32_t repeat_last_n; /* tokens of history the penalty looks at */
  uint64_t seed;
} hybridc_rt_sampler_params;

typedef struct hybridc_rt_sampler hybridc_rt_sampler;

hybridc_rt_sampler_params hybridc_rt_sampler_default_params(void);
int hybridc_rt_sampler_create(int32_t vocab_size, const hybridc_rt_sampler_params *params,
                              hybridc_rt_sampler **out);
/* The model's vocabulary size; model NULL is an error. */
int hybridc_rt_sampler_create_for_model(const struct hybridc_model *model,
                                        const hybridc_rt_sampler_params *params,
                                        hybridc_rt_sampler **out);
void hybridc_rt_sampler_free(hybridc_rt_sampler *sampler);
int hybridc_rt_sampler_sample(hybridc_rt_sampler *sampler, const float *logits, int32_t *token);
int hybridc_rt_sampler_accept(hybridc_rt_sampler *sampler, const int32_t *tokens, int64_t n);
int hybridc_rt_sampler_reset(hybridc_rt_sampler *sampler);

#ifdef __cplusplus
}
#endif

#endif /* HYBRIDC_TEXT_ABI_H */
