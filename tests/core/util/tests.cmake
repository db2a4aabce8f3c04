birkhoff_add_qtest(NAME core.util.atomic_file EXECUTABLE tests_core CLASS TestAtomicFile
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_atomic_file.cpp LABELS unit)
