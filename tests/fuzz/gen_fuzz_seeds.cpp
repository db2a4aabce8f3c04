// Writes the seed corpus of one fuzz target (built with the same LibTorch-free sources):
//   gen_fuzz_seeds unpickler|safetensors_header|zip_reader|index_stream OUT_DIR [SHARED_DIR]
// Seeds are small valid and invalid inputs made here, plus the data.pkl of a golden torch.save
// checkpoint and the header of a golden safetensors file when SHARED_DIR holds them.
#include "core/format/index_entropy_coder.h"
#include "core/io/state_dict_pickle.h"
#include "core/io/zip_archive.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace birkhoff;
using namespace birkhoff::io;

namespace {

template <std::size_t N>
std::string bin(const char (&literal)[N])
{
    return std::string(literal, N - 1);
}

void write(const fs::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

std::string readFile(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<NamedTensorRecord> sampleRecords()
{
    std::vector<NamedTensorRecord> r(4);
    r[0].name = "image_encoder.blocks.0.attn.qkv.weight";
    r[0].record.storage = {"0", pickle::StorageType::Float, "cpu", 24};
    r[0].record.sizes = {6, 4};
    r[0].record.strides = {4, 1};
    r[1].name = "image_encoder.blocks.0.attn.qkv.weight.t";
    r[1].record = r[0].record;
    r[1].record.sizes = {4, 6};
    r[1].record.strides = {1, 4};
    r[2].name = "mask_decoder.iou_token.weight";
    r[2].record.storage = {"1", pickle::StorageType::BFloat16, "cuda:0", 300000};
    r[2].record.offset = 70000;
    r[2].record.sizes = {1, 256};
    r[2].record.strides = {256, 1};
    r[3].name = "bn.num_batches_tracked";
    r[3].record.storage = {"2", pickle::StorageType::Long, "cpu", 1};
    return r;
}

void unpicklerSeeds(const fs::path& out, const fs::path& shared)
{
    const auto records = sampleRecords();
    write(out / "plain.pkl", pickleStateDict(records, ""));
    write(out / "model.pkl", pickleStateDict(records, "model"));
    write(out / "state_dict.pkl", pickleStateDict({records[0]}, "state_dict"));
    // Protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, _rebuild_parameter.
    write(out / "protocol4.pkl",
          bin("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x0b" "collections\x94\x8c\x0b" "OrderedDict\x94\x93\x94)R\x94("
              "\x8c\x01p\x94\x8c\x0c" "torch._utils\x94\x8c\x12_rebuild_parameter\x94\x93\x94"
              "\x8c\x0c" "torch._utils\x8c\x12_rebuild_tensor_v2\x93((X\x07\x00\x00\x00storage\x8c\x05torch\x8c\x0c"
              "FloatStorage\x93X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x02tQK\x00K\x02\x85K\x01\x85\x89h\x00h\x01"
              "\x93)RtR\x88h\x00h\x01\x93)R\x87Ru."));
    // An OrderedDict with BUILD of its _metadata, and a nested plain dict with scalars.
    write(out / "metadata.pkl", bin("\x80\x02" "ccollections\nOrderedDict\nq\x00)Rq\x01}X\x09\x00\x00\x00_metadatah\x00)R"
                                    "(X\x00\x00\x00\x00}X\x07\x00\x00\x00versionK\x01sustb."));
    write(out / "scalars.pkl", bin("\x80\x02}(X\x05\x00\x00\x00" "epochK\x03X\x02\x00\x00\x00lrG?\x1a\x36\xe2\xeb\x1c\x43\x2d"
                                   "X\x04\x00\x00\x00nameX\x05\x00\x00\x00vit_bX\x03\x00\x00\x00negJ\xfe\xff\xff\xff"
                                   "X\x04\x00\x00\x00longq\x00\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\xff]q\x01(N\x88\x89" "eu."));
    write(out / "os_system.pkl", bin("\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00ls\x85R."));
    for (const char* golden : {"golden/sam_vit_tiny/sam_vit_tiny.pth"}) {
        const fs::path path = shared / golden;
        if (shared.empty() || !fs::exists(path))
            continue;
        const std::string file = readFile(path);
        const ZipReader zip(reinterpret_cast<const std::uint8_t*>(file.data()), file.size(), path.string());
        for (const auto& e : zip.entries())
            if (e.name.size() > 9 && e.name.compare(e.name.size() - 9, 9, "/data.pkl") == 0)
                write(out / (path.stem().string() + ".pkl"), zip.readSmall(e, 1 << 20));
    }
}

std::string safetensors(const std::string& json, std::size_t dataBytes)
{
    std::string s;
    std::uint64_t n = json.size();
    for (int i = 0; i < 8; ++i, n >>= 8)
        s += static_cast<char>(n & 0xff);
    return s + json + std::string(dataBytes, '\x11');
}

void safetensorsSeeds(const fs::path& out, const fs::path& shared)
{
    write(out / "one.st", safetensors(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", 16));
    write(out / "meta.st", safetensors(R"({"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},)"
                                       R"("b":{"dtype":"I64","shape":[],"data_offsets":[6,14]},"e":{"dtype":"U8","shape":[0,5],"data_offsets":[14,14]}})",
                                       14));
    write(out / "types.st", safetensors(R"({"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U16","shape":[1],"data_offsets":[1,3]},)"
                                        R"("c":{"dtype":"U32","shape":[1],"data_offsets":[3,7]},"d":{"dtype":"F64","shape":[1],"data_offsets":[7,15]}})",
                                        15));
    write(out / "overlap.st", safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
    write(out / "absurd.st", bin("\x00\x80\xc6\xa4\x7e\x8d\x03\x00{}"));
    const fs::path golden = shared / "golden/sam_vit_tiny/image/tensors.safetensors";
    if (!shared.empty() && fs::exists(golden)) {
        const std::string file = readFile(golden);
        std::uint64_t n = 0;
        for (int i = 7; i >= 0 && file.size() >= 8; --i)
            n = (n << 8) | static_cast<unsigned char>(file[static_cast<std::size_t>(i)]);
        if (file.size() >= 8 && n < file.size())
            write(out / "golden_header.st", file.substr(0, static_cast<std::size_t>(8 + n + 256)));
    }
}

// A zip archive with one raw-deflated entry, written by hand (ZipWriter only stores).
std::string deflatedZip(const std::string& name, const std::string& content)
{
    std::string packed(compressBound(static_cast<uLong>(content.size())) + 64, '\0');
    z_stream z{};
    deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
    z.avail_in = static_cast<uInt>(content.size());
    z.next_out = reinterpret_cast<Bytef*>(&packed[0]);
    z.avail_out = static_cast<uInt>(packed.size());
    deflate(&z, Z_FINISH);
    packed.resize(z.total_out);
    deflateEnd(&z);
    const auto crc = static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size())));
    std::string s;
    const auto le = [&](std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i, v >>= 8)
            s += static_cast<char>(v & 0xff);
    };
    le(0x04034b50, 4); le(20, 2); le(0, 2); le(8, 2); le(0, 2); le(0x21, 2);
    le(crc, 4); le(packed.size(), 4); le(content.size(), 4); le(name.size(), 2); le(0, 2);
    s += name + packed;
    const std::size_t cd = s.size();
    le(0x02014b50, 4); le(20, 2); le(20, 2); le(0, 2); le(8, 2); le(0, 2); le(0x21, 2);
    le(crc, 4); le(packed.size(), 4); le(content.size(), 4); le(name.size(), 2); le(0, 2); le(0, 2);
    le(0, 2); le(0, 2); le(0, 4); le(0, 4);
    s += name;
    const std::size_t cdSize = s.size() - cd;
    le(0x06054b50, 4); le(0, 2); le(0, 2); le(1, 2); le(1, 2); le(cdSize, 4); le(cd, 4); le(0, 2);
    return s;
}

void zipSeeds(const fs::path& out)
{
    const std::string pkl = pickleStateDict(sampleRecords(), "");
    writeFileAtomically(out / "torch_like.zip", [&](AtomicFileWriter& w) {
        ZipWriter zip(w);
        zip.addStored("archive/data.pkl", pkl.data(), pkl.size());
        zip.addStored("archive/byteorder", "little", 6);
        zip.addStored("archive/data/0", std::string(96, '\x01').data(), 96);
        zip.addStored("archive/version", "3\n", 2);
        zip.finish();
    });
    writeFileAtomically(out / "empty.zip", [&](AtomicFileWriter& w) {
        ZipWriter zip(w);
        zip.finish();
    });
    write(out / "deflated.zip", deflatedZip("archive/data.pkl", pkl + pkl));
}

/// Valid streams with the fuzz target's 4-byte prefix (side - 1, K, count little-endian).
void indexStreamSeeds(const fs::path& out)
{
    struct Seed {
        std::uint32_t side, K, count;
    };
    for (const Seed& seed : {Seed{40, 0, 600}, Seed{35, 3, 1000}, Seed{2, 1, 64}, Seed{256, 2, 300}}) {
        const std::uint32_t U = seed.side * seed.side;
        std::vector<std::uint32_t> indices(seed.count);
        for (std::uint32_t i = 0; i < seed.count; ++i) {
            const std::uint32_t hi = (seed.side / 2 + (i * 7) % 5) % seed.side, lo = (seed.side / 2 + (i * 3) % 4) % seed.side;
            indices[i] = (i % 37 == 0 ? (i / 37) % (seed.K + 1) : 0) * U + hi * seed.side + lo;
        }
        const std::vector<std::uint8_t> coded = birkhoff::format::encodeIndexStream(indices.data(), indices.size(), U, seed.K);
        std::string bytes;
        bytes += static_cast<char>(seed.side - 1);
        bytes += static_cast<char>(seed.K);
        bytes += static_cast<char>(seed.count & 0xFF);
        bytes += static_cast<char>(seed.count >> 8);
        bytes.append(coded.begin(), coded.end());
        write(out / ("stream_" + std::to_string(seed.side) + "_" + std::to_string(seed.K) + ".bin"), bytes);
    }
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: gen_fuzz_seeds unpickler|safetensors_header|zip_reader|index_stream OUT_DIR [SHARED_DIR]\n");
        return 2;
    }
    const std::string target = argv[1];
    const fs::path out = argv[2];
    const fs::path shared = argc > 3 ? fs::path(argv[3]) : fs::path();
    try {
        fs::create_directories(out);
        if (target == "unpickler")
            unpicklerSeeds(out, shared);
        else if (target == "safetensors_header")
            safetensorsSeeds(out, shared);
        else if (target == "zip_reader")
            zipSeeds(out);
        else if (target == "index_stream")
            indexStreamSeeds(out);
        else
            throw Error("unknown fuzz target '" + target + "'");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gen_fuzz_seeds: %s\n", e.what());
        return 1;
    }
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(out))
        ++count;
    std::printf("gen_fuzz_seeds: %zu seeds for %s in %s\n", count, target.c_str(), out.string().c_str());
    return 0;
}
