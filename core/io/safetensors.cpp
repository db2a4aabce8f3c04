// safetensors reading and writing.
#include "core/io/safetensors.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <ATen/Functions.h>
#include <ATen/ops/from_blob.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

namespace birkhoff::io {

namespace {

using Json = nlohmann::ordered_json;

struct DtypeInfo {
    const char* name;
    std::size_t size;
    c10::ScalarType type;       // type the tensor is loaded as
    bool widen;                 // stored type differs from `type` (unsigned wide ints)
    int rank;                   // the Python library's sort rank (higher first)
};

// Ranks follow the safetensors Dtype enum order (BOOL < U8 < I8 < I16 < U16 < F16 < BF16 < I32
// < U32 < F32 < F64 < I64 < U64); only relative order matters.
const DtypeInfo kDtypes[] = {
    {"BOOL", 1, c10::ScalarType::Bool, false, 0},
    {"U8", 1, c10::ScalarType::Byte, false, 4},
    {"I8", 1, c10::ScalarType::Char, false, 5},
    {"I16", 2, c10::ScalarType::Short, false, 9},
    {"U16", 2, c10::ScalarType::Int, true, 10},
    {"F16", 2, c10::ScalarType::Half, false, 11},
    {"BF16", 2, c10::ScalarType::BFloat16, false, 12},
    {"I32", 4, c10::ScalarType::Int, false, 13},
    {"U32", 4, c10::ScalarType::Long, true, 14},
    {"F32", 4, c10::ScalarType::Float, false, 15},
    {"F64", 8, c10::ScalarType::Double, false, 16},
    {"I64", 8, c10::ScalarType::Long, false, 17},
};

const DtypeInfo* findDtype(const std::string& name)
{
    for (const auto& d : kDtypes)
        if (name == d.name)
            return &d;
    return nullptr;
}

const DtypeInfo& dtypeForType(c10::ScalarType type)
{
    for (const auto& d : kDtypes)
        if (!d.widen && d.type == type)
            return d;
    throw Error(std::string("safetensors cannot store tensors of type ") + c10::toString(type));
}

at::Tensor widenUnsigned(const std::uint8_t* src, const DtypeInfo& info,
                         const std::vector<std::int64_t>& shape)
{
    at::Tensor out = at::empty(shape, at::TensorOptions().dtype(info.type));
    const std::int64_t n = out.numel();
    if (info.size == 2) {
        auto* dst = out.data_ptr<std::int32_t>();
        for (std::int64_t i = 0; i < n; ++i) {
            std::uint16_t v;
            std::memcpy(&v, src + 2 * i, 2);
            dst[i] = v;
        }
    } else {
        auto* dst = out.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < n; ++i) {
            std::uint32_t v;
            std::memcpy(&v, src + 4 * i, 4);
            dst[i] = v;
        }
    }
    return out;
}

}  // namespace

SafetensorsContent readSafetensors(const std::filesystem::path& path)
{
    std::shared_ptr<MappedFile> file = MappedFile::open(path);
    const SafetensorsHeader header = parseSafetensorsHeader(file->data(), file->size(), path.string());
    SafetensorsContent content;
    content.metadata = header.metadata;
    for (const auto& rec : header.records) {
        const DtypeInfo& info = *findDtype(rec.dtype);
        std::uint8_t* ptr = file->mutableData() + header.dataStart + rec.begin;
        at::Tensor t;
        if (rec.end == rec.begin) {
            t = at::empty(rec.shape, at::TensorOptions().dtype(info.type));
        } else if (info.widen) {
            t = widenUnsigned(ptr, info, rec.shape);
        } else if (info.type == c10::ScalarType::Bool) {
            // Normalise arbitrary bytes to 0/1 so no invalid bool reaches LibTorch.
            t = at::from_blob(ptr, rec.shape, at::TensorOptions().dtype(c10::ScalarType::Byte)).ne(0);
        } else if (reinterpret_cast<std::uintptr_t>(ptr) % info.size != 0) {
            t = at::from_blob(ptr, rec.shape, at::TensorOptions().dtype(info.type)).clone();
        } else {
            std::shared_ptr<MappedFile> keepAlive = file;
            t = at::from_blob(
                ptr, rec.shape, [keepAlive](void*) mutable { keepAlive.reset(); },
                at::TensorOptions().dtype(info.type));
        }
        content.tensors.insert(rec.name, std::move(t));
    }
    return content;
}

namespace {

/// What a safetensors file of `tensors` looks like: the tensors in file order and the header
/// JSON padded to a multiple of 8 bytes (as the official writer does), data offsets included.
struct SafetensorsLayout {
    std::vector<const StateDict::Entry*> entries;
    std::string header;
    std::uint64_t dataBytes = 0;
};

SafetensorsLayout layOut(const StateDict& tensors, const SafetensorsMetadata& metadata, SafetensorsOrder order)
{
    SafetensorsLayout layout;
    layout.entries.reserve(tensors.size());
    for (const auto& e : tensors)
        layout.entries.push_back(&e);
    if (order == SafetensorsOrder::DtypeThenName) {
        std::stable_sort(layout.entries.begin(), layout.entries.end(), [](const auto* a, const auto* b) {
            const int ra = dtypeForType(a->tensor.scalar_type()).rank;
            const int rb = dtypeForType(b->tensor.scalar_type()).rank;
            if (ra != rb)
                return ra > rb;
            return a->name < b->name;
        });
    }
    Json header = Json::object();
    if (!metadata.empty()) {
        Json meta = Json::object();
        for (const auto& kv : metadata)
            meta[kv.first] = kv.second;
        header["__metadata__"] = std::move(meta);
    }
    for (const auto* e : layout.entries) {
        if (e->name == "__metadata__")
            throw Error("a tensor cannot be named '__metadata__'");
        const DtypeInfo& info = dtypeForType(e->tensor.scalar_type());
        const std::uint64_t bytes = static_cast<std::uint64_t>(e->tensor.numel()) * info.size;
        Json rec = Json::object();
        rec["dtype"] = info.name;
        rec["shape"] = e->tensor.sizes().vec();
        rec["data_offsets"] = {layout.dataBytes, layout.dataBytes + bytes};
        header[e->name] = std::move(rec);
        layout.dataBytes += bytes;
    }
    layout.header = header.dump();
    layout.header.append((8 - layout.header.size() % 8) % 8, ' ');
    return layout;
}

}  // namespace

void writeSafetensors(const std::filesystem::path& path, const StateDict& tensors,
                      const SafetensorsMetadata& metadata, SafetensorsOrder order)
{
    const SafetensorsLayout layout = layOut(tensors, metadata, order);
    writeFileAtomically(path, [&](AtomicFileWriter& out) {
        std::uint8_t len[8];
        std::uint64_t n = layout.header.size();
        for (int i = 0; i < 8; ++i, n >>= 8)
            len[i] = static_cast<std::uint8_t>(n & 0xff);
        out.write(len, 8);
        out.write(layout.header.data(), layout.header.size());
        for (const auto* e : layout.entries) {
            const at::Tensor t = e->tensor.to(at::kCPU).contiguous();
            if (t.numel() > 0)
                out.write(t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
        }
    });
}

std::uint64_t safetensorsFileSize(const StateDict& tensors, const SafetensorsMetadata& metadata,
                                  SafetensorsOrder order)
{
    const SafetensorsLayout layout = layOut(tensors, metadata, order);
    return 8 + layout.header.size() + layout.dataBytes;
}

}  // namespace birkhoff::io
