// Model file kind from the safetensors header (see model_file_kind.h).
#include "core/io/model_file_kind.h"

#include "core/io/safetensors_header.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <string>

namespace birkhoff::io {

const char* modelFileKindName(ModelFileKind kind)
{
    return kind == ModelFileKind::Compressed ? "compressed" : "checkpoint";
}

ModelFileKind detectModelFileKind(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    unsigned char lengthBytes[8] = {};
    if (!in.read(reinterpret_cast<char*>(lengthBytes), sizeof lengthBytes))
        return ModelFileKind::Checkpoint;
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i)
        length = (length << 8) | lengthBytes[i];
    if (length < 2 || length > kMaxSafetensorsHeaderBytes)
        return ModelFileKind::Checkpoint;
    std::string header(static_cast<std::size_t>(length), '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(length)) || header.front() != '{')
        return ModelFileKind::Checkpoint;
    const nlohmann::json json = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
    return json.is_object() && json.contains("rect_l") && json.contains("num_inner_list") ? ModelFileKind::Compressed
                                                                                          : ModelFileKind::Checkpoint;
}

}  // namespace birkhoff::io
