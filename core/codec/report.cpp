// Compression report serialisation.
#include "core/codec/report.h"

#include "core/util/atomic_file.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace birkhoff::codec {

namespace {

template <typename T>
nlohmann::json optionalJson(const std::optional<T>& v)
{
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

template <typename T>
std::string optionalCsv(const std::optional<T>& v)
{
    if (!v)
        return "";
    std::ostringstream s;
    s.precision(9);
    s << *v;
    return s.str();
}

std::string csvField(const std::string& s)
{
    if (s.find_first_of(",\"\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace

double shortestDecimal(float value)
{
    if (!std::isfinite(value))
        return value;
    char buf[32];
    for (int digits = 6; digits <= 9; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(value));
        const double parsed = std::strtod(buf, nullptr);
        if (static_cast<float>(parsed) == value)
            return parsed;
    }
    return value;
}

double CompressionReport::ratio() const
{
    return compressedBytes == 0 ? 0.0 : static_cast<double>(originalBytes) / static_cast<double>(compressedBytes);
}

double CompressionReport::bitsPerWeight() const
{
    return parameters == 0 ? 0.0 : 8.0 * static_cast<double>(compressedBytes) / static_cast<double>(parameters);
}

nlohmann::json CompressionReport::toJson() const
{
    nlohmann::json j = nlohmann::json::object();
    j["settings"] = settings;
    j["totals"] = {{"parameters", parameters},
                   {"original_bytes", originalBytes},
                   {"compressed_bytes", compressedBytes},
                   {"ratio", ratio()},
                   {"bits_per_weight", bitsPerWeight()},
                   {"seconds", seconds}};
    nlohmann::json rows = nlohmann::json::array();
    for (const TensorReport& t : tensors) {
        nlohmann::json r = nlohmann::json::object();
        r["name"] = t.name;
        r["shape"] = t.shape;
        r["path"] = storagePathName(t.path);
        r["l"] = t.l ? nlohmann::json(shortestDecimal(*t.l)) : nlohmann::json(nullptr);
        r["U"] = optionalJson(t.U);
        r["K"] = optionalJson(t.K);
        r["bits_per_index"] = optionalJson(t.bitsPerIndex);
        r["bits_per_weight"] = t.bitsPerWeight;
        r["mae"] = t.mae;
        r["max_abs_error"] = t.maxAbsError;
        r["original_bytes"] = t.originalBytes;
        r["stored_bytes"] = t.storedBytes;
        r["load_type"] = t.loadType;
        if (!t.warning.empty())
            r["warning"] = t.warning;
        rows.push_back(std::move(r));
    }
    j["tensors"] = std::move(rows);
    j["warnings"] = warnings;
    if (!model.empty())
        j["model"] = model;
    return j;
}

std::string CompressionReport::toCsv() const
{
    std::ostringstream s;
    s.precision(9);
    s << "name,shape,path,l,U,K,bits_per_index,bits_per_weight,mae,max_abs_error,original_bytes,stored_bytes,"
         "load_type,warning\n";
    for (const TensorReport& t : tensors) {
        std::string shape;
        for (std::size_t i = 0; i < t.shape.size(); ++i)
            shape += (i ? "x" : "") + std::to_string(t.shape[i]);
        s << csvField(t.name) << ',' << shape << ',' << storagePathName(t.path) << ','
          << optionalCsv(t.l ? std::optional<double>(shortestDecimal(*t.l)) : std::nullopt) << ','
          << optionalCsv(t.U) << ',' << optionalCsv(t.K) << ',' << optionalCsv(t.bitsPerIndex) << ','
          << t.bitsPerWeight << ',' << t.mae << ',' << t.maxAbsError << ',' << t.originalBytes << ','
          << t.storedBytes << ',' << t.loadType << ',' << csvField(t.warning) << '\n';
    }
    return s.str();
}

void writeReport(const std::filesystem::path& path, const CompressionReport& report)
{
    const std::string text = path.extension() == ".csv" ? report.toCsv() : report.toJson().dump(1) + "\n";
    writeFileAtomically(path, [&](AtomicFileWriter& out) { out.write(text.data(), text.size()); });
}

}  // namespace birkhoff::codec
