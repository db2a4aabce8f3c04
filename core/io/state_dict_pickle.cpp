// State-dict extraction from, and data.pkl writing for, torch.save checkpoints (LibTorch-free).
#include "core/io/state_dict_pickle.h"

#include "core/util/error.h"

#include <cstring>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace birkhoff::io {

namespace {

using pickle::Kind;
using pickle::Value;

constexpr int kMaxNesting = 16;
constexpr std::size_t kMaxNotes = 20;
constexpr std::size_t kMaxNameBytes = 65536;
constexpr std::uint64_t kCountCap = std::uint64_t{1} << 62;

std::string joinInts(const std::vector<std::int64_t>& v)
{
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
        s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

// A short description of an ignored value for notes: "int 3", "str 'vit_b'", "list".
std::string describe(const Value* v)
{
    switch (v->kind) {
    case Kind::Int: return "int " + std::to_string(v->integer);
    case Kind::Bool: return v->boolean ? "bool True" : "bool False";
    case Kind::Float: {
        std::ostringstream s;
        s << "float " << v->real;
        return s.str();
    }
    case Kind::String:
        return v->text.size() <= 40 ? "str '" + v->text + "'" : "str of " + std::to_string(v->text.size()) + " characters";
    default: return pickle::kindName(v->kind, v->ordered);
    }
}

class Extractor {
public:
    explicit Extractor(const std::string& source) : source_(source) {}

    StateDictRecords run(const Value& root)
    {
        if (root.kind != Kind::Dict)
            throw Error(source_ + " holds a " + pickle::kindName(root.kind, root.ordered)
                        + ", not a state dict (a dict of name -> tensor)");
        const Value* chosen = &root;
        if (!hasDirectTensor(root)) {
            for (const char* wrapper : {"model", "state_dict"}) {
                const Value* inner = root.find(wrapper);
                if (inner != nullptr && inner->kind == Kind::Dict && countTensors(inner, 0) > 0) {
                    out_.wrapper = wrapper;
                    chosen = inner;
                    break;
                }
            }
        }
        if (chosen != &root) {
            for (const auto& kv : root.entries) {
                if (kv.second == chosen)
                    continue;
                const std::uint64_t n = countTensors(kv.second, 0);
                note("ignored top-level entry '" + keyText(kv.first) + "' ("
                     + (n > 0 ? std::string(pickle::kindName(kv.second->kind, kv.second->ordered))
                                    + " holding " + std::to_string(n) + " tensors"
                              : describe(kv.second))
                     + ")");
            }
        }
        flatten(chosen, "", 0);
        if (out_.tensors.empty())
            throw Error(source_ + " holds no tensors (not a model state dict)");
        stripDataParallelPrefix();
        if (droppedNotes_ > 0)
            out_.notes.push_back("... and " + std::to_string(droppedNotes_) + " more ignored entries");
        validate();
        return std::move(out_);
    }

private:
    void note(std::string text)
    {
        if (out_.notes.size() < kMaxNotes)
            out_.notes.push_back(std::move(text));
        else
            ++droppedNotes_;
    }

    static bool hasDirectTensor(const Value& dict)
    {
        for (const auto& kv : dict.entries)
            if (kv.second->kind == Kind::Tensor)
                return true;
        return false;
    }

    std::string keyText(const Value* key) const
    {
        switch (key->kind) {
        case Kind::String: return key->text;
        case Kind::Int: return std::to_string(key->integer);
        case Kind::Bool: return key->boolean ? "True" : "False";
        default: return "None";
        }
    }

    // Tensors reachable through containers; memoised per node, so shared sub-trees and cycles
    // cost linear time.
    std::uint64_t countTensors(const Value* v, int depth)
    {
        if (v->kind == Kind::Tensor)
            return 1;
        if (v->kind != Kind::Dict && v->kind != Kind::List && v->kind != Kind::Tuple)
            return 0;
        if (depth > kMaxNesting)
            return 0;
        const auto it = counts_.find(v);
        if (it != counts_.end())
            return it->second;
        counts_[v] = 0;
        std::uint64_t n = 0;
        if (v->kind == Kind::Dict) {
            for (const auto& kv : v->entries)
                n += countTensors(kv.second, depth + 1);
        } else {
            for (const Value* item : v->items)
                n += countTensors(item, depth + 1);
        }
        if (n > kCountCap)
            n = kCountCap;
        counts_[v] = n;
        return n;
    }

    void flatten(const Value* dict, const std::string& prefix, int depth)
    {
        if (depth > kMaxNesting)
            throw Error(source_ + ": dicts are nested more than " + std::to_string(kMaxNesting)
                        + " levels deep at '" + prefix + "'");
        if (!visited_.insert(dict).second) {
            note("skipped a repeated reference to the dict at '" + prefix + "'");
            return;
        }
        for (const auto& kv : dict->entries) {
            const std::string name = prefix + keyText(kv.first);
            if (name.size() > kMaxNameBytes)
                throw Error(source_ + ": a tensor name is longer than " + std::to_string(kMaxNameBytes) + " bytes");
            const Value* v = kv.second;
            if (v->kind == Kind::Tensor) {
                add(name, *v->tensor);
            } else if (v->kind == Kind::Dict && countTensors(v, depth + 1) > 0) {
                flatten(v, name + ".", depth + 1);
            } else {
                const std::uint64_t n = countTensors(v, depth + 1);
                note("ignored '" + name + "' ("
                     + (n > 0 ? std::string(pickle::kindName(v->kind, v->ordered)) + " holding "
                                    + std::to_string(n) + " tensors"
                              : describe(v))
                     + ")");
            }
        }
    }

    void add(const std::string& name, const pickle::TensorRecord& record)
    {
        if (!names_.insert(name).second)
            throw Error(source_ + ": tensor name '" + name + "' occurs twice");
        out_.tensors.push_back(NamedTensorRecord{name, record});
    }

    void stripDataParallelPrefix()
    {
        const std::string prefix = "module.";
        for (const auto& t : out_.tensors)
            if (t.name.compare(0, prefix.size(), prefix) != 0)
                return;
        for (auto& t : out_.tensors)
            t.name.erase(0, prefix.size());
        out_.notes.push_back("removed the 'module.' prefix (DataParallel) from every tensor name");
    }

    void validate() const
    {
        std::unordered_map<std::string, const pickle::StorageRef*> storages;
        for (const auto& t : out_.tensors) {
            const pickle::StorageRef& s = t.record.storage;
            const auto [it, inserted] = storages.emplace(s.key, &s);
            if (!inserted && (it->second->type != s.type || it->second->numel != s.numel))
                throw Error(source_ + ": tensor '" + t.name + "' refers to storage '" + s.key
                            + "' as " + std::to_string(s.numel) + " x " + pickle::storageTypeName(s.type)
                            + " but an earlier tensor refers to it as "
                            + std::to_string(it->second->numel) + " x "
                            + pickle::storageTypeName(it->second->type));
            const std::uint64_t needed = storageElementsNeeded(t.record, t.name);
            if (needed > static_cast<std::uint64_t>(s.numel))
                throw Error(source_ + ": tensor '" + t.name + "' (size " + joinInts(t.record.sizes)
                            + ", stride " + joinInts(t.record.strides) + ", offset "
                            + std::to_string(t.record.offset) + ") needs " + std::to_string(needed)
                            + " elements of storage '" + s.key + "', which holds only "
                            + std::to_string(s.numel)
                            + " (corrupt checkpoint; PyTorch 1.13 would read past the end of its data)");
        }
    }

    const std::string& source_;
    StateDictRecords out_;
    std::size_t droppedNotes_ = 0;
    std::unordered_map<const Value*, std::uint64_t> counts_;
    std::unordered_set<const Value*> visited_;
    std::unordered_set<std::string> names_;
};

// Writes pickle opcodes (protocol 2) into a byte string, memoising globals like Python does.
class Emitter {
public:
    Emitter() { bytes_ += "\x80\x02"; }

    void op(char c) { bytes_ += c; }
    void global(const std::string& module, const std::string& name)
    {
        const std::string key = module + "\n" + name + "\n";
        const auto it = memo_.find(key);
        if (it != memo_.end()) {
            get(it->second);
            return;
        }
        op('c');
        bytes_ += key;
        const std::uint32_t index = nextMemo_++;
        memo_.emplace(key, index);
        put(index);
    }
    void integer(std::int64_t v)
    {
        if (v >= 0 && v < 256) {
            op('K');
            bytes_ += static_cast<char>(v);
        } else if (v >= 0 && v < 65536) {
            op('M');
            little(static_cast<std::uint64_t>(v), 2);
        } else if (v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max()) {
            op('J');
            little(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)), 4);
        } else {
            // LONG1 with the shortest two's-complement little-endian encoding.
            std::uint64_t u;
            std::memcpy(&u, &v, sizeof u);
            std::string digits;
            for (int i = 0; i < 8; ++i)
                digits += static_cast<char>((u >> (8 * i)) & 0xff);
            while (digits.size() > 1) {
                const auto last = static_cast<unsigned char>(digits.back());
                const auto prev = static_cast<unsigned char>(digits[digits.size() - 2]);
                if ((last == 0x00 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80)))
                    digits.pop_back();
                else
                    break;
            }
            bytes_ += '\x8a';
            bytes_ += static_cast<char>(digits.size());
            bytes_ += digits;
        }
    }
    void string(const std::string& s)
    {
        op('X');
        little(s.size(), 4);
        bytes_ += s;
    }
    void tupleOfInts(const std::vector<std::int64_t>& items)
    {
        if (items.empty()) {
            op(')');
            return;
        }
        if (items.size() > 3)
            op('(');
        for (const auto v : items)
            integer(v);
        if (items.size() > 3)
            op('t');
        else
            bytes_ += static_cast<char>(0x85 + items.size() - 1);
    }
    const std::string& bytes() const { return bytes_; }

private:
    void little(std::uint64_t v, int n)
    {
        for (int i = 0; i < n; ++i, v >>= 8)
            bytes_ += static_cast<char>(v & 0xff);
    }
    void put(std::uint32_t index)
    {
        if (index < 256) {
            op('q');
            bytes_ += static_cast<char>(index);
        } else {
            op('r');
            little(index, 4);
        }
    }
    void get(std::uint32_t index)
    {
        if (index < 256) {
            op('h');
            bytes_ += static_cast<char>(index);
        } else {
            op('j');
            little(index, 4);
        }
    }

    std::string bytes_;
    std::map<std::string, std::uint32_t> memo_;
    std::uint32_t nextMemo_ = 0;
};

void emitEmptyOrderedDict(Emitter& e)
{
    e.global("collections", "OrderedDict");
    e.op(')');
    e.op('R');
}

void emitTensor(Emitter& e, const pickle::TensorRecord& r)
{
    e.global("torch._utils", "_rebuild_tensor_v2");
    e.op('(');
    e.op('(');
    e.string("storage");
    e.global("torch", pickle::storageTypeName(r.storage.type));
    e.string(r.storage.key);
    e.string("cpu");
    e.integer(r.storage.numel);
    e.op('t');
    e.op('Q');
    e.integer(r.offset);
    e.tupleOfInts(r.sizes);
    e.tupleOfInts(r.strides);
    e.op('\x89');
    emitEmptyOrderedDict(e);
    e.op('t');
    e.op('R');
}

}  // namespace

std::uint64_t storageElementsNeeded(const pickle::TensorRecord& record, const std::string& name)
{
    const auto bad = [&](const std::string& what) {
        return Error("tensor '" + name + "': " + what);
    };
    if (record.offset < 0)
        throw bad("negative storage offset " + std::to_string(record.offset));
    if (record.sizes.size() != record.strides.size())
        throw bad("size and stride have different lengths");
    bool empty = false;
    for (std::size_t i = 0; i < record.sizes.size(); ++i) {
        if (record.sizes[i] < 0)
            throw bad("negative size " + joinInts(record.sizes));
        if (record.strides[i] < 0)
            throw bad("negative stride " + joinInts(record.strides));
        empty = empty || record.sizes[i] == 0;
    }
    if (empty)
        return 0;
    std::uint64_t last = static_cast<std::uint64_t>(record.offset);
    for (std::size_t i = 0; i < record.sizes.size(); ++i) {
        std::uint64_t step;
        if (__builtin_mul_overflow(static_cast<std::uint64_t>(record.sizes[i] - 1),
                                   static_cast<std::uint64_t>(record.strides[i]), &step)
            || __builtin_add_overflow(last, step, &last))
            throw bad("size and stride overflow 64 bits");
    }
    if (last >= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw bad("size and stride overflow 64 bits");
    return last + 1;
}

StateDictRecords extractStateDict(const pickle::Document& doc, const std::string& source)
{
    return Extractor(source).run(doc.root());
}

std::string pickleStateDict(const std::vector<NamedTensorRecord>& tensors, const std::string& wrapper)
{
    constexpr std::size_t kBatch = 1000;  // SETITEMS batch size Python's pickle uses
    Emitter e;
    if (!wrapper.empty()) {
        e.op('}');
        e.string(wrapper);
    }
    emitEmptyOrderedDict(e);
    for (std::size_t start = 0; start < tensors.size(); start += kBatch) {
        e.op('(');
        for (std::size_t i = start; i < tensors.size() && i < start + kBatch; ++i) {
            e.string(tensors[i].name);
            emitTensor(e, tensors[i].record);
        }
        e.op('u');
    }
    if (!wrapper.empty())
        e.op('s');
    e.op('.');
    return e.bytes();
}

}  // namespace birkhoff::io
