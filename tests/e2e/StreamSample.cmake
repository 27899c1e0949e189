# cmake -DCC= -DSOURCE=<stream_tokens.c> -DOUT=<compiled dir> -DNAME=<prefix>
#       -DHYBRIDC= -DWORK=<scratch dir> [-DRUNNER=<cmd> -DRUN_OUT=<dir>]
#       -P StreamSample.cmake
# Builds the C sample against a compiled library the way its comment tells
# users to, runs it, and checks that the tokens it streams are the greedy
# continuation `hybridc run --generate` produces for the same prompt.
set(prompt 5 17 301 44 9 250 3 77)
set(generate 24)

# The compile line is the sample's documented one (no -std: the sample uses
# clock_gettime, which strict -std=c99 hides), plus warnings as errors.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(
  COMMAND ${CC} -O2 -Wall -Wextra -Werror -DHYBRIDC_MODEL=${NAME} -I${OUT} ${SOURCE}
          -L${OUT} -l${NAME} -Wl,-rpath,${OUT} -o ${WORK}/stream_tokens
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building stream_tokens.c failed:\n${out}")
endif()

# RUNNER: how to run a cross-built sample (qemu-aarch64 -L <sysroot>); then
# RUN_OUT is the same model compiled for this machine, for `hybridc run`.
separate_arguments(runner UNIX_COMMAND "${RUNNER}")
if(NOT DEFINED RUN_OUT)
  set(RUN_OUT ${OUT})
endif()
execute_process(COMMAND ${runner} ${WORK}/stream_tokens ${OUT}/${NAME}.weights ${generate} ${prompt}
                RESULT_VARIABLE rc OUTPUT_VARIABLE streamed ERROR_VARIABLE err)
message("stream_tokens:\n${streamed}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "stream_tokens exited with ${rc}")
endif()
if(NOT streamed MATCHES "tokens:([ 0-9]+)\n")
  message(FATAL_ERROR "no 'tokens:' line in the output of stream_tokens")
endif()
string(STRIP "${CMAKE_MATCH_1}" from_sample)

string(REPLACE ";" "," csv "${prompt}")
execute_process(COMMAND ${HYBRIDC} run ${RUN_OUT} --tokens ${csv} --generate ${generate}
                RESULT_VARIABLE rc OUTPUT_VARIABLE ran ERROR_VARIABLE err)
message("hybridc run:\n${ran}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hybridc run exited with ${rc}")
endif()
if(NOT ran MATCHES "generated:([ 0-9]+)\n")
  message(FATAL_ERROR "no 'generated:' line in the output of hybridc run")
endif()
string(STRIP "${CMAKE_MATCH_1}" from_run)

string(REGEX MATCHALL "[0-9]+" n "${from_sample}")
list(LENGTH n count)
if(NOT count EQUAL generate)
  message(FATAL_ERROR "stream_tokens streamed ${count} tokens, asked for ${generate}")
endif()
if(NOT from_sample STREQUAL from_run)
  message(FATAL_ERROR "stream_tokens: ${from_sample}\nhybridc run:   ${from_run}\ndiffer")
endif()
message(STATUS "stream_tokens and hybridc run agree: ${from_sample}")
