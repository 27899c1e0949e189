# A CTest fixture step: makes one compiled model variant at test time.
#
#   cmake -DMAKE_MODEL=<hybridc-make-model> -DHYBRIDC=<hybridc> -DDIR=<variant dir>
#         [-DGENERATE="<make-model options>" | -DCOPY_FROM=<checkpoint dir> |
#          -DGGUF=<file.gguf>]
#         [-DCHUNK_SIZE=<n>] [-DKERNEL_CACHE=<dir>] -DCOMPILE="<hybridc compile options>"
#         -P PrepareModel.cmake
#
# Writes DIR/checkpoint (the checkpoint the tests' reference reads, so both
# see exactly the same weights and config) and DIR/out (hybridc compile's
# output). Options are space-separated strings: a CMake list would be split
# by add_test before reaching this script.
foreach(var MAKE_MODEL HYBRIDC DIR COMPILE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "PrepareModel.cmake: -D${var}= is required")
  endif()
endforeach()

# Start clean: a stale out/ from an older compiler must never pass for new.
file(REMOVE_RECURSE ${DIR})
file(MAKE_DIRECTORY ${DIR})
set(checkpoint ${DIR}/checkpoint)

string(TIMESTAMP t0 "%s")
if(DEFINED GGUF)
  # A GGUF file is the checkpoint itself (DIR/checkpoint/<name>.gguf).
  get_filename_component(gguf_name ${GGUF} NAME)
  file(COPY ${GGUF} DESTINATION ${checkpoint})
  set(checkpoint ${checkpoint}/${gguf_name})
elseif(DEFINED COPY_FROM)
  file(COPY ${COPY_FROM}/config.json ${COPY_FROM}/model.safetensors DESTINATION ${checkpoint})
else()
  separate_arguments(gen_args UNIX_COMMAND "${GENERATE}")
  execute_process(COMMAND ${MAKE_MODEL} -o ${checkpoint} ${gen_args}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "hybridc-make-model ${GENERATE} failed (${rc})")
  endif()
endif()

if(DEFINED CHUNK_SIZE)
  # Small scan chunks make multi-chunk prefill cheap to test; the reference
  # reads this same config.json, so it uses the same chunk size.
  file(READ ${checkpoint}/config.json config)
  string(REGEX REPLACE "\"mamba_chunk_size\": *[0-9]+" "\"mamba_chunk_size\": ${CHUNK_SIZE}"
         edited "${config}")
  if(edited STREQUAL config)
    message(FATAL_ERROR "no mamba_chunk_size in ${checkpoint}/config.json to set to ${CHUNK_SIZE}")
  endif()
  file(WRITE ${checkpoint}/config.json "${edited}")
endif()

string(TIMESTAMP t1 "%s")
separate_arguments(compile_args UNIX_COMMAND "${COMPILE}")
if(DEFINED KERNEL_CACHE) # the suite's shared kernel cache
  set(ENV{HYBRIDC_KERNEL_CACHE} ${KERNEL_CACHE})
endif()
execute_process(COMMAND ${HYBRIDC} compile ${checkpoint} -o ${DIR}/out ${compile_args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hybridc compile ${COMPILE} failed (${rc})")
endif()
string(TIMESTAMP t2 "%s")
math(EXPR gen_s "${t1} - ${t0}")
math(EXPR compile_s "${t2} - ${t1}")
message(STATUS "prepared ${DIR}: checkpoint ${gen_s} s, compile ${compile_s} s")
