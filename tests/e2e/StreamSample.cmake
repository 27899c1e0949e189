# cmake -DCC= -DSOURCE=<stream_tokens.c> -DOUT=<compiled dir> -DNAME=<prefix>
#       -DHYBRIDC= -DWORK=<scratch dir> [-DRUNNER=<cmd> -DRUN_OUT=<dir>]
#       -P StreamSample.cmake
# Builds the C sample against a compiled library the way its comment tells
# users to, runs it, and checks that the tokens it streams are the greedy
# continuation `hybridc run --generate` produces for the same prompt.
set(prompt 5 17 301 44 9 250 3 77)
set(generate 24)

include(${CMAKE_CURRENT_LIST_DIR}/BuildSample.cmake)
build_sample(stream_tokens)
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
