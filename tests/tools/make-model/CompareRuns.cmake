# cmake -DGENERATOR=... -DOUT=dir -DMODE=same|different -P CompareRuns.cmake
# MODE=same: two runs with seed 7 must give byte-identical files.
# MODE=different: seeds 1 and 2 must give different weights.
if(MODE STREQUAL "same")
  set(_seeds 7 7)
else()
  set(_seeds 1 2)
endif()
set(_i 0)
foreach(_seed IN LISTS _seeds)
  math(EXPR _i "${_i} + 1")
  file(REMOVE_RECURSE ${OUT}/run${_i})
  execute_process(
    COMMAND ${GENERATOR} -o ${OUT}/run${_i} --preset tiny --seed ${_seed}
    RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "generator failed (${_rc}) for seed ${_seed}")
  endif()
endforeach()

execute_process(
  COMMAND ${CMAKE_COMMAND} -E compare_files
    ${OUT}/run1/model.safetensors ${OUT}/run2/model.safetensors
  RESULT_VARIABLE _weights_differ)
execute_process(
  COMMAND ${CMAKE_COMMAND} -E compare_files
    ${OUT}/run1/config.json ${OUT}/run2/config.json
  RESULT_VARIABLE _config_differs)
if(MODE STREQUAL "same")
  if(_weights_differ OR _config_differs)
    message(FATAL_ERROR "same seed gave different output")
  endif()
elseif(NOT _weights_differ)
  message(FATAL_ERROR "seeds 1 and 2 gave identical model.safetensors")
endif()
