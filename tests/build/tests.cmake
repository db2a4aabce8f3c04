# Build checks: the `cuda` preset configures and builds (nvcc for sm_80 and sm_90) even on
# machines without a GPU. Only the CPU preset runs the check (a CUDA build would recurse).
if(NOT BIRKHOFF_WITH_CUDA)
  add_test(NAME build.cuda_preset
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/cuda_preset.sh ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/cuda-preset-check)
  set_tests_properties(build.cuda_preset PROPERTIES LABELS "slow" TIMEOUT 1200
                       SKIP_REGULAR_EXPRESSION "BIRKHOFF-SKIP")
endif()
