birkhoff_add_qtest(NAME core.predict.predictor EXECUTABLE tests_core CLASS TestPredictor
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_predictor.cpp LABELS unit)
