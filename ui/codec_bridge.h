// Translation between the studio's value types and the codec's: CompressionSettings ->
// codec::CompressOptions, codec::CompressionReport -> LayerReport. The only ui file besides the
// sessions that includes codec headers (so widgets stay free of LibTorch).
#pragma once

#include "ui/compression_settings.h"
#include "ui/layer_report.h"

#include "core/codec/compressor.h"
#include "core/codec/report.h"

namespace birkhoff::ui {

/// The codec options for `settings`: global l / U list / M, and one exact-name override rule per
/// per-layer override. `originalFileBytes` is the checkpoint file size (for the ratio).
codec::CompressOptions toCompressOptions(const CompressionSettings& settings, quint64 originalFileBytes);

/// The report as the plots and table show it. Rows whose tensor has an override in `settings`
/// are marked. `estimate`/`sampledFraction` describe where the report came from.
LayerReport toLayerReport(const codec::CompressionReport& report, const CompressionSettings& settings, bool estimate,
                          double sampledFraction);

}  // namespace birkhoff::ui
