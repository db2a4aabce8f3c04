birkhoff_add_qtest(NAME core.predict.minisam_golden EXECUTABLE tests_core CLASS TestMinisamGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_minisam_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.predict.predictor EXECUTABLE tests_core CLASS TestPredictor
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_predictor.cpp LABELS unit)
