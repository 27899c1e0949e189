# cmake -DCC= -DSOURCE=<stream_text.c> -DOUT=<compiled dir> -DNAME=<prefix>
#       -DHYBRIDC= -DWORK=<scratch dir> [-DRUNNER=<cmd> -DRUN_OUT=<dir>]
#       -P StreamText.cmake
# Builds the text sample against a compiled library the way its comment
# tells users to (warnings as errors), runs it on a prompt, and checks it
# against hybridc: the same text and ids as `hybridc run --prompt`, and the
# same ids as the token path (`hybridc tokenize` of the prompt with its
# special tokens, then `hybridc run --tokens ... --generate`, greedy).
set(prompt "The harbour town woke slowly. On the hill")
set(generate 24)

include(${CMAKE_CURRENT_LIST_DIR}/BuildSample.cmake)
build_sample(stream_text)

execute_process(COMMAND ${runner} ${WORK}/stream_text ${OUT}/${NAME}.weights ${generate} ${prompt}
                RESULT_VARIABLE rc OUTPUT_FILE ${WORK}/sample.txt ERROR_VARIABLE sample_err)
message("stream_text: ${sample_err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "stream_text exited with ${rc}")
endif()
execute_process(COMMAND ${HYBRIDC} run ${RUN_OUT} --prompt ${prompt} --generate ${generate}
                RESULT_VARIABLE rc OUTPUT_FILE ${WORK}/run.txt ERROR_VARIABLE run_err)
message("hybridc run --prompt: ${run_err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hybridc run --prompt exited with ${rc}")
endif()
file(READ ${WORK}/sample.txt sample_hex HEX)
file(READ ${WORK}/run.txt run_hex HEX)
if(NOT sample_hex STREQUAL run_hex)
  message(FATAL_ERROR "stream_text and hybridc run --prompt printed different text:\n"
                      "${sample_hex}\n${run_hex}")
endif()
if(NOT sample_err MATCHES "ids:([ 0-9]*)\n" )
  message(FATAL_ERROR "no ids in stream_text's output")
endif()
string(STRIP "${CMAKE_MATCH_1}" sample_ids)
if(NOT run_err MATCHES "generated [0-9]+[^:]*:([ 0-9]*)\n")
  message(FATAL_ERROR "no ids in hybridc run's output")
endif()
string(STRIP "${CMAKE_MATCH_1}" run_ids)
if(NOT sample_ids STREQUAL run_ids)
  message(FATAL_ERROR "ids differ:\nstream_text: ${sample_ids}\nhybridc run: ${run_ids}")
endif()

# The token path: the prompt's ids, then greedy generation by id. Stopping
# at the end-of-text token makes the text path's list a prefix of it.
execute_process(COMMAND ${HYBRIDC} tokenize ${RUN_OUT} --text ${prompt} --add-special
                RESULT_VARIABLE rc OUTPUT_VARIABLE prompt_ids ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hybridc tokenize failed: ${err}")
endif()
string(STRIP "${prompt_ids}" prompt_ids)
string(REPLACE " " "," csv "${prompt_ids}")
execute_process(COMMAND ${HYBRIDC} run ${RUN_OUT} --tokens ${csv} --generate ${generate}
                RESULT_VARIABLE rc OUTPUT_VARIABLE ran ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT ran MATCHES "generated:([ 0-9]+)\n")
  message(FATAL_ERROR "hybridc run --tokens failed: ${ran}${err}")
endif()
string(STRIP "${CMAKE_MATCH_1}" token_ids)
string(LENGTH "${sample_ids}" n)
string(SUBSTRING "${token_ids}" 0 ${n} token_prefix)
if(NOT token_prefix STREQUAL sample_ids)
  message(FATAL_ERROR "the text path's ids are not the token path's:\n"
                      "text:  ${sample_ids}\ntokens: ${token_ids}")
endif()
message(STATUS "stream_text, hybridc run --prompt and --tokens agree: ${sample_ids}")
