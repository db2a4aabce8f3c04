# libFuzzer targets for the LibTorch-free parsers (restricted unpickler + state-dict layer,
# safetensors header, zip central directory, range decoder of entropy-coded indices). Each test builds its target with clang at test
# time (ASan + UBSan), runs it for a bounded time on a generated seed corpus, and fails only if
# something is found; without clang/libFuzzer it is reported as skipped.
foreach(target_seconds unpickler:60 safetensors_header:60 zip_reader:30 index_stream:30)
  string(REPLACE ":" ";" pair ${target_seconds})
  list(GET pair 0 target)
  list(GET pair 1 seconds)
  add_test(NAME fuzz.${target}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run_fuzzer.sh ${target} ${seconds} ${PROJECT_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz/${target} ${BIRKHOFF_SHARED_DIR})
  set_tests_properties(fuzz.${target} PROPERTIES
    LABELS slow
    TIMEOUT 300
    SKIP_REGULAR_EXPRESSION "BIRKHOFF-SKIP")
endforeach()
