// A restricted, LibTorch-free unpickler for the data.pkl of torch.save checkpoints. It runs the
// pickle opcodes torch.save emits (protocols 2 and 4) over an in-memory byte range and builds a
// small value tree: None, bool, int, float, str, bytes, list, tuple, dict, OrderedDict, storage
// references and tensor records (storage key, element type, offset, sizes, strides). Nothing is
// ever executed: the only globals it resolves are collections.OrderedDict,
// torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the torch.*Storage
// classes; every other global (os.system, builtins.eval, a pickled nn.Module class, ...) is
// refused with an Error naming it. Turning records into tensors is pytorch_checkpoint's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace birkhoff::io::pickle {

/// Element type of a torch storage class (torch.FloatStorage, ...).
enum class StorageType : std::uint8_t {
    Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte, Bool,
};

/// "FloatStorage", "HalfStorage", ... (the class name inside module torch).
const char* storageTypeName(StorageType type);
/// Bytes per element (4 for Float, 2 for BFloat16, 1 for Bool, ...).
std::size_t storageElementSize(StorageType type);

/// A storage reference from a persistent id ('storage', torch.XStorage, key, location, numel).
struct StorageRef {
    std::string key;       ///< the record name under <archive>/data/
    StorageType type = StorageType::Float;
    std::string location;  ///< "cpu", "cuda:0", ... (informational; data is always loaded to CPU)
    std::int64_t numel = 0;
};

/// What torch._utils._rebuild_tensor_v2 (and _rebuild_parameter around it) describes: a strided
/// view into a storage.
struct TensorRecord {
    StorageRef storage;
    std::int64_t offset = 0;
    std::vector<std::int64_t> sizes;
    std::vector<std::int64_t> strides;
    bool parameter = false;  ///< wrapped in torch._utils._rebuild_parameter
};

enum class Kind : std::uint8_t {
    None, Bool, Int, Float, String, Bytes, List, Tuple, Dict, Global, Storage, Tensor,
};

/// Human-readable kind name ("str", "OrderedDict", "tensor", ...) for messages.
const char* kindName(Kind kind, bool orderedDict = false);

/// One node of the value tree. Nodes are owned by their Document; children are pointers into
/// the same Document (a pickle may reference one object from several places).
struct Value {
    Kind kind = Kind::None;
    bool boolean = false;                        ///< Bool
    std::int64_t integer = 0;                    ///< Int
    double real = 0.0;                           ///< Float
    std::string text;                            ///< String, Bytes; Global: "module.name"
    std::vector<const Value*> items;             ///< List, Tuple
    std::vector<std::pair<const Value*, const Value*>> entries;  ///< Dict, in insertion order
    bool ordered = false;                        ///< Dict created as collections.OrderedDict
    const Value* attributes = nullptr;           ///< Dict: state given by BUILD (e.g. _metadata)
    std::shared_ptr<const StorageRef> storage;   ///< Storage
    std::shared_ptr<const TensorRecord> tensor;  ///< Tensor

    /// The value of a string key in a Dict, or nullptr.
    const Value* find(const std::string& key) const;
};

/// The result of unpickling: owns every node.
class Document {
public:
    Document() = default;
    Document(Document&&) noexcept = default;
    Document& operator=(Document&&) noexcept = default;
    Document(const Document&) = delete;
    Document& operator=(const Document&) = delete;

    const Value& root() const { return *root_; }

private:
    friend class Machine;
    std::vector<std::unique_ptr<Value>> nodes_;
    const Value* root_ = nullptr;
};

/// Largest pickle accepted (real state dicts need well under 1 MB).
constexpr std::size_t kMaxPickleBytes = 256u * 1024 * 1024;

/// Runs the pickle in [data, data+size). `source` names it in messages (e.g. "'sam.pth'
/// (sam/data.pkl)"). @throws Error on a refused global, an unsupported opcode, malformed or
/// truncated data, or a call of an allowed global with unexpected arguments. Never executes
/// anything and never reads outside the given range.
Document unpickle(const std::uint8_t* data, std::size_t size, const std::string& source);

}  // namespace birkhoff::io::pickle
