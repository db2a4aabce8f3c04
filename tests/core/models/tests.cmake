birkhoff_add_qtest(NAME core.models.family EXECUTABLE tests_core CLASS TestFamily
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/sam_keys.cpp ${CMAKE_CURRENT_LIST_DIR}/test_family.cpp LABELS unit)
birkhoff_add_qtest(NAME core.models.family_golden EXECUTABLE tests_core CLASS TestFamilyGolden LABELS golden)
