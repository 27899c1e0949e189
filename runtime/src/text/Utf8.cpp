//===- Utf8.cpp - UTF-8 checks, WHATWG replacement, JavaScript whitespace -===//
//
// The tokenizer's reference reads text the way a browser or node does: bytes
// decoded by the WHATWG UTF-8 decoder (each maximal subpart of an ill-formed
// sequence becomes one U+FFFD), whitespace as JavaScript's String.trim sees
// it. These helpers give the runtime the same view of raw bytes.
//
//===----------------------------------------------------------------------===//
#include "TextInternal.h"

#include <stdlib.h>
#include <string.h>

bool hybridc_rt_bytes_append(hybridc_rt_bytes *b, const void *p, int64_t n) {
  if (n <= 0)
    return true;
  if (b->size + n > b->capacity) {
    int64_t cap = b->capacity ? b->capacity : 256;
    while (cap < b->size + n)
      cap *= 2;
    uint8_t *grown = (uint8_t *)realloc(b->data, (size_t)cap);
    if (!grown)
      return false;
    b->data = grown;
    b->capacity = cap;
  }
  memcpy(b->data + b->size, p, (size_t)n);
  b->size += n;
  return true;
}

void hybridc_rt_bytes_free(hybridc_rt_bytes *b) {
  free(b->data);
  b->data = NULL;
  b->size = b->capacity = 0;
}

// The WHATWG decoder's state machine, one byte at a time: `lower`/`upper`
// bound the next continuation byte (tighter after E0, ED, F0 and F4, which
// rules out overlong forms, surrogates and values past U+10FFFF).
namespace {
struct Utf8Decoder {
  int needed = 0, seen = 0;
  uint8_t lower = 0x80, upper = 0xBF;

  // Consumes byte b. Returns 1 when a character ends with it, 0 when more
  // bytes are needed, -1 when the bytes so far are ill-formed (then, if
  // `again` is set, b must be read again from the start state).
  int step(uint8_t b, bool *again) {
    *again = false;
    if (needed == 0) {
      if (b < 0x80)
        return 1;
      if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0)
          lower = 0xA0;
        if (b == 0xED)
          upper = 0x9F;
        needed = 2;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0)
          lower = 0x90;
        if (b == 0xF4)
          upper = 0x8F;
        needed = 3;
      } else {
        return -1;
      }
      return 0;
    }
    if (b < lower || b > upper) {
      reset();
      *again = true;
      return -1;
    }
    lower = 0x80;
    upper = 0xBF;
    if (++seen == needed) {
      reset();
      return 1;
    }
    return 0;
  }
  void reset() {
    needed = seen = 0;
    lower = 0x80;
    upper = 0xBF;
  }
};
} // namespace

bool hybridc_rt_utf8_valid(const uint8_t *p, int64_t n) {
  Utf8Decoder d;
  for (int64_t i = 0; i < n; ++i) {
    // ASCII runs are the common case.
    if (d.needed == 0 && p[i] < 0x80)
      continue;
    bool again;
    if (d.step(p[i], &again) < 0)
      return false;
  }
  return d.needed == 0;
}

bool hybridc_rt_utf8_sanitize(const uint8_t *p, int64_t n, hybridc_rt_bytes *out) {
  static const uint8_t replacement[3] = {0xEF, 0xBF, 0xBD};
  Utf8Decoder d;
  int64_t start = 0; // first byte of the character being read
  for (int64_t i = 0; i < n; ++i) {
    bool again;
    int r = d.step(p[i], &again);
    if (r == 1) {
      if (!hybridc_rt_bytes_append(out, p + start, i + 1 - start))
        return false;
      start = i + 1;
    } else if (r < 0) {
      if (!hybridc_rt_bytes_append(out, replacement, 3))
        return false;
      start = again ? i : i + 1;
      if (again)
        --i; // read this byte again from the start state
    }
  }
  if (d.needed != 0) // input ends inside a character
    return hybridc_rt_bytes_append(out, replacement, 3);
  return true;
}

// JavaScript's WhiteSpace and LineTerminator code points (what trim removes):
// TAB, VT, FF, SP, NBSP, ZWNBSP (U+FEFF), the Zs category, LF, CR, LS, PS.
// Unlike Unicode's White_Space, U+0085 is not among them and U+FEFF is.
static bool js_space(uint32_t c) {
  switch (c) {
  case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0:
  case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
  case 0xFEFF:
    return true;
  default:
    return c >= 0x2000 && c <= 0x200A;
  }
}

// The code point starting at p[0] of a well-formed string, and its length.
static uint32_t decode_at(const uint8_t *p, int *len) {
  if (p[0] < 0x80) {
    *len = 1;
    return p[0];
  }
  if (p[0] < 0xE0) {
    *len = 2;
    return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (p[0] < 0xF0) {
    *len = 3;
    return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  }
  *len = 4;
  return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
         ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

int64_t hybridc_rt_js_space_prefix(const uint8_t *p, int64_t n) {
  int64_t i = 0;
  while (i < n) {
    int len;
    if (!js_space(decode_at(p + i, &len)))
      break;
    i += len;
  }
  return i;
}

int64_t hybridc_rt_js_space_suffix(const uint8_t *p, int64_t n) {
  int64_t end = n;
  while (end > 0) {
    int64_t start = end - 1;
    while (start > 0 && (p[start] & 0xC0) == 0x80) // back to the lead byte
      --start;
    int len;
    if (!js_space(decode_at(p + start, &len)))
      break;
    end = start;
  }
  return n - end;
}
