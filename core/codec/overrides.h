// Per-layer overrides (an extension beyond the paper): a JSON file of rules that change l, the
// U list, M or force raw storage for the tensors whose names match a glob pattern.
//
//   { "overrides": [
//       { "pattern": "image_encoder.blocks.*.attn.qkv.weight", "l": 0.05, "U": [1600], "M": 2 },
//       { "pattern": "mask_decoder.*", "keep_raw": true } ] }
//
// (a bare array of rules is accepted too). In a pattern `*` matches any run of characters (dots
// included) and `?` one character; the whole name must match. Every rule that matches a tensor
// applies, in file order, so later rules refine earlier ones. Unknown fields are errors.
#pragma once

#include "core/codec/settings.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::codec {

struct OverrideRule {
    std::string pattern;
    std::optional<float> l;
    std::optional<std::vector<std::uint32_t>> uList;
    std::optional<std::uint32_t> maxRings;
    std::optional<bool> keepRaw;
};

/// True when `name` matches the glob `pattern` (`*` any run, `?` one character).
bool globMatch(const std::string& pattern, const std::string& name);

/// Parses rules from JSON text; `source` names the file in messages.
/// @throws Error on malformed JSON, unknown fields, wrong types, or invalid values (l <= 0,
///   U not a perfect square, M too large).
std::vector<OverrideRule> parseOverrides(const std::string& json, const std::string& source);

/// Reads and parses an overrides file. @throws Error as parseOverrides, or if unreadable.
std::vector<OverrideRule> readOverrides(const std::filesystem::path& path);

/// `base` with every matching rule applied in order; `matched` (optional) receives, per rule,
/// whether it matched this name.
TensorSettings applyOverrides(const TensorSettings& base, const std::vector<OverrideRule>& rules,
                              const std::string& name, std::vector<bool>* matched = nullptr);

}  // namespace birkhoff::codec
