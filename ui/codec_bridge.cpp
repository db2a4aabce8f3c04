// Studio value types <-> codec types (see codec_bridge.h).
#include "ui/codec_bridge.h"

#include <nlohmann/json.hpp>

namespace birkhoff::ui {

codec::CompressOptions toCompressOptions(const CompressionSettings& settings, quint64 originalFileBytes)
{
    codec::CompressOptions options;
    options.originalFileBytes = originalFileBytes;
    if (settings.rdTargetRatio) {
        codec::RateDistortionOptions rd;
        rd.targetRatio = *settings.rdTargetRatio;
        options.rateDistortion = rd;
        return options;
    }
    options.defaults.l = static_cast<float>(settings.l);
    options.defaults.uList.assign(settings.uList.cbegin(), settings.uList.cend());
    options.defaults.maxRings = static_cast<std::uint32_t>(settings.maxRings);
    options.originalFileBytes = originalFileBytes;
    for (auto it = settings.overrides.cbegin(); it != settings.overrides.cend(); ++it) {
        codec::OverrideRule rule;
        rule.pattern = it.key().toStdString();
        if (it.value().keepRaw)
            rule.keepRaw = true;
        if (it.value().l)
            rule.l = static_cast<float>(*it.value().l);
        options.overrides.push_back(rule);
    }
    switch (settings.latticeMode) {
    case LatticeMode::GlobalL: break;
    case LatticeMode::AutoL: options.autoL = true; break;
    case LatticeMode::TargetMae: options.targetMae = settings.target; break;
    case LatticeMode::TargetRatio: options.targetRatio = settings.target; break;
    }
    return options;
}

CompressionSettings compressionSettingsOf(const format::CompressedModel& model)
{
    CompressionSettings settings;
    settings.l = codec::shortestDecimal(model.l);
    settings.uList = QVector<quint32>(model.uList.begin(), model.uList.end());
    for (const auto& [key, value] : model.metadata) {
        if (key != format::kMetaSettings)
            continue;
        const nlohmann::json s = nlohmann::json::parse(value, nullptr, false);
        if (!s.is_object())
            break;
        if (s.value("codec", std::string()) == "rate_distortion") {
            if (const auto r = s.find("target_ratio"); r != s.end() && r->is_number())
                settings.rdTargetRatio = r->get<double>();
            break;
        }
        if (const auto l = s.find("l"); l != s.end() && l->is_number())
            settings.l = l->get<double>();
        if (const auto u = s.find("U"); u != s.end() && u->is_array() && !u->empty()) {
            QVector<quint32> uList;
            for (const auto& v : *u)
                if (v.is_number_unsigned())
                    uList.append(v.get<quint32>());
            if (uList.size() == static_cast<int>(u->size()))
                settings.uList = uList;
        }
        if (const auto m = s.find("M"); m != s.end() && m->is_number_unsigned())
            settings.maxRings = m->get<int>();
        if (const auto mae = s.find("target_mae"); mae != s.end() && mae->is_number()) {
            settings.latticeMode = LatticeMode::TargetMae;
            settings.target = mae->get<double>();
        } else if (const auto ratio = s.find("target_ratio"); ratio != s.end() && ratio->is_number()) {
            settings.latticeMode = LatticeMode::TargetRatio;
            settings.target = ratio->get<double>();
        } else if (const auto autoL = s.find("auto_l"); autoL != s.end() && autoL->is_boolean() && autoL->get<bool>()) {
            settings.latticeMode = LatticeMode::AutoL;
        }
        if (const auto rules = s.find("overrides"); rules != s.end() && rules->is_array()) {
            for (const auto& rule : *rules) {
                if (!rule.is_object() || !rule.contains("pattern") || !rule["pattern"].is_string() ||
                    rule.contains("U") || rule.contains("M"))
                    continue;
                LayerOverride o;
                o.keepRaw = rule.value("keep_raw", false);
                if (rule.contains("l") && rule["l"].is_number())
                    o.l = rule["l"].get<double>();
                if (o.keepRaw || o.l)
                    settings.overrides.insert(QString::fromStdString(rule["pattern"].get<std::string>()), o);
            }
        }
        break;
    }
    return settings;
}

namespace {

LayerPath layerPath(codec::StoragePath path)
{
    switch (path) {
    case codec::StoragePath::Hyper: return LayerPath::Hyper;
    case codec::StoragePath::Raw: return LayerPath::Raw;
    case codec::StoragePath::Buffer: return LayerPath::Buffer;
    case codec::StoragePath::Small: return LayerPath::Small;
    }
    return LayerPath::Raw;
}

}  // namespace

LayerReport toLayerReport(const codec::CompressionReport& report, const CompressionSettings& settings, bool estimate,
                          double sampledFraction)
{
    LayerReport out;
    out.originalBytes = report.originalBytes;
    out.compressedBytes = report.compressedBytes;
    out.parameters = report.parameters;
    out.seconds = report.seconds;
    out.isEstimate = estimate;
    out.sampledFraction = sampledFraction;
    for (const std::string& w : report.warnings)
        out.warnings.append(QString::fromStdString(w));
    out.rows.reserve(static_cast<int>(report.tensors.size()));
    for (const codec::TensorReport& t : report.tensors) {
        LayerRow row;
        row.name = QString::fromStdString(t.name);
        row.shape.reserve(static_cast<int>(t.shape.size()));
        for (std::int64_t d : t.shape)
            row.shape.append(d);
        row.path = layerPath(t.path);
        if (t.l)
            row.l = static_cast<double>(*t.l);
        if (t.U)
            row.U = *t.U;
        if (t.K)
            row.K = *t.K;
        if (t.bitsPerIndex)
            row.bitsPerIndex = *t.bitsPerIndex;
        row.bitsPerWeight = t.bitsPerWeight;
        row.mae = t.mae;
        row.maxAbsError = t.maxAbsError;
        row.parameters = t.parameters;
        row.originalBytes = t.originalBytes;
        row.storedBytes = t.storedBytes;
        row.warning = QString::fromStdString(t.warning);
        row.overridden = settings.overrides.contains(row.name);
        out.rows.append(std::move(row));
    }
    return out;
}

}  // namespace birkhoff::ui
