birkhoff_add_qtest(NAME core.models.hyper_linear EXECUTABLE tests_core CLASS TestHyperLinearModel
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_hyper_linear.cpp LABELS unit)
