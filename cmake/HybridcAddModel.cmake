# hybridc_add_model(<target> MODEL <folder|file.gguf> [NAME n] [TARGET t]
#                   [WEIGHTS_DTYPE d] [EMBED_WEIGHTS] [OPTIONS ...])
#
# Compiles a model with `hybridc compile` at build time, again whenever the
# model's files (config.json, *.safetensors, the index; or the .gguf file) or
# hybridc itself change, and defines <target>: an imported shared library to
# link, with the generated header's folder as include directory and
# <NAME>_WEIGHTS_PATH (the NAME upper-cased) defined as the weights file's
# path, or as a null pointer with EMBED_WEIGHTS (the library then opens its
# embedded weights). NAME, the C prefix, defaults to <target> made a C
# identifier; TARGET, WEIGHTS_DTYPE and OPTIONS pass on as --target,
# --weights-dtype and further `hybridc compile` arguments. The folder of the
# library, header, weights and pkg-config file is the target's property
# HYBRIDC_OUTPUT_DIR.
function(hybridc_add_model target)
  cmake_parse_arguments(PARSE_ARGV 1 M "EMBED_WEIGHTS" "MODEL;NAME;TARGET;WEIGHTS_DTYPE"
                        "OPTIONS")
  set(where "hybridc_add_model(${target})")
  if(M_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${where}: unknown arguments: ${M_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT M_MODEL)
    message(FATAL_ERROR "${where}: MODEL <folder|file.gguf> is required")
  endif()
  if(TARGET ${target})
    message(FATAL_ERROR "${where}: a target named ${target} exists already")
  endif()
  get_filename_component(model "${M_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(IS_DIRECTORY "${model}")
    file(GLOB inputs CONFIGURE_DEPENDS "${model}/*.json" "${model}/*.safetensors")
    if(NOT EXISTS "${model}/config.json")
      message(FATAL_ERROR "${where}: MODEL ${model} has no config.json")
    endif()
  elseif(EXISTS "${model}")
    set(inputs "${model}")
  else()
    message(FATAL_ERROR "${where}: MODEL ${model} does not exist")
  endif()
  set(name "${M_NAME}")
  if(NOT name)
    string(MAKE_C_IDENTIFIER "${target}" name)
  endif()

  set(out "${CMAKE_CURRENT_BINARY_DIR}/hybridc-models/${target}")
  # An imported target's include folder must exist when CMake generates.
  file(MAKE_DIRECTORY "${out}")
  set(args compile "${model}" -o "${out}" --name "${name}")
  if(M_TARGET)
    list(APPEND args --target "${M_TARGET}")
  endif()
  if(M_WEIGHTS_DTYPE)
    list(APPEND args --weights-dtype "${M_WEIGHTS_DTYPE}")
  endif()
  if(M_EMBED_WEIGHTS)
    list(APPEND args --embed-weights)
  endif()
  list(APPEND args ${M_OPTIONS})
  set(library "${out}/lib${name}.so")
  set(outputs "${library}" "${out}/${name}.h" "${out}/${name}.pc" "${out}/hybridc-model.json")
  if(NOT M_EMBED_WEIGHTS)
    list(APPEND outputs "${out}/${name}.weights")
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND hybridc::hybridc ${args}
    DEPENDS ${inputs} "$<TARGET_FILE:hybridc::hybridc>"
    COMMENT "hybridc: compiling ${M_MODEL} into ${library}"
    VERBATIM)
  add_custom_target(${target}_hybridc_compile DEPENDS ${outputs})

  add_library(${target} SHARED IMPORTED GLOBAL)
  string(TOUPPER "${name}" upper)
  if(M_EMBED_WEIGHTS)
    set(weights "${upper}_WEIGHTS_PATH=((const char *)0)")
  else()
    set(weights "${upper}_WEIGHTS_PATH=\"${out}/${name}.weights\"")
  endif()
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${library}"
    IMPORTED_SONAME "lib${name}.so"
    INTERFACE_INCLUDE_DIRECTORIES "${out}"
    INTERFACE_COMPILE_DEFINITIONS "${weights}"
    HYBRIDC_OUTPUT_DIR "${out}")
  add_dependencies(${target} ${target}_hybridc_compile)
endfunction()
