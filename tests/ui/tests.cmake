birkhoff_add_qtest(NAME ui.main_window EXECUTABLE tests_ui CLASS TestMainWindow
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_main_window.cpp LABELS gui)
