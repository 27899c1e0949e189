# cmake -DCC= -DSOURCE=<serve_streams.c> -DOUT=<compiled dir> -DNAME=<prefix>
#       -DHYBRIDC= -DWORK=<scratch dir> -P ServeSample.cmake
# Builds the multi-stream sample against a compiled library as its comment
# says, runs three streams sharing a system prompt, and checks that each
# stream's tokens are the greedy continuation `hybridc run --generate`
# gives for that stream's whole prompt (system prompt + its own) alone.
set(system "5 17 301 44 9")
set(own "250 3" "77" "12 400 8 61")
set(generate 16)

include(${CMAKE_CURRENT_LIST_DIR}/BuildSample.cmake)
build_sample(serve_streams)

execute_process(COMMAND ${WORK}/serve_streams ${OUT}/${NAME}.weights ${generate} ${system} ${own}
                RESULT_VARIABLE rc OUTPUT_VARIABLE served ERROR_VARIABLE err)
message("serve_streams:\n${served}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "serve_streams exited with ${rc}")
endif()

set(i 0)
foreach(suffix IN LISTS own)
  if(NOT served MATCHES "stream ${i} tokens:([ 0-9]+)\n")
    message(FATAL_ERROR "no 'stream ${i} tokens:' line in the output of serve_streams")
  endif()
  string(STRIP "${CMAKE_MATCH_1}" from_sample)
  string(REPLACE " " "," csv "${system} ${suffix}")
  execute_process(COMMAND ${HYBRIDC} run ${OUT} --tokens ${csv} --generate ${generate}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE ran ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "hybridc run exited with ${rc}:\n${ran}${err}")
  endif()
  if(NOT ran MATCHES "generated:([ 0-9]+)\n")
    message(FATAL_ERROR "no 'generated:' line in the output of hybridc run")
  endif()
  string(STRIP "${CMAKE_MATCH_1}" from_run)
  if(NOT from_sample STREQUAL from_run)
    message(FATAL_ERROR "stream ${i}: serve_streams: ${from_sample}\n"
                        "hybridc run --tokens ${csv}: ${from_run}\ndiffer")
  endif()
  math(EXPR i "${i} + 1")
endforeach()
message(STATUS "each of the ${i} streams matches hybridc run on its own prompt")
