// The restricted pickle machine (LibTorch-free; fuzzed by tests/fuzz/fuzz_unpickler.cpp).
#include "core/io/pickle.h"

#include "core/util/error.h"

#include <cstring>
#include <functional>
#include <limits>
#include <unordered_map>

namespace birkhoff::io::pickle {

namespace {

struct StorageClass {
    const char* name;
    StorageType type;
    std::size_t size;
};

const StorageClass kStorageClasses[] = {
    {"FloatStorage", StorageType::Float, 4},   {"DoubleStorage", StorageType::Double, 8},
    {"HalfStorage", StorageType::Half, 2},     {"BFloat16Storage", StorageType::BFloat16, 2},
    {"LongStorage", StorageType::Long, 8},     {"IntStorage", StorageType::Int, 4},
    {"ShortStorage", StorageType::Short, 2},   {"CharStorage", StorageType::Char, 1},
    {"ByteStorage", StorageType::Byte, 1},     {"BoolStorage", StorageType::Bool, 1},
};

const char* const kOrderedDict = "collections.OrderedDict";
const char* const kRebuildTensor = "torch._utils._rebuild_tensor_v2";
const char* const kRebuildParameter = "torch._utils._rebuild_parameter";

const StorageClass* storageClassOf(const std::string& global)
{
    const std::string prefix = "torch.";
    if (global.compare(0, prefix.size(), prefix) != 0)
        return nullptr;
    for (const auto& c : kStorageClasses)
        if (global.compare(prefix.size(), std::string::npos, c.name) == 0)
            return &c;
    return nullptr;
}

bool isAllowedGlobal(const std::string& global)
{
    return global == kOrderedDict || global == kRebuildTensor || global == kRebuildParameter
           || storageClassOf(global) != nullptr;
}

// Opcodes of the pickle protocol used here (names as in CPython's pickletools).
enum Opcode : std::uint8_t {
    MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', BINFLOAT = 'G', BININT = 'J',
    BININT1 = 'K', BININT2 = 'M', NONE = 'N', BINPERSID = 'Q', REDUCE = 'R', BINBYTES = 'B',
    SHORT_BINBYTES = 'C', BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', DICT = 'd',
    EMPTY_DICT = '}', APPENDS = 'e', BINGET = 'h', LONG_BINGET = 'j', LIST = 'l',
    EMPTY_LIST = ']', BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't',
    EMPTY_TUPLE = ')', SETITEMS = 'u', PROTO = 0x80, TUPLE1 = 0x85, TUPLE2 = 0x86,
    TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b,
    SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, STACK_GLOBAL = 0x93,
    MEMOIZE = 0x94, FRAME = 0x95,
};

std::string hexByte(std::uint8_t b)
{
    static const char digits[] = "0123456789abcdef";
    return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

}  // namespace

const char* storageTypeName(StorageType type)
{
    for (const auto& c : kStorageClasses)
        if (c.type == type)
            return c.name;
    return "?";
}

std::size_t storageElementSize(StorageType type)
{
    for (const auto& c : kStorageClasses)
        if (c.type == type)
            return c.size;
    return 1;
}

const char* kindName(Kind kind, bool orderedDict)
{
    switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return orderedDict ? "OrderedDict" : "dict";
    case Kind::Global: return "class reference";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
    }
    return "?";
}

const Value* Value::find(const std::string& key) const
{
    for (const auto& kv : entries)
        if (kv.first->kind == Kind::String && kv.first->text == key)
            return kv.second;
    return nullptr;
}

// The pickle virtual machine: one object per unpickle() call.
class Machine {
public:
    Machine(const std::uint8_t* data, std::size_t size, std::string source)
        : data_(data), size_(size), source_(std::move(source))
    {
    }

    Document run()
    {
        if (size_ > kMaxPickleBytes)
            fail("the pickle is " + std::to_string(size_) + " bytes, more than the "
                 + std::to_string(kMaxPickleBytes) + "-byte limit");
        while (true) {
            opStart_ = pos_;
            const std::uint8_t op = readByte();
            if (op == STOP)
                break;
            execute(op);
        }
        if (stack_.size() != 1 || !marks_.empty())
            fail("the pickle ends with " + std::to_string(stack_.size()) + " values and "
                 + std::to_string(marks_.size()) + " marks on the stack instead of one value");
        doc_.root_ = stack_.back();
        return std::move(doc_);
    }

private:
    [[noreturn]] void fail(const std::string& what) const
    {
        throw Error(source_ + ": " + what + " (pickle byte " + std::to_string(opStart_) + ")");
    }

    // --- reading the byte stream -------------------------------------------------------------
    void need(std::size_t n) const
    {
        if (n > size_ - pos_)
            fail("the pickle is truncated");
    }
    std::uint8_t readByte()
    {
        need(1);
        return data_[pos_++];
    }
    std::uint64_t readLittle(std::size_t n)
    {
        need(n);
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v |= static_cast<std::uint64_t>(data_[pos_ + i]) << (8 * i);
        pos_ += n;
        return v;
    }
    std::string readBytes(std::uint64_t n)
    {
        if (n > size_ - pos_)
            fail("the pickle is truncated (a string claims " + std::to_string(n) + " bytes)");
        std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return s;
    }
    std::string readLine()
    {
        const std::size_t start = pos_;
        while (pos_ < size_ && data_[pos_] != '\n')
            ++pos_;
        if (pos_ == size_)
            fail("the pickle is truncated (unterminated GLOBAL name)");
        std::string s(reinterpret_cast<const char*>(data_ + start), pos_ - start);
        ++pos_;
        return s;
    }

    // --- values ------------------------------------------------------------------------------
    Value* make(Kind kind)
    {
        doc_.nodes_.push_back(std::make_unique<Value>());
        Value* v = doc_.nodes_.back().get();
        v->kind = kind;
        return v;
    }
    Value* makeInt(std::int64_t i)
    {
        Value* v = make(Kind::Int);
        v->integer = i;
        return v;
    }
    Value* makeString(Kind kind, std::string s)
    {
        Value* v = make(kind);
        v->text = std::move(s);
        return v;
    }
    void push(Value* v) { stack_.push_back(v); }
    Value* pop()
    {
        if (stack_.size() <= stackFloor())
            fail("stack underflow");
        Value* v = stack_.back();
        stack_.pop_back();
        return v;
    }
    Value* top()
    {
        if (stack_.size() <= stackFloor())
            fail("stack underflow");
        return stack_.back();
    }
    // Values below the innermost mark belong to enclosing constructs.
    std::size_t stackFloor() const { return marks_.empty() ? 0 : marks_.back(); }
    std::vector<Value*> popToMark()
    {
        if (marks_.empty())
            fail("no MARK on the stack");
        const std::size_t mark = marks_.back();
        marks_.pop_back();
        std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
        stack_.resize(mark);
        return items;
    }

    Value* makeTuple(const std::vector<Value*>& items)
    {
        Value* t = make(Kind::Tuple);
        t->items.assign(items.begin(), items.end());
        return t;
    }

    // Dict keys must be hashable scalars; duplicates replace the earlier value like Python.
    // Hashes are cached per node, so reusing one long key string costs its length only once.
    std::size_t keyHash(const Value* key)
    {
        switch (key->kind) {
        case Kind::String: {
            const auto it = stringHashes_.find(key);
            if (it != stringHashes_.end())
                return it->second;
            const std::size_t h = std::hash<std::string>()(key->text);
            stringHashes_.emplace(key, h);
            return h;
        }
        case Kind::Int: return std::hash<std::int64_t>()(key->integer);
        case Kind::Bool: return std::hash<std::int64_t>()(key->boolean ? 1 : 0);
        case Kind::None: return 0x9e3779b9u;
        default:
            fail(std::string("unsupported dict key of type ") + kindName(key->kind, key->ordered));
        }
    }
    static std::int64_t numericKey(const Value* v) { return v->kind == Kind::Bool ? v->boolean : v->integer; }
    static bool sameKey(const Value* a, const Value* b)
    {
        if (a == b)
            return true;
        const bool aNum = a->kind == Kind::Int || a->kind == Kind::Bool;
        const bool bNum = b->kind == Kind::Int || b->kind == Kind::Bool;
        if (aNum || bNum)
            return aNum && bNum && numericKey(a) == numericKey(b);
        if (a->kind != b->kind)
            return false;
        return a->kind == Kind::None || a->text == b->text;
    }
    void setItem(Value* dict, Value* key, Value* value)
    {
        if (dict->kind != Kind::Dict)
            fail(std::string("SETITEM on a ") + kindName(dict->kind) + " instead of a dict");
        const std::size_t h = keyHash(key);
        auto& index = dictIndex_[dict];
        const auto range = index.equal_range(h);
        for (auto it = range.first; it != range.second; ++it) {
            if (sameKey(dict->entries[it->second].first, key)) {
                dict->entries[it->second].second = value;
                return;
            }
        }
        index.emplace(h, dict->entries.size());
        dict->entries.emplace_back(key, value);
    }

    void memoPut(std::uint64_t index)
    {
        memo_[index] = top();
    }
    Value* memoGet(std::uint64_t index)
    {
        const auto it = memo_.find(index);
        if (it == memo_.end())
            fail("memo entry " + std::to_string(index) + " is read before it is written");
        return it->second;
    }

    Value* resolveGlobal(const std::string& module, const std::string& name)
    {
        const std::string global = module + "." + name;
        if (!isAllowedGlobal(global))
            fail("refused to load global '" + global
                 + "': a checkpoint may only reference collections.OrderedDict, "
                   "torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and torch "
                   "storage classes (this file pickles code or whole Python objects; re-save "
                   "the state dict with torch.save(model.state_dict(), path))");
        return makeString(Kind::Global, global);
    }

    std::int64_t intArg(const Value* v, const char* what)
    {
        if (v->kind == Kind::Bool)
            return v->boolean ? 1 : 0;
        if (v->kind != Kind::Int)
            fail(std::string(what) + " must be an int, not " + kindName(v->kind, v->ordered));
        return v->integer;
    }
    std::vector<std::int64_t> intTuple(const Value* v, const char* what)
    {
        if (v->kind != Kind::Tuple && v->kind != Kind::List)
            fail(std::string(what) + " must be a tuple of ints, not " + kindName(v->kind, v->ordered));
        std::vector<std::int64_t> out;
        out.reserve(v->items.size());
        for (const Value* item : v->items)
            out.push_back(intArg(item, what));
        return out;
    }

    Value* callRebuildTensor(const Value* args)
    {
        if (args->items.size() != 6 && args->items.size() != 7)
            fail(std::string(kRebuildTensor) + " called with " + std::to_string(args->items.size())
                 + " arguments instead of 6 or 7");
        const Value* storage = args->items[0];
        if (storage->kind != Kind::Storage)
            fail(std::string(kRebuildTensor) + " needs a storage, got "
                 + kindName(storage->kind, storage->ordered));
        auto record = std::make_shared<TensorRecord>();
        record->storage = *storage->storage;
        record->offset = intArg(args->items[1], "the storage offset");
        record->sizes = intTuple(args->items[2], "the tensor size");
        record->strides = intTuple(args->items[3], "the tensor stride");
        if (args->items[4]->kind != Kind::Bool)
            fail(std::string(kRebuildTensor) + ": requires_grad must be a bool");
        const Value* hooks = args->items[5];
        if (hooks->kind != Kind::Dict && hooks->kind != Kind::None)
            fail(std::string(kRebuildTensor) + ": backward hooks must be a dict");
        if (args->items.size() == 7 && args->items[6]->kind != Kind::Dict
            && args->items[6]->kind != Kind::None)
            fail(std::string(kRebuildTensor) + ": tensor metadata must be a dict or None");
        if (record->sizes.size() != record->strides.size())
            fail(std::string(kRebuildTensor) + ": size has " + std::to_string(record->sizes.size())
                 + " dimensions but stride has " + std::to_string(record->strides.size()));
        Value* v = make(Kind::Tensor);
        v->tensor = std::move(record);
        return v;
    }

    Value* callRebuildParameter(const Value* args)
    {
        if (args->items.size() != 3)
            fail(std::string(kRebuildParameter) + " called with " + std::to_string(args->items.size())
                 + " arguments instead of 3");
        const Value* data = args->items[0];
        if (data->kind != Kind::Tensor)
            fail(std::string(kRebuildParameter) + " needs a tensor, got " + kindName(data->kind, data->ordered));
        if (args->items[1]->kind != Kind::Bool)
            fail(std::string(kRebuildParameter) + ": requires_grad must be a bool");
        if (args->items[2]->kind != Kind::Dict && args->items[2]->kind != Kind::None)
            fail(std::string(kRebuildParameter) + ": backward hooks must be a dict");
        auto record = std::make_shared<TensorRecord>(*data->tensor);
        record->parameter = true;
        Value* v = make(Kind::Tensor);
        v->tensor = std::move(record);
        return v;
    }

    void reduce()
    {
        Value* args = pop();
        Value* callable = pop();
        if (callable->kind != Kind::Global)
            fail(std::string("REDUCE calls a ") + kindName(callable->kind, callable->ordered)
                 + ", which is not an allowed global");
        if (args->kind != Kind::Tuple)
            fail("REDUCE arguments are not a tuple");
        const std::string& name = callable->text;
        if (name == kOrderedDict) {
            if (!args->items.empty())
                fail("collections.OrderedDict is called with arguments; only OrderedDict() is allowed");
            Value* d = make(Kind::Dict);
            d->ordered = true;
            push(d);
        } else if (name == kRebuildTensor) {
            push(callRebuildTensor(args));
        } else if (name == kRebuildParameter) {
            push(callRebuildParameter(args));
        } else {
            fail("'" + name + "' may only appear inside a storage reference, not be called");
        }
    }

    void build()
    {
        Value* state = pop();
        Value* target = top();
        if (target->kind != Kind::Dict || !target->ordered)
            fail(std::string("BUILD (setting object state) on a ") + kindName(target->kind, target->ordered)
                 + "; it is only allowed on an OrderedDict (state-dict _metadata)");
        if (state->kind != Kind::Dict && state->kind != Kind::None)
            fail(std::string("BUILD state of an OrderedDict must be a dict, not ")
                 + kindName(state->kind, state->ordered));
        target->attributes = state;
    }

    void persistentLoad()
    {
        const Value* pid = pop();
        if (pid->kind != Kind::Tuple || pid->items.size() != 5)
            fail("persistent id is not a ('storage', type, key, location, numel) tuple");
        const auto& f = pid->items;
        if (f[0]->kind != Kind::String || f[0]->text != "storage")
            fail("persistent id does not start with 'storage'");
        const StorageClass* cls = f[1]->kind == Kind::Global ? storageClassOf(f[1]->text) : nullptr;
        if (cls == nullptr)
            fail("persistent id names no torch storage class");
        if (f[2]->kind != Kind::String || f[3]->kind != Kind::String)
            fail("persistent id key and location must be strings");
        const std::string& key = f[2]->text;
        if (key.empty() || key.size() > 64)
            fail("storage key '" + key + "' is empty or too long");
        for (const char c : key)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
                fail("storage key '" + key + "' has characters other than letters, digits and _");
        const std::int64_t numel = intArg(f[4], "the storage size");
        if (numel < 0)
            fail("storage '" + key + "' has a negative size");
        auto ref = std::make_shared<StorageRef>();
        ref->key = key;
        ref->type = cls->type;
        ref->location = f[3]->text;
        ref->numel = numel;
        Value* v = make(Kind::Storage);
        v->storage = std::move(ref);
        push(v);
    }

    std::int64_t readLong(std::uint64_t n)
    {
        if (n == 0)
            return 0;
        if (n > size_ - pos_)
            fail("the pickle is truncated (a long claims " + std::to_string(n) + " bytes)");
        const std::uint8_t* p = data_ + pos_;
        pos_ += static_cast<std::size_t>(n);
        const bool negative = (p[n - 1] & 0x80) != 0;
        // Bytes beyond the 8th must be pure sign extension for the value to fit in int64.
        for (std::uint64_t i = 8; i < n; ++i)
            if (p[i] != (negative ? 0xff : 0x00))
                fail("integer does not fit in 64 bits");
        std::uint64_t v = negative ? ~std::uint64_t{0} : 0;
        const std::uint64_t used = n < 8 ? n : 8;
        for (std::uint64_t i = 0; i < used; ++i) {
            v &= ~(std::uint64_t{0xff} << (8 * i));
            v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
        }
        if (n > 8 && ((v >> 63) != 0) != negative)
            fail("integer does not fit in 64 bits");
        std::int64_t out;
        std::memcpy(&out, &v, sizeof out);
        return out;
    }

    void execute(std::uint8_t op)
    {
        switch (op) {
        case PROTO: {
            const std::uint8_t proto = readByte();
            if (proto > 5)
                fail("pickle protocol " + std::to_string(proto) + " is not supported");
            break;
        }
        case FRAME: readLittle(8); break;
        case MARK: marks_.push_back(stack_.size()); break;
        case POP: pop(); break;
        case POP_MARK: popToMark(); break;
        case NONE: push(make(Kind::None)); break;
        case NEWTRUE:
        case NEWFALSE: {
            Value* v = make(Kind::Bool);
            v->boolean = op == NEWTRUE;
            push(v);
            break;
        }
        case BININT: {
            const auto u = static_cast<std::uint32_t>(readLittle(4));
            std::int32_t i;
            std::memcpy(&i, &u, sizeof i);
            push(makeInt(i));
            break;
        }
        case BININT1: push(makeInt(readByte())); break;
        case BININT2: push(makeInt(static_cast<std::int64_t>(readLittle(2)))); break;
        case LONG1: {
            const std::uint8_t n = readByte();
            push(makeInt(readLong(n)));
            break;
        }
        case LONG4: {
            const auto n = static_cast<std::uint32_t>(readLittle(4));
            if (n > 0x7fffffffu)
                fail("negative LONG4 length");
            push(makeInt(readLong(n)));
            break;
        }
        case BINFLOAT: {
            need(8);
            std::uint64_t bits = 0;
            for (int i = 0; i < 8; ++i)
                bits = (bits << 8) | data_[pos_ + i];
            pos_ += 8;
            Value* v = make(Kind::Float);
            std::memcpy(&v->real, &bits, sizeof bits);
            push(v);
            break;
        }
        case SHORT_BINUNICODE: push(makeString(Kind::String, readBytes(readByte()))); break;
        case BINUNICODE: push(makeString(Kind::String, readBytes(readLittle(4)))); break;
        case BINUNICODE8: push(makeString(Kind::String, readBytes(readLittle(8)))); break;
        case SHORT_BINBYTES: push(makeString(Kind::Bytes, readBytes(readByte()))); break;
        case BINBYTES: push(makeString(Kind::Bytes, readBytes(readLittle(4)))); break;
        case BINBYTES8: push(makeString(Kind::Bytes, readBytes(readLittle(8)))); break;
        case EMPTY_TUPLE: push(make(Kind::Tuple)); break;
        case TUPLE: push(makeTuple(popToMark())); break;
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
            const std::size_t n = static_cast<std::size_t>(op - TUPLE1 + 1);
            if (stack_.size() < stackFloor() + n)
                fail("stack underflow");
            std::vector<Value*> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
            stack_.resize(stack_.size() - n);
            push(makeTuple(items));
            break;
        }
        case EMPTY_LIST: push(make(Kind::List)); break;
        case LIST: {
            Value* l = make(Kind::List);
            const auto items = popToMark();
            l->items.assign(items.begin(), items.end());
            push(l);
            break;
        }
        case APPEND: {
            Value* item = pop();
            Value* list = top();
            if (list->kind != Kind::List)
                fail(std::string("APPEND to a ") + kindName(list->kind, list->ordered));
            list->items.push_back(item);
            break;
        }
        case APPENDS: {
            const auto items = popToMark();
            Value* list = top();
            if (list->kind != Kind::List)
                fail(std::string("APPENDS to a ") + kindName(list->kind, list->ordered));
            list->items.insert(list->items.end(), items.begin(), items.end());
            break;
        }
        case EMPTY_DICT: push(make(Kind::Dict)); break;
        case DICT: {
            const auto items = popToMark();
            if (items.size() % 2 != 0)
                fail("DICT with an odd number of items");
            Value* d = make(Kind::Dict);
            for (std::size_t i = 0; i < items.size(); i += 2)
                setItem(d, items[i], items[i + 1]);
            push(d);
            break;
        }
        case SETITEM: {
            Value* value = pop();
            Value* key = pop();
            setItem(top(), key, value);
            break;
        }
        case SETITEMS: {
            const auto items = popToMark();
            if (items.size() % 2 != 0)
                fail("SETITEMS with an odd number of items");
            Value* dict = top();
            for (std::size_t i = 0; i < items.size(); i += 2)
                setItem(dict, items[i], items[i + 1]);
            break;
        }
        case BINPUT: memoPut(readByte()); break;
        case LONG_BINPUT: memoPut(readLittle(4)); break;
        case MEMOIZE: memoPut(memo_.size()); break;
        case BINGET: push(memoGet(readByte())); break;
        case LONG_BINGET: push(memoGet(readLittle(4))); break;
        case GLOBAL: {
            const std::string module = readLine();
            const std::string name = readLine();
            push(resolveGlobal(module, name));
            break;
        }
        case STACK_GLOBAL: {
            Value* name = pop();
            Value* module = pop();
            if (module->kind != Kind::String || name->kind != Kind::String)
                fail("STACK_GLOBAL needs two strings");
            push(resolveGlobal(module->text, name->text));
            break;
        }
        case REDUCE: reduce(); break;
        case BUILD: build(); break;
        case BINPERSID: persistentLoad(); break;
        default:
            fail("unsupported pickle opcode " + hexByte(op)
                 + " (torch.save checkpoints use protocol 2 or 4 opcodes only)");
        }
    }

    const std::uint8_t* data_;
    std::size_t size_;
    std::string source_;
    std::size_t pos_ = 0;
    std::size_t opStart_ = 0;
    Document doc_;
    std::vector<Value*> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint64_t, Value*> memo_;
    std::unordered_map<const Value*, std::unordered_multimap<std::size_t, std::size_t>> dictIndex_;
    std::unordered_map<const Value*, std::size_t> stringHashes_;
};

Document unpickle(const std::uint8_t* data, std::size_t size, const std::string& source)
{
    return Machine(data, size, source).run();
}

}  // namespace birkhoff::io::pickle
