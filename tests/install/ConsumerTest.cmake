# cmake -DBUILD= -DSOURCE=<samples/cmake-consumer> -DMAKE_MODEL= -DWORK= -DGENERATOR= -DCC=
#       -P ConsumerTest.cmake
# 1. Installs the build into WORK/staged and moves it to WORK/prefix: the
#    installed hybridc must find its runtime pieces relative to itself.
# 2. Builds the consumer project against WORK/prefix: hybridc_add_model
#    compiles the model at build time with the installed hybridc (the compile
#    log names the runtime's prefix), and the program's greedy tokens equal
#    `hybridc run --generate` on the same library.
# 3. A second build does nothing; touching the model's config recompiles.
# 4. The library's pkg-config file builds the same program by hand.
set(prompt 5 17 301 44 9)
set(generate 16)

function(run)
  cmake_parse_arguments(R "" "OUTPUT" "" ${ARGN})
  execute_process(COMMAND ${R_UNPARSED_ARGUMENTS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN R_UNPARSED_ARGUMENTS " " line)
    message(FATAL_ERROR "failed (${rc}): ${line}\n${out}")
  endif()
  if(R_OUTPUT)
    set(${R_OUTPUT} "${out}" PARENT_SCOPE)
  endif()
endfunction()

function(tokens_of text prefix var)
  if(NOT text MATCHES "${prefix}([ 0-9]+)\n")
    message(FATAL_ERROR "no '${prefix}' line in:\n${text}")
  endif()
  string(STRIP "${CMAKE_MATCH_1}" t)
  set(${var} "${t}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
run(${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/staged)
file(RENAME ${WORK}/staged ${WORK}/prefix)
set(prefix ${WORK}/prefix)
foreach(f bin/hybridc bin/hybridc-opt lib/libhybridc_runtime.a include/hybridc/runtime_abi.h
          include/hybridc/halide/HalideRuntime.h share/hybridc/templates/model_api.h.in
          lib/cmake/hybridc/hybridcConfig.cmake lib/cmake/hybridc/HybridcAddModel.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "cmake --install did not install ${f}")
  endif()
endforeach()

run(${MAKE_MODEL} -o ${WORK}/model --preset tiny --seed 1 --untied)
run(${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/consumer -G ${GENERATOR}
    -DCMAKE_C_COMPILER=${CC} -DCMAKE_PREFIX_PATH=${prefix} -DMODEL=${WORK}/model)
run(${CMAKE_COMMAND} --build ${WORK}/consumer OUTPUT built)
message("first build:\n${built}")
if(NOT built MATCHES "hybridc: compiling")
  message(FATAL_ERROR "the first build did not compile the model")
endif()
if(NOT built MATCHES "runtime ${prefix}/lib/libhybridc_runtime.a")
  message(FATAL_ERROR "the model was not linked with the installed runtime (${prefix})")
endif()

set(out ${WORK}/consumer/hybridc-models/chat_model)
run(${WORK}/consumer/greedy ${generate} ${prompt} OUTPUT greedy)
tokens_of("${greedy}" "tokens:" from_program)
string(REPLACE ";" "," csv "${prompt}")
run(${prefix}/bin/hybridc run ${out} --tokens ${csv} --generate ${generate} OUTPUT ran)
tokens_of("${ran}" "generated:" from_run)
if(NOT from_program STREQUAL from_run)
  message(FATAL_ERROR "greedy printed '${from_program}', hybridc run '${from_run}'")
endif()
message("greedy and hybridc run agree: ${from_run}")

run(${CMAKE_COMMAND} --build ${WORK}/consumer OUTPUT again)
if(again MATCHES "hybridc: compiling")
  message(FATAL_ERROR "a build with nothing changed recompiled the model:\n${again}")
endif()
file(TOUCH ${WORK}/model/config.json)
run(${CMAKE_COMMAND} --build ${WORK}/consumer OUTPUT touched)
if(NOT touched MATCHES "hybridc: compiling")
  message(FATAL_ERROR "changing the model's config.json did not recompile it:\n${touched}")
endif()

find_program(PKG_CONFIG pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} ${out})
run(${PKG_CONFIG} --cflags --libs chat OUTPUT flags)
run(${PKG_CONFIG} --variable=weights chat OUTPUT weights)
string(STRIP "${weights}" weights)
if(NOT weights STREQUAL "${out}/chat.weights")
  message(FATAL_ERROR "pkg-config's weights variable is '${weights}', not ${out}/chat.weights")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${CC} -O2 -Wall -Werror "-DCHAT_WEIGHTS_PATH=\"${weights}\"" ${SOURCE}/greedy.c ${flags}
    -o ${WORK}/greedy-pc)
run(${WORK}/greedy-pc ${generate} ${prompt} OUTPUT by_hand)
tokens_of("${by_hand}" "tokens:" from_pc)
if(NOT from_pc STREQUAL from_run)
  message(FATAL_ERROR "the pkg-config build printed '${from_pc}', hybridc run '${from_run}'")
endif()
