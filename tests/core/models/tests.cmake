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
