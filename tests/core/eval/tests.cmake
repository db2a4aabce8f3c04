birkhoff_add_qtest(NAME core.eval.rle EXECUTABLE tests_core CLASS TestRle
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rle.cpp LABELS unit)
birkhoff_add_qtest(NAME core.eval.dataset EXECUTABLE tests_core CLASS TestDataset
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dataset.cpp LABELS unit)
birkhoff_add_qtest(NAME core.eval.runner EXECUTABLE tests_core CLASS TestRunner
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_runner.cpp LABELS unit)
birkhoff_add_qtest(NAME core.eval.agreement EXECUTABLE tests_core CLASS TestAgreement
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_agreement.cpp LABELS unit)
