/*===- payload_hash.h - the hash of a weights payload ------------*- C -*-===*
 *
 * hybridc_weights_header.model_hash and hybridc_model_desc.model_hash are
 * this hash of every payload byte in file order (padding included): the
 * compiler computes it when it writes the weights file, the runtime when a
 * model is opened with HYBRIDC_OPEN_VERIFY_WEIGHTS, `hybridc verify` from
 * the file alone. Not cryptographic: it tells the right weights from those
 * of another model or build, or from bytes altered after compile.
 *
 * The bytes are read as little-endian 64-bit words, word i mixed into lane
 * i % 4 (x ^= w * K1; x = rotl(x, 31) * K2): four independent chains, so
 * hashing runs near memory speed. The last partial block of 32 bytes is
 * zero-padded; then the lanes and the byte count fold into one value
 * (docs/formats.md). Header-only, so that every side computes it with the
 * same code.
 *===----------------------------------------------------------------------===*/
#ifndef HYBRIDC_PAYLOAD_HASH_H
#define HYBRIDC_PAYLOAD_HASH_H

#include <stdint.h>
#include <string.h>

#define HYBRIDC_HASH_K1 0x9E3779B97F4A7C15ull
#define HYBRIDC_HASH_K2 0xBF58476D1CE4E5B9ull
#define HYBRIDC_HASH_SEED 0x6879627269646321ull /* "hybridc!" */

typedef struct hybridc_payload_hash {
  uint64_t lane[4];
  uint64_t total;   /* bytes added so far */
  uint8_t block[32]; /* a partial block */
  uint32_t filled;  /* bytes in `block` */
} hybridc_payload_hash;

static inline uint64_t hybridc_hash_mix(uint64_t x, uint64_t w) {
  x ^= w * HYBRIDC_HASH_K1;
  return ((x << 31) | (x >> 33)) * HYBRIDC_HASH_K2;
}

static inline void hybridc_payload_hash_init(hybridc_payload_hash *h) {
  memset(h, 0, sizeof *h);
  for (int i = 0; i < 4; ++i)
    h->lane[i] = HYBRIDC_HASH_SEED + (uint64_t)i * HYBRIDC_HASH_K1;
}

/* One whole block of 32 bytes. */
static inline void hybridc_payload_hash_block(hybridc_payload_hash *h, const uint8_t *p) {
  for (int i = 0; i < 4; ++i) {
    uint64_t w;
    memcpy(&w, p + 8 * i, 8); /* little-endian hosts only (x86-64, aarch64) */
    h->lane[i] = hybridc_hash_mix(h->lane[i], w);
  }
}

/* Adds n bytes; any split of the payload into calls gives the same hash. */
static inline void hybridc_payload_hash_update(hybridc_payload_hash *h, const void *data,
                                               uint64_t n) {
  const uint8_t *p = (const uint8_t *)data;
  h->total += n;
  if (h->filled) {
    uint64_t take = 32 - h->filled < n ? 32 - h->filled : n;
    memcpy(h->block + h->filled, p, (size_t)take);
    h->filled += (uint32_t)take;
    p += take;
    n -= take;
    if (h->filled < 32)
      return;
    hybridc_payload_hash_block(h, h->block);
    h->filled = 0;
  }
  for (; n >= 32; p += 32, n -= 32)
    hybridc_payload_hash_block(h, p);
  memcpy(h->block, p, (size_t)n);
  h->filled = (uint32_t)n;
}

static inline uint64_t hybridc_payload_hash_final(const hybridc_payload_hash *h) {
  hybridc_payload_hash t = *h;
  if (t.filled) {
    memset(t.block + t.filled, 0, 32 - t.filled);
    hybridc_payload_hash_block(&t, t.block);
  }
  uint64_t v = hybridc_hash_mix(HYBRIDC_HASH_SEED, t.total);
  for (int i = 0; i < 4; ++i)
    v = hybridc_hash_mix(v, t.lane[i]);
  return v ^ (v >> 29);
}

#endif /* HYBRIDC_PAYLOAD_HASH_H */
