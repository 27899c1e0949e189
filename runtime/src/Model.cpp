//===- Model.cpp - model open/close: weights file validation and mmap -----===//
#include "Internal.h"

#include "hybridc/cpu_check.h"
#include "hybridc/payload_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int32_t online_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 ? (int32_t)(n > 1024 ? 1024 : n) : 1;
}

// A descriptor comes from generated code; checking it catches a glue or
// compiler bug with a message instead of a crash deep inside a call.
static int validate_desc(const hybridc_model_desc *d) {
  if (!d)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "model descriptor is NULL");
  const char *name = d->name ? d->name : "(unnamed)";
  if (d->vocab_size <= 0 || d->state_bytes < 0 || d->kv_segments < 0 || d->kv_row_bytes < 0 ||
      d->max_chunk_tokens <= 0 || d->workspace_fixed_bytes < 0 ||
      d->workspace_bytes_per_token < 0 || !d->prefill || !d->decode ||
      d->weights_offset > d->weights_bytes ||
      d->weights_layout_bytes > d->weights_bytes - d->weights_offset ||
      d->weights_offset % HYBRIDC_WEIGHTS_LAYOUT_ALIGN || !hybridc_kv_dtype_name(d->kv_dtype) ||
      (d->kv_segments > 0 &&
       (d->kv_heads <= 0 || d->kv_segments % (2 * d->kv_heads) != 0 ||
        d->kv_row_bytes != hybridc_kv_row_bytes(d->kv_dtype, d->kv_head_dim))))
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "model descriptor of '%s' is inconsistent (vocab_size %d, "
                           "state_bytes %" PRId64 ", kv_segments %d, kv_row_bytes %" PRId64
                           ", kv_dtype %d (%d x %d), max_chunk_tokens %" PRId64 ", weights layout of %" PRIu64 " bytes at %" PRIu64 " of %" PRIu64
                           ", driver functions %s)",
                           name, d->vocab_size, d->state_bytes, d->kv_segments, d->kv_row_bytes,
                           d->kv_dtype, d->kv_heads, d->kv_head_dim, d->max_chunk_tokens, d->weights_layout_bytes, d->weights_offset,
                           d->weights_bytes,
                           d->prefill && d->decode ? "set" : "missing");
  return HYBRIDC_OK;
}

// Maps `path` read-only and checks it belongs to `desc`. On success fills the
// mapping fields of `m`.
static int map_weights(const hybridc_model_desc *desc, const char *path, hybridc_model *m) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hybridc_rt_fail(HYBRIDC_ERR_IO, "cannot open weights file '%s': %s", path,
                           strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return hybridc_rt_fail(HYBRIDC_ERR_IO, "cannot stat weights file '%s': %s", path,
                           strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return hybridc_rt_fail(HYBRIDC_ERR_IO, "weights file '%s' is not a regular file", path);
  }
  uint64_t size = (uint64_t)st.st_size;
  if (size < sizeof(hybridc_weights_header)) {
    close(fd);
    return hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                           "weights file '%s' is truncated: %" PRIu64
                           " bytes, smaller than its %zu-byte header",
                           path, size, sizeof(hybridc_weights_header));
  }
  // Read the header with pread first: a file that is not ours should be
  // rejected before mapping what may be a huge unrelated file.
  hybridc_weights_header h;
  ssize_t got = pread(fd, &h, sizeof h, 0);
  if (got != (ssize_t)sizeof h) {
    int e = got < 0 ? errno : EIO;
    close(fd);
    return hybridc_rt_fail(HYBRIDC_ERR_IO, "cannot read the header of weights file '%s': %s",
                           path, strerror(e));
  }
  char file_model[sizeof h.model_name + 1];
  memcpy(file_model, h.model_name, sizeof h.model_name);
  file_model[sizeof h.model_name] = '\0';
  const char *name = desc->name ? desc->name : "(unnamed)";

  int status = HYBRIDC_OK;
  if (memcmp(h.magic, HYBRIDC_WEIGHTS_MAGIC, sizeof h.magic) != 0)
    status = hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                             "'%s' is not a hybridc weights file (bad magic; expected \"%s\")",
                             path, HYBRIDC_WEIGHTS_MAGIC);
  else if (h.format_version != HYBRIDC_WEIGHTS_FORMAT_VERSION)
    status = hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                             "weights file '%s' has format version %u, this library reads "
                             "version %u (recompile the model)",
                             path, h.format_version, HYBRIDC_WEIGHTS_FORMAT_VERSION);
  else if (h.header_bytes != HYBRIDC_WEIGHTS_HEADER_BYTES)
    status = hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                             "weights file '%s' has header_bytes %u, expected %u", path,
                             h.header_bytes, HYBRIDC_WEIGHTS_HEADER_BYTES);
  else if (h.model_hash != desc->model_hash)
    status = hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                             "weights file '%s' belongs to another model: '%s' (hash %016" PRIx64
                             "), this library is '%s' (hash %016" PRIx64 ")",
                             path, file_model, h.model_hash, name, desc->model_hash);
  else if (h.payload_bytes != desc->weights_bytes)
    status = hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                             "weights file '%s' declares %" PRIu64
                             " payload bytes, model '%s' expects %" PRIu64,
                             path, h.payload_bytes, name, desc->weights_bytes);
  else if (size != (uint64_t)h.header_bytes + h.payload_bytes)
    status = hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                             "weights file '%s' is %s: %" PRIu64 " bytes, expected %" PRIu64
                             " (%u header + %" PRIu64 " payload)",
                             path, size < (uint64_t)h.header_bytes + h.payload_bytes
                                       ? "truncated"
                                       : "longer than its header says",
                             size, (uint64_t)h.header_bytes + h.payload_bytes, h.header_bytes,
                             h.payload_bytes);
  else if (size > (uint64_t)SIZE_MAX)
    status = hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                             "weights file '%s' is too large to map", path);
  if (status != HYBRIDC_OK) {
    close(fd);
    return status;
  }

  // MAP_PRIVATE + PROT_READ: the weights are shared by every session and
  // never written; pages come from the page cache, so several processes
  // using one model share the memory.
  void *base = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  close(fd); // the mapping keeps the file alive
  if (base == MAP_FAILED)
    return hybridc_rt_fail(map_errno == ENOMEM ? HYBRIDC_ERR_OUT_OF_MEMORY : HYBRIDC_ERR_IO,
                           "cannot map weights file '%s' (%" PRIu64 " bytes): %s", path, size,
                           strerror(map_errno));
  m->map_base = base;
  m->map_bytes = (size_t)size;
  m->payload = (const uint8_t *)base + h.header_bytes;
  return HYBRIDC_OK;
}

// Hashes the payload (what the header's model_hash promises, never read by
// a plain open) and compares it with the library's hash.
static int verify_payload(const hybridc_model_desc *desc, const char *where,
                          const uint8_t *payload) {
  hybridc_payload_hash h;
  hybridc_payload_hash_init(&h);
  hybridc_payload_hash_update(&h, payload, (uint64_t)desc->weights_bytes);
  uint64_t got = hybridc_payload_hash_final(&h);
  if (got == desc->model_hash)
    return HYBRIDC_OK;
  return hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                         "%s: the payload (%" PRId64 " bytes) hashes to %016" PRIx64
                         ", model '%s' expects %016" PRIx64
                         ": weight bytes were altered or damaged after compile "
                         "(`hybridc verify` on the output folder says more)",
                         where, desc->weights_bytes, got, desc->name ? desc->name : "(unnamed)",
                         desc->model_hash);
}

extern "C" {

int hybridc_rt_model_open(const hybridc_model_desc *desc, const char *weights_path,
                          hybridc_model **out) {
  return hybridc_rt_model_open_ex(desc, weights_path, 0, out);
}

int hybridc_rt_model_open_ex(const hybridc_model_desc *desc, const char *weights_path,
                             int32_t flags, hybridc_model **out) {
  if (!out)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "model_open: out is NULL");
  *out = NULL;
  if (flags & ~HYBRIDC_OPEN_VERIFY_WEIGHTS)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "model_open_ex: unknown flags 0x%x (known: %d, verify weights)",
                           (unsigned)flags, HYBRIDC_OPEN_VERIFY_WEIGHTS);
  int status = validate_desc(desc);
  if (status != HYBRIDC_OK)
    return status;
  if (hybridc_target_level(desc->target) == 0)
    return hybridc_rt_fail(HYBRIDC_ERR_CPU,
                           "model_open: model '%s' names target '%s', which this runtime does "
                           "not know (it knows x86-64-avx2, x86-64-avx512, x86-64-avx512-bf16, "
                           "aarch64)",
                           desc->name ? desc->name : "(unnamed)",
                           desc->target ? desc->target : "(none)");
  if (const char *missing = hybridc_cpu_missing_feature(desc->target))
    return hybridc_rt_fail(HYBRIDC_ERR_CPU,
                           "model_open: model '%s' was compiled for %s, and this CPU lacks %s "
                           "(compile it with --target host, or a target this CPU runs)",
                           desc->name ? desc->name : "(unnamed)", desc->target, missing);
  if (!weights_path && !desc->embedded_weights)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "model_open: weights_path is NULL but model '%s' was compiled "
                           "without embedded weights; pass the path of its weights file",
                           desc->name ? desc->name : "(unnamed)");

  hybridc_model *m = (hybridc_model *)calloc(1, sizeof *m);
  if (!m)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "model_open: out of memory");
  m->desc = desc;
  m->default_threads = online_cpus();
  m->refs = 1;
  if (weights_path) {
    status = map_weights(desc, weights_path, m);
    if (status != HYBRIDC_OK) {
      free(m);
      return status;
    }
  } else {
    m->payload = desc->embedded_weights;
  }
  if (flags & HYBRIDC_OPEN_VERIFY_WEIGHTS) {
    status = verify_payload(desc, weights_path ? weights_path : "embedded weights",
                            m->payload);
    if (status != HYBRIDC_OK) {
      hybridc_rt_model_release(m); // unmaps
      return status;
    }
  }
  // The hash covers every variant's layout; this variant's drivers read
  // their own.
  m->payload += desc->weights_offset;
  status = hybridc_rt_model_open_tokenizer(m);
  if (status != HYBRIDC_OK) {
    hybridc_rt_model_release(m);
    return status;
  }
  *out = m;
  return HYBRIDC_OK;
}

void hybridc_rt_model_close(hybridc_model *model) {
  if (model)
    hybridc_rt_model_release(model);
}

int hybridc_rt_model_set_threads(hybridc_model *model, int32_t n) {
  if (!model)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "model_set_threads: model is NULL");
  if (n < 1)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "model_set_threads: n must be >= 1 (got %d)", n);
  __atomic_store_n(&model->default_threads, n, __ATOMIC_RELAXED);
  return HYBRIDC_OK;
}

const char *hybridc_rt_model_target(const hybridc_model *model) {
  if (!model) {
    hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "model_target: model is NULL");
    return NULL;
  }
  return model->desc->target ? model->desc->target : "";
}

} // extern "C"

// Sessions keep the model alive: closing a model while sessions still exist
// defers the unmap until the last session is freed instead of leaving them
// with dangling weights.
void hybridc_rt_model_release(hybridc_model *m) {
  if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  if (m->map_base)
    munmap(m->map_base, m->map_bytes);
  hybridc_rt_model_close_tokenizer(m);
  free(m);
}
