// Checkpoint loading by content and saving by extension.
#include "core/io/checkpoint.h"

#include "core/io/hf_keys.h"
#include "core/io/mapped_file.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"

#include <algorithm>
#include <cctype>

namespace birkhoff::io {

namespace fs = std::filesystem;

namespace {

std::string lowerExtension(const fs::path& path)
{
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

// A safetensors file starts with a little-endian header length, then the JSON header's '{'.
// The length itself is validated by the parser, which names an absurd value.
bool looksLikeSafetensors(const std::uint8_t* data, std::size_t size, const fs::path& path)
{
    return lowerExtension(path) == ".safetensors" || (size >= 9 && data[8] == '{');
}

// An ONNX ModelProto begins with field 1 (ir_version, a small varint) and usually field 2
// (producer_name) or another length-delimited field.
bool looksLikeOnnx(const std::uint8_t* data, std::size_t size, const fs::path& path)
{
    if (lowerExtension(path) == ".onnx")
        return true;
    return size >= 3 && data[0] == 0x08 && data[1] < 0x80 && (data[2] & 0x07) == 2;
}

std::string hexPrefix(const std::uint8_t* data, std::size_t size)
{
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < std::min<std::size_t>(size, 8); ++i) {
        s += digits[data[i] >> 4];
        s += digits[data[i] & 15];
        s += ' ';
    }
    if (!s.empty())
        s.pop_back();
    return s;
}

}  // namespace

const char* checkpointFormatName(CheckpointFormat format)
{
    switch (format) {
    case CheckpointFormat::PyTorchZip: return "PyTorch zip";
    case CheckpointFormat::Safetensors: return "safetensors";
    }
    return "?";
}

Checkpoint loadCheckpoint(const fs::path& path, const Progress& progress)
{
    Checkpoint ckpt;
    ckpt.path = path;
    {
        const std::shared_ptr<MappedFile> file = MappedFile::open(path);
        const std::uint8_t* data = file->data();
        const std::size_t size = file->size();
        const std::string source = "'" + path.string() + "'";
        ckpt.fileBytes = size;
        if (looksLikeZip(data, size)) {
            ckpt.format = CheckpointFormat::PyTorchZip;
        } else if (looksLikeSafetensors(data, size, path)) {
            ckpt.format = CheckpointFormat::Safetensors;
        } else if (size >= 2 && data[0] == 0x80 && data[1] <= 5) {
            throw Error(source + " is a legacy (non-zip) torch.save file, which cannot be read; re-save "
                        "it with a current torch: torch.save(torch.load(old), new) writes the zip format");
        } else if (size > 262 && std::equal(data + 257, data + 262, "ustar")) {
            throw Error(source + " is a tar-format torch.save file from torch < 0.4, which cannot be "
                        "read; re-save it with a current torch");
        } else if (looksLikeOnnx(data, size, path)) {
            throw Error(source + " is an ONNX model, not a checkpoint; turn an ONNX export pair (image "
                        "encoder + decoder) into a checkpoint with `birkhoff convert`");
        } else {
            throw Error(source + " is neither a PyTorch zip checkpoint (.pth/.pt) nor a safetensors "
                        "file (it starts with bytes " + hexPrefix(data, size) + ")");
        }
    }
    if (ckpt.format == CheckpointFormat::PyTorchZip) {
        PyTorchCheckpointContent content = readPyTorchCheckpoint(path, progress);
        ckpt.tensors = std::move(content.tensors);
        ckpt.wrapper = std::move(content.wrapper);
        ckpt.notes = std::move(content.notes);
    } else {
        progress.checkCancelled();
        SafetensorsContent content = readSafetensors(path);
        ckpt.tensors = std::move(content.tensors);
        progress.report(1.0, path.filename().string());
    }
    for (auto& note : mapHuggingFaceKeys(ckpt.tensors))
        ckpt.notes.push_back(std::move(note));
    return ckpt;
}

void saveCheckpoint(const fs::path& path, const StateDict& tensors, const std::string& wrapper)
{
    const std::string ext = lowerExtension(path);
    if (ext == ".pth" || ext == ".pt" || ext == ".bin") {
        savePyTorchCheckpoint(path, tensors, wrapper);
    } else if (ext == ".safetensors") {
        writeSafetensors(path, tensors);
    } else {
        throw Error("cannot save '" + path.string() + "': unknown extension '" + ext
                    + "' (use .pth, .pt or .safetensors)");
    }
}

}  // namespace birkhoff::io
