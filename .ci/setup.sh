#!/usr/bin/env bash
# hybridc set-up: installs missing Debian 12 packages (as root, idempotent),
# configures and builds, then runs what was asked:
#   bash .ci/setup.sh demo   the main job (build, compile the sample model, stream tokens)
#   bash .ci/setup.sh test   build + the whole test suite (what CI runs)
#   bash .ci/setup.sh build  build only
# Environment: HYBRIDC_BUILD_DIR (default build/), HYBRIDC_JOBS (default 2).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HYBRIDC_BUILD_DIR:-$root/build}
jobs=${HYBRIDC_JOBS:-2}
mode=${1:-build}

# Everything comes from Debian 12 main. python3 runs lit; g++ builds; the
# LLVM/MLIR dev packages do not pull in the tools (mlir-tblgen, FileCheck).
packages=(g++ cmake ninja-build python3
          llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
          libhalide14-0-dev libgtest-dev libgmock-dev libcli11-dev)

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

configure_and_build() {
  if [ ! -f "$build/build.ninja" ]; then
    cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release
  fi
  cmake --build "$build" -j "$jobs"
}

install_packages
configure_and_build

case "$mode" in
  build) ;;
  demo)
    # The main job: compile the bundled sample model into a standalone
    # library, link a C program against its header, stream tokens through it.
    sample="$build/samples/tiny"
    out="$build/demo"
    "$build/bin/hybridc" compile "$sample" -o "$out" --name sample
    cc -O2 -DHYBRIDC_MODEL=sample -I "$out" "$root/samples/stream/stream_tokens.c" \
       -L "$out" -lsample -Wl,-rpath,"$out" -o "$out/stream_tokens"
    echo "== $out/stream_tokens: prompt 1 2 3 4 5 6 7 8, 32 tokens greedily"
    "$out/stream_tokens" "$out/sample.weights" 32 1 2 3 4 5 6 7 8
    ;;
  test)
    ctest --test-dir "$build" --output-on-failure -j "$jobs"
    ;;
  *)
    echo "usage: bash .ci/setup.sh [build|demo|test]" >&2
    exit 2
    ;;
esac
