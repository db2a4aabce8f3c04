// Extension "tensor_records": one encoded tensor's parameters and entropy-coded indices in a
// single uint8 key, `<name>.record`, instead of the authors' eleven keys. A safetensors header
// spends about 110 bytes of JSON per key, which for a small model compressed tenfold is more
// than a tenth of the file; a record costs one key. Entropy-coded tensors
// (core/format/index_entropy_coder.h) are always written this way.
//
// Layout, little-endian, no alignment:
//   "BR" (2 bytes), version (u8, 1), if_padding (u8), K (u8), uint_i (u8), padding_bits (u8),
//   U (u32), rect_l (f32), center_node (2 x f32), farthest_node (2 x f32),
//   ndim (u8), original_shape (ndim x i64),
//   row scale count (u32: 0 or the scale rows), row scale (count x float16 bits),
//   range-coded indices (the rest of the record).
#pragma once

#include "core/format/encoded_tensor.h"
#include "core/io/state_dict.h"

#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::format {

/// The record bytes of an encoded, entropy-coded tensor.
/// @throws Error if the tensor is raw or its U, K or shape do not fit the record's fields.
std::vector<std::uint8_t> encodeTensorRecord(const EncodedTensor& tensor);

/// U of a record (to fill the file's U list before the records are expanded).
/// @throws Error naming `owner` in `source` for a record too short or with a bad magic.
std::uint32_t tensorRecordU(const at::Tensor& record, const std::string& owner, const std::string& source);

/// The keys a record stands for, as the authors' layout names them (`<name>.original_shape`,
/// `.if_padding`, `.K`, `.uint_i`, `.padding_bits`, `.center_node`, `.farthest_node`, `.rect_l`,
/// plus `.row_scale` and `.encoded_index_rc`), so that one reader validates both forms. `.U`
/// holds the position of the record's U in `uList`.
/// @throws Error naming `owner` in `source` for a truncated record, a bad magic or version, a
///   dimension count above 8, or a U missing from `uList`.
io::StateDict expandTensorRecord(const at::Tensor& record, const std::string& owner, const std::string& source,
                                 const std::vector<std::uint32_t>& uList);

}  // namespace birkhoff::format
