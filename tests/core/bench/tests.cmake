birkhoff_add_qtest(NAME core.bench.synthetic_checkpoint EXECUTABLE tests_core CLASS TestSyntheticCheckpoint
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_synthetic_checkpoint.cpp LABELS unit)
