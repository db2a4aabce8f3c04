// Translation between the studio's value types and the codec's: CompressionSettings ->
// codec::CompressOptions, codec::CompressionReport -> LayerReport. The only ui file besides the
// sessions that includes codec headers (so widgets stay free of LibTorch).
#pragma once

#include "ui/compression_settings.h"
#include "ui/layer_report.h"

#include "core/codec/compressor.h"
#include "core/codec/report.h"
#include "core/format/encoded_tensor.h"

namespace birkhoff::ui {

/// The codec options for `settings`: global l / U list / M, and one exact-name override rule per
/// per-layer override. `originalFileBytes` is the checkpoint file size (for the ratio).
codec::CompressOptions toCompressOptions(const CompressionSettings& settings, quint64 originalFileBytes);

/// The settings a compressed file was written with: l, U, M and the per-layer overrides (keep raw,
/// own l) from its settings metadata (format::kMetaSettings); for files without it (the
/// authors' layout) the file's global rect_l and U list with M = 3 and no overrides. Override
/// rules the studio cannot express (own U or M) are left out.
CompressionSettings compressionSettingsOf(const format::CompressedModel& model);

/// The report as the plots and table show it. Rows whose tensor has an override in `settings`
/// are marked. `estimate`/`sampledFraction` describe where the report came from.
LayerReport toLayerReport(const codec::CompressionReport& report, const CompressionSettings& settings, bool estimate,
                          double sampledFraction);

}  // namespace birkhoff::ui
