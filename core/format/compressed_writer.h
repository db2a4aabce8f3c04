// Writing a CompressedModel as hyper_model.safetensors in the authors' layout: the same key
// names, dtypes and shapes as utils/model_encode.py (rect_l f32 0-d, num_inner_list i64 [n],
// per tensor load_type u8 ([1] for buffers / tensors under 10 elements, 0-d otherwise),
// origin_param or encoded_index u8 [bytes], uint_i / padding_bits / if_padding / U (position) /
// K u8 0-d, center_node / farthest_node f32 [2], original_shape i64 [ndim]), tensors ordered by
// dtype then name like the safetensors Python library, so the official decoder reads our files.
// Our additions live in __metadata__ (format tag, writer, checkpoint order, settings); a tensor
// whose l differs from the global one gets a `<name>.rect_l` key, and such files list their
// extensions under kMetaExtensions (they are meant for Birkhoff Studio only).
#pragma once

#include "core/format/encoded_tensor.h"

#include <cstdint>
#include <filesystem>

namespace birkhoff::format {

/// The file's tensors (key layout above) in checkpoint order.
/// @throws Error when a tensor is inconsistent (U not in uList at its position, missing data).
io::StateDict compressedFileTensors(const CompressedModel& model);

/// The file's __metadata__: model.metadata plus kMetaFormat, kMetaWriter, kMetaTensorOrder and,
/// when model.extensions is non-empty or a tensor has its own l, kMetaExtensions.
io::SafetensorsMetadata compressedFileMetadata(const CompressedModel& model);

/// Writes the file atomically (no partial file on error or cancellation).
/// @throws Error on inconsistent content or I/O failure.
void writeCompressedModel(const std::filesystem::path& path, const CompressedModel& model);

/// Exact size in bytes writeCompressedModel() would produce.
std::uint64_t compressedFileSize(const CompressedModel& model);

/// Bytes of tensor data stored for one tensor (all of its keys, JSON header excluded).
std::uint64_t storedTensorBytes(const EncodedTensor& tensor, bool ownL);

}  // namespace birkhoff::format
