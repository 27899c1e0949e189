# lit configuration for the hybrid dialect tests. Loaded from the generated
# lit.site.cfg.py in the build tree, which sets the tool directories.
import os
import sys

import lit.formats

config.name = "hybridc"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.hybridc_obj_root

# hybridc-opt from this build first, then FileCheck / not from LLVM 19, so an
# unrelated FileCheck earlier on PATH is never picked up.
config.environment["PATH"] = os.pathsep.join(
    [config.hybridc_tools_dir, config.llvm_tools_dir,
     config.environment.get("PATH", os.environ.get("PATH", ""))])

# Compiles share the suite's kernel cache (tests/CMakeLists.txt).
config.environment["HYBRIDC_KERNEL_CACHE"] = config.kernel_cache_dir

# Test data shipped with the sources (the golden model folder).
config.substitutions.append(
    ("%testdata", os.path.join(os.path.dirname(config.test_source_root), "data")))
config.substitutions.append(("%python", sys.executable))
# The folder of this build's tools alone, for runs with a PATH that lacks the
# system's compilers.
config.substitutions.append(("%bindir", config.hybridc_tools_dir))

# What this CPU runs, for tests that run code of a given target
# (`REQUIRES: avx512-bf16`): the instruction sets of runtime/include/hybridc/
# cpu_check.h, as the kernel reports them.
def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()

_flags = _cpu_flags()
_avx512 = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}
if _avx512 <= _flags:
    config.available_features.add("avx512")
    if {"avx512ifma", "avx512vbmi", "avx512_bf16", "avx512_vnni"} <= _flags:
        config.available_features.add("avx512-bf16")
