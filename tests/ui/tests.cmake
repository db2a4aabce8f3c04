# GUI tests (offscreen): widgets on synthetic data, the studio end to end on the golden tiny SAM
# and on every family's small model, cancellation, responsiveness under a ViT-B-sized model, and
# the --screenshot mode under Xvfb.
set(BIRKHOFF_UI_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
birkhoff_add_qtest(NAME ui.main_window EXECUTABLE tests_ui CLASS TestMainWindow
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_main_window.cpp ${BIRKHOFF_UI_TEST_DIR}/scripted_dialogs.h LABELS gui)
birkhoff_add_qtest(NAME ui.compression_panel EXECUTABLE tests_ui CLASS TestCompressionPanel
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_compression_panel.cpp ${BIRKHOFF_UI_TEST_DIR}/synthetic_report.h LABELS gui)
birkhoff_add_qtest(NAME ui.plots EXECUTABLE tests_ui CLASS TestPlots
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_plots.cpp LABELS gui)
birkhoff_add_qtest(NAME ui.image_pane EXECUTABLE tests_ui CLASS TestImagePane
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_image_pane.cpp LABELS gui)
birkhoff_add_qtest(NAME ui.settings EXECUTABLE tests_ui CLASS TestStudioSettings
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_settings.cpp LABELS gui)
birkhoff_add_qtest(NAME ui.studio_golden EXECUTABLE tests_ui CLASS TestStudioGolden
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_studio_golden.cpp LABELS gui golden)
# Every SAM family's small random-weight model (built by tests/core/models/family_test_support).
birkhoff_add_qtest(NAME ui.studio_models EXECUTABLE tests_ui CLASS TestStudioModels
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_studio_models.cpp
          ${PROJECT_SOURCE_DIR}/tests/core/models/family_test_support.cpp
          ${PROJECT_SOURCE_DIR}/tests/core/models/model_test_support.cpp
          ${PROJECT_SOURCE_DIR}/tests/core/models/sam_keys.cpp
  LABELS gui)
# Those helpers include Qt before LibTorch, whose JIT headers use the identifier `slots`; tests_ui
# has no precompiled LibTorch header to put it first (tests_core has), so Qt's keywords are off.
set_source_files_properties(
  ${PROJECT_SOURCE_DIR}/tests/core/models/family_test_support.cpp
  ${PROJECT_SOURCE_DIR}/tests/core/models/model_test_support.cpp
  ${PROJECT_SOURCE_DIR}/tests/core/models/sam_keys.cpp
  PROPERTIES COMPILE_DEFINITIONS QT_NO_KEYWORDS)
birkhoff_add_qtest(NAME ui.studio_cancel EXECUTABLE tests_ui CLASS TestStudioCancel
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_studio_cancel.cpp LABELS gui)
birkhoff_add_qtest(NAME ui.studio_responsiveness EXECUTABLE tests_ui CLASS TestStudioResponsiveness
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_studio_responsiveness.cpp LABELS gui slow TIMEOUT 900)
birkhoff_add_qtest(NAME ui.screenshot EXECUTABLE tests_ui CLASS TestScreenshot
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_screenshot.cpp LABELS gui slow TIMEOUT 300)
birkhoff_add_qtest(NAME ui.studio_layout EXECUTABLE tests_ui CLASS TestStudioLayout
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_studio_layout.cpp LABELS gui golden
  ENVIRONMENT QT_QPA_PLATFORM=offscreen:configfile=${BIRKHOFF_UI_TEST_DIR}/screen_1280x720.json)
birkhoff_add_qtest(NAME ui.studio_details EXECUTABLE tests_ui CLASS TestStudioDetails
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_studio_details.cpp LABELS gui golden)
# Ctrl+E / Ctrl+U in text fields: the line-editing bindings that swallowed them are X11's, so this
# class runs on the xcb platform under xvfb-run (without xvfb-run it runs offscreen and skips).
target_sources(tests_ui PRIVATE ${BIRKHOFF_UI_TEST_DIR}/test_text_field_shortcuts.cpp)
find_program(BIRKHOFF_XVFB_RUN xvfb-run)
if(BIRKHOFF_XVFB_RUN)
  add_test(NAME ui.text_field_shortcuts
    COMMAND ${BIRKHOFF_XVFB_RUN} -a -s "-screen 0 1280x720x24" $<TARGET_FILE:tests_ui> TestTextFieldShortcuts)
  set_tests_properties(ui.text_field_shortcuts PROPERTIES LABELS gui TIMEOUT 120
    SKIP_REGULAR_EXPRESSION "BIRKHOFF-SKIP" ENVIRONMENT "QT_QPA_PLATFORM=xcb")
else()
  birkhoff_add_qtest(NAME ui.text_field_shortcuts EXECUTABLE tests_ui CLASS TestTextFieldShortcuts LABELS gui)
endif()
birkhoff_add_qtest(NAME ui.agreement_frontier EXECUTABLE tests_ui CLASS TestAgreementFrontier
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_agreement_frontier.cpp LABELS gui)
birkhoff_add_qtest(NAME ui.model_download EXECUTABLE tests_ui CLASS TestModelDownload
  SOURCES ${BIRKHOFF_UI_TEST_DIR}/test_model_download.cpp LABELS gui)
