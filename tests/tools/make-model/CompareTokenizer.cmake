# cmake -DGENERATOR=<hybridc-make-model> -DOUT=<dir> -DEXPECTED=<tests/data/tokenizers/sample>
#       -P CompareTokenizer.cmake
# The tokenizer hybridc-make-model writes for the tiny preset is the one the
# tokenizer tests hold reference ids for: a change to the generator must
# come with new reference data (tests/tokenizer/reference/make_expected.mjs).
# --no-tokenizer writes none.
file(REMOVE_RECURSE ${OUT})
execute_process(COMMAND ${GENERATOR} -o ${OUT}/with --preset tiny
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hybridc-make-model failed: ${err}")
endif()
foreach(f tokenizer.json tokenizer_config.json)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/with/${f} ${EXPECTED}/${f}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${OUT}/with/${f} differs from ${EXPECTED}/${f}: copy it there and "
                        "rerun tests/tokenizer/reference/make_expected.mjs sample")
  endif()
endforeach()
execute_process(COMMAND ${GENERATOR} -o ${OUT}/without --preset tiny --no-tokenizer
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0 OR EXISTS ${OUT}/without/tokenizer.json OR
   EXISTS ${OUT}/without/tokenizer_config.json)
  message(FATAL_ERROR "--no-tokenizer still wrote a tokenizer (or failed: ${rc})")
endif()
