/* The public API exactly as `hybridc compile` will emit it: the generated
 * prelude (ABI header + library descriptor declaration) followed by the glue
 * template, here instantiated by CMake for the name "toyrt". Compiled as C
 * to prove the templates are valid C. */
#include "hybridc/runtime_abi.h"
#include "toyrt.h"

extern const hybridc_library_desc hybridc_library;

#include "toyrt_glue.inc"
