// Malformed checkpoints for the bad-input tests.
#include "tests/core/io/bad_files.h"

#include "core/io/pytorch_checkpoint.h"
#include "core/io/state_dict_pickle.h"
#include "core/io/zip_archive.h"
#include "core/util/atomic_file.h"

#include <ATen/ATen.h>

#include <fstream>
#include <iterator>

namespace birkhoff::test {

namespace fs = std::filesystem;

namespace {

template <std::size_t N>
std::string bin(const char (&literal)[N])
{
    return std::string(literal, N - 1);
}

void writeBytes(const fs::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

void writeZip(const fs::path& path, const std::vector<std::pair<std::string, std::string>>& entries)
{
    writeFileAtomically(path, [&](AtomicFileWriter& out) {
        io::ZipWriter zip(out);
        for (const auto& [name, data] : entries)
            zip.addStored(name, data.data(), data.size());
        zip.finish();
    });
}

// 8-byte little-endian length, the JSON header, then `dataBytes` zero bytes.
void writeSafetensors(const fs::path& path, std::uint64_t length, const std::string& json, std::size_t dataBytes)
{
    std::string bytes;
    for (int i = 0; i < 8; ++i, length >>= 8)
        bytes += static_cast<char>(length & 0xff);
    writeBytes(path, bytes + json + std::string(dataBytes, '\0'));
}

}  // namespace

std::vector<BadFile> makeBadCheckpoints(const fs::path& dir)
{
    std::vector<BadFile> out;
    const auto add = [&](const std::string& label, const std::string& file, std::vector<std::string> expected) {
        out.push_back(BadFile{label, dir / file, std::move(expected)});
        return dir / file;
    };

    io::StateDict sd;
    sd.insert("image_encoder.pos_embed", at::randn({1, 4, 4, 8}));
    sd.insert("mask_decoder.iou_token.weight", at::randn({1, 8}));
    const fs::path good = dir / "good_source.pth";
    io::savePyTorchCheckpoint(good, sd);
    std::ifstream in(good, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    writeBytes(add("truncated zip", "truncated.pth", {"truncated.pth", "truncated"}), bytes.substr(0, bytes.size() / 2));
    writeBytes(add("zip missing its last bytes", "cut_end.pth", {"cut_end.pth", "truncated"}), bytes.substr(0, bytes.size() - 3));

    writeZip(add("pickle calling os.system", "os_system.pth", {"os_system.pth", "'os.system'"}),
             {{"os_system/data.pkl", bin("\x80\x02" "cos\nsystem\nX\x05\x00\x00\x00" "touchq\x00\x85R.")}});
    writeZip(add("pickled whole module", "whole_module.pth", {"whole_module.pth", "'torch.nn.modules.linear.Linear'"}),
             {{"whole_module/data.pkl", bin("\x80\x02" "ctorch.nn.modules.linear\nLinear\nq\x00)\x81}b.")}});

    std::vector<io::NamedTensorRecord> records(1);
    records[0].name = "mask_decoder.mask_tokens.weight";
    records[0].record.storage = {"0", io::pickle::StorageType::Float, "cpu", 6};
    records[0].record.sizes = {2, 3};
    records[0].record.strides = {3, 1};
    writeZip(add("storage record shorter than declared", "short_storage.pth",
                 {"short_storage.pth", "mask_decoder.mask_tokens.weight", "holds 8 bytes"}),
             {{"s/data.pkl", io::pickleStateDict(records, "")}, {"s/data/0", std::string(8, '\0')}});
    records[0].record.storage.numel = 5;
    writeZip(add("view past the end of its storage", "past_end.pth",
                 {"past_end.pth", "mask_decoder.mask_tokens.weight", "needs 6 elements"}),
             {{"s/data.pkl", io::pickleStateDict(records, "")}, {"s/data/0", std::string(20, '\0')}});
    records[0].record.storage.numel = 6;
    writeZip(add("storage record missing", "missing_storage.pth", {"missing_storage.pth", "does not contain"}),
             {{"s/data.pkl", io::pickleStateDict(records, "")}});
    writeZip(add("TorchScript archive", "scripted.pt", {"scripted.pt", "TorchScript"}),
             {{"scripted/constants.pkl", "\x80\x02)."}, {"scripted/code/x.py", "pass"}});

    writeSafetensors(add("safetensors header of 10^15 bytes", "absurd.safetensors", {"absurd.safetensors", "1000000000000000"}),
                     1000000000000000ull, "{}", 0);
    const std::string overlap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    writeSafetensors(add("overlapping safetensors offsets", "overlap.safetensors", {"overlap.safetensors", "overlap"}),
                     overlap.size(), overlap, 16);
    const std::string range = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
    writeSafetensors(add("out-of-range safetensors offsets", "range.safetensors", {"range.safetensors", "run past the end"}),
                     range.size(), range, 8);
    const std::string dtype = R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})";
    writeSafetensors(add("unknown safetensors dtype", "dtype.safetensors", {"dtype.safetensors", "unknown dtype 'Q7'"}),
                     dtype.size(), dtype, 8);

    writeBytes(add("legacy torch.save", "legacy.pth", {"legacy.pth", "legacy"}),
               bin("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."));
    writeBytes(add("ONNX model", "model.onnx", {"model.onnx", "birkhoff convert"}), bin("\x08\x07\x12\x07" "pytorch"));
    writeBytes(add("unknown format", "garbage.bin", {"garbage.bin", "neither"}), "hello world, not a model");
    writeBytes(add("empty file", "empty.pth", {"empty.pth", "empty"}), "");
    fs::create_directories(add("directory", "a_directory.pth", {"a_directory.pth", "directory"}));
    add("missing file", "does_not_exist.pth", {"does_not_exist.pth", "No such file"});
    return out;
}

}  // namespace birkhoff::test
