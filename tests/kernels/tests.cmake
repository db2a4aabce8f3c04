birkhoff_add_qtest(NAME kernels.bitpack EXECUTABLE tests_kernels CLASS TestBitpack
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bitpack.cpp LABELS unit)
birkhoff_add_qtest(NAME kernels.decode EXECUTABLE tests_kernels CLASS TestDecode
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_decode.cpp LABELS unit)
birkhoff_add_qtest(NAME kernels.decode_golden EXECUTABLE tests_kernels CLASS TestDecodeGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_decode_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME kernels.hyperlinear EXECUTABLE tests_kernels CLASS TestHyperLinear
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_hyperlinear.cpp LABELS unit)
birkhoff_add_qtest(NAME kernels.hyperlinear_cuda_tiles EXECUTABLE tests_kernels CLASS TestHyperLinearCudaTiles
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_hyperlinear_cuda_tiles.cpp LABELS unit)
birkhoff_add_qtest(NAME kernels.hyperlinear_cuda EXECUTABLE tests_kernels CLASS TestHyperLinearCuda
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_hyperlinear_cuda.cpp LABELS gpu)
