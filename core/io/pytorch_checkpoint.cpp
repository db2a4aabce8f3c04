// torch.save zip checkpoints: records -> mapped tensors, and state dict -> zip archive.
#include "core/io/pytorch_checkpoint.h"

#include "core/io/mapped_file.h"
#include "core/io/pickle.h"
#include "core/io/state_dict_pickle.h"
#include "core/io/zip_archive.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <ATen/ATen.h>

#include <unordered_map>

namespace birkhoff::io {

namespace fs = std::filesystem;

namespace {

using pickle::StorageType;

struct TypePair {
    StorageType storage;
    c10::ScalarType scalar;
};

const TypePair kTypes[] = {
    {StorageType::Float, c10::ScalarType::Float},     {StorageType::Double, c10::ScalarType::Double},
    {StorageType::Half, c10::ScalarType::Half},       {StorageType::BFloat16, c10::ScalarType::BFloat16},
    {StorageType::Long, c10::ScalarType::Long},       {StorageType::Int, c10::ScalarType::Int},
    {StorageType::Short, c10::ScalarType::Short},     {StorageType::Char, c10::ScalarType::Char},
    {StorageType::Byte, c10::ScalarType::Byte},       {StorageType::Bool, c10::ScalarType::Bool},
};

c10::ScalarType scalarTypeOf(StorageType type)
{
    for (const auto& t : kTypes)
        if (t.storage == type)
            return t.scalar;
    throw Error("unknown storage type");
}

StorageType storageTypeOf(c10::ScalarType type, const std::string& name)
{
    for (const auto& t : kTypes)
        if (t.scalar == type)
            return t.storage;
    throw Error(std::string("tensor '") + name + "' has element type " + c10::toString(type)
                + ", which PyTorch checkpoints written here cannot hold");
}

// One tensor over a whole storage record of the archive.
at::Tensor storageTensor(const std::shared_ptr<MappedFile>& file, const ZipReader& zip,
                         const ZipEntry& entry, const pickle::StorageRef& ref)
{
    const c10::ScalarType type = scalarTypeOf(ref.type);
    const auto options = at::TensorOptions().dtype(type);
    if (ref.numel == 0)
        return at::empty({0}, options);
    const std::size_t elementSize = pickle::storageElementSize(ref.type);
    std::uint8_t* data = nullptr;
    std::function<void(void*)> keepAlive;
    if (entry.method == 0) {
        data = file->mutableData() + entry.dataOffset;
        std::shared_ptr<MappedFile> owner = file;
        keepAlive = [owner](void*) mutable { owner.reset(); };
    } else {
        at::Tensor buffer = at::empty({static_cast<std::int64_t>(entry.size)}, at::TensorOptions().dtype(at::kByte));
        zip.inflate(entry, buffer.data_ptr<std::uint8_t>());
        data = buffer.data_ptr<std::uint8_t>();
        keepAlive = [buffer](void*) mutable { buffer.reset(); };
    }
    if (type == c10::ScalarType::Bool) {
        // Normalise arbitrary bytes to 0/1 so no invalid bool reaches LibTorch.
        return at::from_blob(data, {ref.numel}, keepAlive, at::TensorOptions().dtype(at::kByte)).ne(0);
    }
    at::Tensor t = at::from_blob(data, {ref.numel}, keepAlive, options);
    if (reinterpret_cast<std::uintptr_t>(data) % elementSize != 0)
        t = t.clone();
    return t;
}

std::string archivePrefix(const ZipReader& zip)
{
    if (zip.entries().empty())
        return std::string();
    const std::string& first = zip.entries().front().name;
    const auto slash = first.find('/');
    return slash == std::string::npos ? std::string() : first.substr(0, slash + 1);
}

}  // namespace

bool looksLikeZip(const std::uint8_t* data, std::size_t size)
{
    return size >= 4 && data[0] == 'P' && data[1] == 'K'
           && ((data[2] == 3 && data[3] == 4) || (data[2] == 5 && data[3] == 6));
}

PyTorchCheckpointContent readPyTorchCheckpoint(const fs::path& path, const Progress& progress)
{
    const std::shared_ptr<MappedFile> file = MappedFile::open(path);
    const std::string source = "'" + path.string() + "'";
    if (!looksLikeZip(file->data(), file->size()))
        throw Error(source + " is not a zip archive, so not a PyTorch checkpoint in the torch.save zip format");
    const ZipReader zip(file->data(), file->size(), source);
    const std::string prefix = archivePrefix(zip);

    const ZipEntry* pkl = zip.find(prefix + "data.pkl");
    if (pkl == nullptr) {
        if (zip.find(prefix + "constants.pkl") != nullptr)
            throw Error(source + " is a TorchScript archive (torch.jit.save), not a state dict; "
                        "save model.state_dict() with torch.save instead");
        throw Error(source + " has no " + prefix + "data.pkl, so it is not a torch.save checkpoint");
    }
    if (const ZipEntry* order = zip.find(prefix + "byteorder")) {
        const std::string value = zip.readSmall(*order, 16);
        if (value != "little")
            throw Error(source + " was written on a '" + value
                        + "'-endian machine; only little-endian checkpoints are supported");
    }
    const std::string pickleBytes = zip.readSmall(*pkl, pickle::kMaxPickleBytes);
    const pickle::Document doc = pickle::unpickle(reinterpret_cast<const std::uint8_t*>(pickleBytes.data()),
                                                  pickleBytes.size(), source + " (" + pkl->name + ")");
    StateDictRecords records = extractStateDict(doc, source);

    std::unordered_map<std::string, at::Tensor> storages;
    std::vector<const NamedTensorRecord*> firstUse;
    for (const auto& t : records.tensors)
        if (storages.emplace(t.record.storage.key, at::Tensor()).second)
            firstUse.push_back(&t);
    for (std::size_t i = 0; i < firstUse.size(); ++i) {
        progress.checkCancelled();
        const pickle::StorageRef& ref = firstUse[i]->record.storage;
        const std::string recordName = prefix + "data/" + ref.key;
        progress.report(static_cast<double>(i) / static_cast<double>(firstUse.size()), firstUse[i]->name);
        const ZipEntry* entry = zip.find(recordName);
        if (entry == nullptr)
            throw Error(source + ": tensor '" + firstUse[i]->name + "' refers to storage record '"
                        + recordName + "', which the archive does not contain");
        std::uint64_t bytes = 0;
        if (__builtin_mul_overflow(static_cast<std::uint64_t>(ref.numel),
                                   static_cast<std::uint64_t>(pickle::storageElementSize(ref.type)), &bytes)
            || entry->size < bytes)
            throw Error(source + ": storage record '" + recordName + "' of tensor '" + firstUse[i]->name
                        + "' holds " + std::to_string(entry->size) + " bytes but the pickle declares "
                        + std::to_string(ref.numel) + " " + pickle::storageTypeName(ref.type)
                        + " elements (truncated or corrupt checkpoint)");
        storages[ref.key] = rethrowAsError(source + ": storage '" + recordName + "'", [&] {
            return storageTensor(file, zip, *entry, ref);
        });
    }

    PyTorchCheckpointContent content;
    content.wrapper = std::move(records.wrapper);
    content.notes = std::move(records.notes);
    for (const auto& t : records.tensors) {
        const at::Tensor& storage = storages.at(t.record.storage.key);
        at::Tensor view = rethrowAsError(source + ": tensor '" + t.name + "'", [&] {
            if (storageElementsNeeded(t.record, t.name) == 0)
                return at::empty(t.record.sizes, storage.options());
            return storage.as_strided(t.record.sizes, t.record.strides, t.record.offset);
        });
        content.tensors.insert(t.name, std::move(view));
    }
    progress.report(1.0, path.filename().string());
    return content;
}

void savePyTorchCheckpoint(const fs::path& path, const StateDict& tensors, const std::string& wrapper)
{
    std::string archive = path.stem().string();
    if (archive.empty())
        archive = "archive";

    // Tensors that are the same view of the same storage (e.g. a tied weight) share a record.
    struct Stored {
        const c10::StorageImpl* storage;
        std::int64_t offset;
        std::vector<std::int64_t> sizes;
        std::vector<std::int64_t> strides;
        c10::ScalarType type;
        std::size_t index;
    };
    std::vector<Stored> seen;
    std::vector<at::Tensor> payloads;
    std::vector<NamedTensorRecord> records;
    records.reserve(tensors.size());
    for (const auto& e : tensors) {
        const at::Tensor& t = e.tensor;
        const StorageType type = storageTypeOf(t.scalar_type(), e.name);
        if (t.is_sparse() || t.is_quantized() || t.layout() != at::kStrided)
            throw Error("tensor '" + e.name + "' is not a dense strided tensor");
        const c10::StorageImpl* impl = t.storage().unsafeGetStorageImpl();
        const Stored* same = nullptr;
        for (const auto& s : seen)
            if (s.storage == impl && s.offset == t.storage_offset() && s.type == t.scalar_type()
                && s.sizes == t.sizes().vec() && s.strides == t.strides().vec())
                same = &s;
        NamedTensorRecord record;
        record.name = e.name;
        if (same != nullptr) {
            record.record = records[same->index].record;
        } else {
            at::Tensor data = rethrowAsError("preparing tensor '" + e.name + "'",
                                             [&] { return t.to(at::kCPU).contiguous(); });
            record.record.storage.key = std::to_string(payloads.size());
            record.record.storage.type = type;
            record.record.storage.location = "cpu";
            record.record.storage.numel = data.numel();
            record.record.offset = 0;
            record.record.sizes = data.sizes().vec();
            record.record.strides = data.strides().vec();
            seen.push_back(Stored{impl, t.storage_offset(), t.sizes().vec(), t.strides().vec(),
                                  t.scalar_type(), records.size()});
            payloads.push_back(std::move(data));
        }
        records.push_back(std::move(record));
    }
    const std::string pkl = pickleStateDict(records, wrapper);

    writeFileAtomically(path, [&](AtomicFileWriter& out) {
        ZipWriter zip(out);
        zip.addStored(archive + "/data.pkl", pkl.data(), pkl.size());
        zip.addStored(archive + "/byteorder", "little", 6);
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            const at::Tensor& p = payloads[i];
            zip.addStored(archive + "/data/" + std::to_string(i), p.numel() > 0 ? p.data_ptr() : nullptr,
                          static_cast<std::uint64_t>(p.numel()) * p.element_size());
        }
        zip.addStored(archive + "/version", "3\n", 2);
        zip.finish();
    });
}

}  // namespace birkhoff::io
