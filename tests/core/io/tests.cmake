birkhoff_add_qtest(NAME core.io.safetensors EXECUTABLE tests_core CLASS TestSafetensors
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_safetensors.cpp LABELS unit)
birkhoff_add_qtest(NAME core.io.safetensors_golden EXECUTABLE tests_core CLASS TestSafetensorsGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_safetensors_golden.cpp LABELS golden)
