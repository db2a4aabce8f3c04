birkhoff_add_qtest(NAME core.format.compressed_format EXECUTABLE tests_core CLASS TestCompressedFormat
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_compressed_format.cpp LABELS unit)
birkhoff_add_qtest(NAME core.format.compressed_format_golden EXECUTABLE tests_core CLASS TestCompressedFormatGolden
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_compressed_format_golden.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/core/codec/birkhoff_golden.cpp LABELS golden)
birkhoff_add_qtest(NAME core.format.index_entropy_coder EXECUTABLE tests_core CLASS TestIndexEntropyCoder
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_index_entropy_coder.cpp LABELS unit)
