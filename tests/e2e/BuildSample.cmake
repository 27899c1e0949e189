# Included by the sample tests (StreamSample, StreamText, ServeSample):
# builds SOURCE against the library compiled in OUT (prefix NAME) the way
# the samples' comments tell users to, plus warnings as errors (no -std: the
# samples use clock_gettime, which strict -std=c99 hides), into
# WORK/<exe>. Sets `runner`, RUNNER split into a command (how to run a
# cross-built sample: qemu-aarch64 -L <sysroot>; empty on this machine),
# and RUN_OUT, the same model compiled for this machine for `hybridc`
# (OUT unless given).
function(build_sample exe)
  file(REMOVE_RECURSE ${WORK})
  file(MAKE_DIRECTORY ${WORK})
  execute_process(
    COMMAND ${CC} -O2 -Wall -Wextra -Werror -DHYBRIDC_MODEL=${NAME} -I${OUT} ${SOURCE}
            -L${OUT} -l${NAME} -Wl,-rpath,${OUT} -o ${WORK}/${exe}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "building ${SOURCE} failed:\n${out}")
  endif()
endfunction()

separate_arguments(runner UNIX_COMMAND "${RUNNER}")
if(NOT DEFINED RUN_OUT)
  set(RUN_OUT ${OUT})
endif()
