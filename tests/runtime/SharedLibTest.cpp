//===- SharedLibTest.cpp - a model .so linked like a generated one ---------===//
//
// dlopen()s libtoyso.so (C glue + the runtime archive, linked by `cc` with
// --whole-archive and a version script) and runs it through the exported
// prefixed API only.
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdint>
#include <vector>

namespace {

TEST(RuntimeSharedLibrary, RunsThroughTheExportedApiOnly) {
  void *lib = dlopen(HYBRIDC_TOYSO_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  // Runtime internals stay hidden.
  EXPECT_EQ(dlsym(lib, "hybridc_rt_prefill"), nullptr);
  EXPECT_EQ(dlsym(lib, "halide_do_par_for"), nullptr);

  using open_fn = int (*)(const char *, void **);
  using create_fn = int (*)(void *, void **);
  using threads_fn = int (*)(void *, int32_t);
  using prefill_fn = int (*)(void *, const int32_t *, int64_t, float *, int32_t);
  using decode_fn = int (*)(void *, int32_t, float *);
  using free_fn = void (*)(void *);
  using err_fn = const char *(*)();
  auto open = reinterpret_cast<open_fn>(dlsym(lib, "toyso_model_open"));
  auto create = reinterpret_cast<create_fn>(dlsym(lib, "toyso_session_create"));
  auto threads = reinterpret_cast<threads_fn>(dlsym(lib, "toyso_session_set_threads"));
  auto prefill = reinterpret_cast<prefill_fn>(dlsym(lib, "toyso_prefill"));
  auto decode = reinterpret_cast<decode_fn>(dlsym(lib, "toyso_decode"));
  auto sfree = reinterpret_cast<free_fn>(dlsym(lib, "toyso_session_free"));
  auto mclose = reinterpret_cast<free_fn>(dlsym(lib, "toyso_model_close"));
  auto last_error = reinterpret_cast<err_fn>(dlsym(lib, "toyso_last_error"));
  ASSERT_TRUE(open && create && threads && prefill && decode && sfree && mclose && last_error);

  void *m = nullptr, *s = nullptr;
  ASSERT_EQ(open(nullptr, &m), 0) << last_error();
  ASSERT_EQ(create(m, &s), 0) << last_error();
  ASSERT_EQ(threads(s, 2), 0);
  std::vector<int32_t> t = {1, 2, 3, 2, 1, 3, 2};
  std::vector<float> all(t.size() * 5);
  ASSERT_EQ(prefill(s, t.data(), int64_t(t.size()), all.data(), 1), 0) << last_error();
  int64_t sum = 0;
  for (size_t p = 0; p < t.size(); ++p) {
    sum += t[p];
    for (int v = 0; v < 5; ++v)
      EXPECT_EQ(all[p * 5 + size_t(v)], float(sum * 100 + int64_t(p) * 10 + v)) << p << " " << v;
  }
  std::vector<float> l(5);
  ASSERT_EQ(decode(s, 4, l.data()), 0);
  EXPECT_EQ(l[2], float((sum + 4) * 100 + 7 * 10 + 2));
  EXPECT_EQ(decode(s, 5, l.data()), 1); // vocab is 5
  EXPECT_STRNE(last_error(), "");
  sfree(s);
  mclose(m);
  dlclose(lib);
}

} // namespace
