//===- Variants.cpp - which of a library's CPU variants a model opens -----===//
//
// A library compiled for several targets holds one model descriptor per
// variant. Opening it picks one: the variant HYBRIDC_CPU names (for tests
// and for users comparing variants; refused when the library lacks it or
// this CPU cannot run it), else the highest level of cpu_check.h this CPU
// runs. A CPU that runs none of them is told what each variant needs.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include "hybridc/cpu_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace {

const char *library_name(const hybridc_library_desc *lib) {
  return lib->name ? lib->name : "(unnamed)";
}

// Appends "a, b, c" (each variant's target; with `missing`, what this CPU
// lacks for it) to buf.
void list_variants(const hybridc_library_desc *lib, const char *(*missing)(const char *),
                   char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int32_t i = 0; i < lib->num_variants && used < size; ++i) {
    const char *target = lib->variants[i]->target;
    int n = missing ? snprintf(buf + used, size - used, "%s%s (lacks %s)", i ? ", " : "", target,
                               missing(target))
                    : snprintf(buf + used, size - used, "%s%s", i ? ", " : "", target);
    if (n < 0)
      break;
    used += (size_t)n;
  }
}

int check_library(const hybridc_library_desc *lib) {
  if (!lib)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "library descriptor is NULL");
  if (lib->num_variants < 1 || !lib->variants)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "library descriptor of '%s' lists no variant (%d)", library_name(lib),
                           lib->num_variants);
  for (int32_t i = 0; i < lib->num_variants; ++i)
    if (!lib->variants[i] || !lib->variants[i]->target)
      return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                             "library descriptor of '%s': variant %d has no descriptor or target",
                             library_name(lib), i);
  return HYBRIDC_OK;
}

} // namespace

extern "C" {

int hybridc_rt_choose_variant(const hybridc_library_desc *lib, const char *forced,
                              const char *(*missing)(const char *target), int32_t *chosen) {
  int status = check_library(lib);
  if (status != HYBRIDC_OK)
    return status;
  if (!missing || !chosen)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "choose_variant: missing or chosen is NULL");
  char names[512];
  if (forced && *forced) {
    for (int32_t i = 0; i < lib->num_variants; ++i) {
      const char *target = lib->variants[i]->target;
      if (strcmp(target, forced) != 0)
        continue;
      if (const char *lacks = missing(target))
        return hybridc_rt_fail(HYBRIDC_ERR_CPU,
                               "model_open: " HYBRIDC_CPU_ENV "=%s asks for variant %s of '%s', "
                               "but this CPU lacks %s",
                               forced, target, library_name(lib), lacks);
      *chosen = i;
      return HYBRIDC_OK;
    }
    list_variants(lib, NULL, names, sizeof names);
    return hybridc_rt_fail(HYBRIDC_ERR_CPU,
                           "model_open: " HYBRIDC_CPU_ENV "=%s names no variant of '%s' "
                           "(it holds %s)",
                           forced, library_name(lib), names);
  }
  int32_t best = -1;
  for (int32_t i = 0; i < lib->num_variants; ++i) {
    const char *target = lib->variants[i]->target;
    if (missing(target))
      continue;
    if (best < 0 || hybridc_target_level(target) > hybridc_target_level(lib->variants[best]->target))
      best = i;
  }
  if (best < 0) {
    list_variants(lib, missing, names, sizeof names);
    return hybridc_rt_fail(HYBRIDC_ERR_CPU,
                           "model_open: this CPU runs no variant of '%s': %s (compile it with "
                           "--target host, or a target this CPU runs)",
                           library_name(lib), names);
  }
  *chosen = best;
  return HYBRIDC_OK;
}

int hybridc_rt_library_open(const hybridc_library_desc *lib, const char *weights_path,
                            int32_t flags, hybridc_model **out) {
  if (!out)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "model_open: out is NULL");
  *out = NULL;
  int32_t chosen = 0;
  int status = hybridc_rt_choose_variant(lib, getenv(HYBRIDC_CPU_ENV),
                                         hybridc_cpu_missing_feature, &chosen);
  if (status != HYBRIDC_OK)
    return status;
  return hybridc_rt_model_open_ex(lib->variants[chosen], weights_path, flags, out);
}

} // extern "C"
