birkhoff_add_qtest(NAME core.codec.encoder_golden EXECUTABLE tests_core CLASS TestEncoderGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_encoder_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.codec.lattice_nearest EXECUTABLE tests_core CLASS TestLatticeNearest
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_lattice_nearest.cpp LABELS unit)
birkhoff_add_qtest(NAME core.codec.estimate EXECUTABLE tests_core CLASS TestEstimate
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_estimate.cpp LABELS unit)
birkhoff_add_qtest(NAME core.codec.encoder_properties EXECUTABLE tests_core CLASS TestEncoderProperties
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_encoder_properties.cpp LABELS unit)
birkhoff_add_qtest(NAME core.codec.compressor EXECUTABLE tests_core CLASS TestCompressor
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_compressor.cpp LABELS unit)
birkhoff_add_qtest(NAME core.codec.baseline_quant EXECUTABLE tests_core CLASS TestBaselineQuant
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_baseline_quant.cpp LABELS unit)
birkhoff_add_qtest(NAME core.codec.rate_distortion EXECUTABLE tests_core CLASS TestRateDistortion
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rate_distortion.cpp LABELS unit)
