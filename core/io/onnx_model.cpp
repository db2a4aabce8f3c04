// ONNX model reading with Debian's libonnx protobuf classes.
#include "core/io/onnx_model.h"

#include "core/io/mapped_file.h"
#include "core/util/error.h"

#include <onnx/onnx_pb.h>

#include <ATen/Functions.h>

#include <climits>
#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "ONNX raw_data is little-endian; this reader copies it as is");

namespace birkhoff::io {

namespace {

struct ElementType {
    int code;
    const char* name;
    bool supported;
    c10::ScalarType type;
    std::size_t size;
};

// TensorProto.DataType codes (onnx.proto). Unsupported ones are listed for their names.
const ElementType kElementTypes[] = {
    {0, "UNDEFINED", false, c10::ScalarType::Undefined, 0},
    {1, "FLOAT", true, c10::ScalarType::Float, 4},
    {2, "UINT8", true, c10::ScalarType::Byte, 1},
    {3, "INT8", true, c10::ScalarType::Char, 1},
    {4, "UINT16", false, c10::ScalarType::Undefined, 2},
    {5, "INT16", true, c10::ScalarType::Short, 2},
    {6, "INT32", true, c10::ScalarType::Int, 4},
    {7, "INT64", true, c10::ScalarType::Long, 8},
    {8, "STRING", false, c10::ScalarType::Undefined, 0},
    {9, "BOOL", true, c10::ScalarType::Bool, 1},
    {10, "FLOAT16", true, c10::ScalarType::Half, 2},
    {11, "DOUBLE", true, c10::ScalarType::Double, 8},
    {12, "UINT32", false, c10::ScalarType::Undefined, 4},
    {13, "UINT64", false, c10::ScalarType::Undefined, 8},
    {14, "COMPLEX64", false, c10::ScalarType::Undefined, 8},
    {15, "COMPLEX128", false, c10::ScalarType::Undefined, 16},
    {16, "BFLOAT16", true, c10::ScalarType::BFloat16, 2},
    {17, "FLOAT8E4M3FN", false, c10::ScalarType::Undefined, 1},
    {18, "FLOAT8E4M3FNUZ", false, c10::ScalarType::Undefined, 1},
    {19, "FLOAT8E5M2", false, c10::ScalarType::Undefined, 1},
    {20, "FLOAT8E5M2FNUZ", false, c10::ScalarType::Undefined, 1},
    {21, "UINT4", false, c10::ScalarType::Undefined, 1},
    {22, "INT4", false, c10::ScalarType::Undefined, 1},
};

const ElementType* findElementType(int code)
{
    for (const auto& t : kElementTypes)
        if (t.code == code)
            return &t;
    return nullptr;
}

// Copies `count` values of a typed repeated field into `out` (already sized), converting each.
template <typename Dst, typename Field, typename Convert>
void copyTyped(const Field& field, at::Tensor& out, Convert convert)
{
    Dst* dst = out.data_ptr<Dst>();
    for (int k = 0; k < field.size(); ++k)
        dst[k] = convert(field.Get(k));
}

// Number of values held in the typed field that `type` uses, when raw_data is absent.
int typedValueCount(const onnx::TensorProto& t, int code)
{
    switch (code) {
    case 1: return t.float_data_size();
    case 11: return t.double_data_size();
    case 7: return t.int64_data_size();
    default: return t.int32_data_size();
    }
}

at::Tensor decodeTensor(const onnx::TensorProto& t, const std::string& what)
{
    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL || t.external_data_size() > 0) {
        std::string location;
        for (const auto& kv : t.external_data())
            if (kv.key() == "location")
                location = kv.value();
        throw Error(what + " keeps its data in an external file"
                    + (location.empty() ? std::string() : " ('" + location + "')")
                    + "; ONNX external data is not supported: export the model with its weights embedded");
    }
    if (t.has_segment())
        throw Error(what + " is a segment of a larger tensor; segmented tensors are not supported");

    const ElementType* type = findElementType(t.data_type());
    if (type == nullptr || !type->supported)
        throw Error(what + " has the unsupported data type "
                    + onnxDataTypeName(t.data_type()));

    std::vector<std::int64_t> dims;
    std::int64_t numel = 1;
    for (const std::int64_t d : t.dims()) {
        if (d < 0)
            throw Error(what + " has a negative dimension " + std::to_string(d));
        if (__builtin_mul_overflow(numel, d, &numel))
            throw Error(what + " has dims whose product overflows");
        dims.push_back(d);
    }

    at::Tensor out = at::empty(dims, at::TensorOptions().dtype(type->type));
    if (t.has_raw_data()) {
        const std::string& raw = t.raw_data();
        std::int64_t expected = 0;
        if (__builtin_mul_overflow(numel, static_cast<std::int64_t>(type->size), &expected)
            || static_cast<std::int64_t>(raw.size()) != expected)
            throw Error(what + " has " + std::to_string(raw.size()) + " bytes of raw_data but its dims "
                        + "and type " + type->name + " need " + std::to_string(expected));
        if (type->type == c10::ScalarType::Bool) {
            auto* dst = out.data_ptr<bool>();
            for (std::int64_t k = 0; k < numel; ++k)
                dst[k] = raw[static_cast<std::size_t>(k)] != 0;
        } else if (numel > 0) {
            std::memcpy(out.data_ptr(), raw.data(), raw.size());
        }
        return out;
    }

    const int count = typedValueCount(t, type->code);
    if (count != numel)
        throw Error(what + " holds " + std::to_string(count) + " values but its dims need "
                    + std::to_string(numel));
    switch (type->type) {
    case c10::ScalarType::Float:
        copyTyped<float>(t.float_data(), out, [](float v) { return v; });
        break;
    case c10::ScalarType::Double:
        copyTyped<double>(t.double_data(), out, [](double v) { return v; });
        break;
    case c10::ScalarType::Long:
        copyTyped<std::int64_t>(t.int64_data(), out, [](std::int64_t v) { return v; });
        break;
    case c10::ScalarType::Int:
        copyTyped<std::int32_t>(t.int32_data(), out, [](std::int32_t v) { return v; });
        break;
    case c10::ScalarType::Short:
        copyTyped<std::int16_t>(t.int32_data(), out, [](std::int32_t v) { return static_cast<std::int16_t>(v); });
        break;
    case c10::ScalarType::Char:
        copyTyped<std::int8_t>(t.int32_data(), out, [](std::int32_t v) { return static_cast<std::int8_t>(v); });
        break;
    case c10::ScalarType::Byte:
        copyTyped<std::uint8_t>(t.int32_data(), out, [](std::int32_t v) { return static_cast<std::uint8_t>(v); });
        break;
    case c10::ScalarType::Bool:
        copyTyped<bool>(t.int32_data(), out, [](std::int32_t v) { return v != 0; });
        break;
    case c10::ScalarType::Half:
    case c10::ScalarType::BFloat16: {
        // int32_data holds the 16-bit patterns.
        auto* dst = static_cast<std::uint16_t*>(out.data_ptr());
        for (int k = 0; k < count; ++k)
            dst[k] = static_cast<std::uint16_t>(t.int32_data(k));
        break;
    }
    default:
        throw Error(what + " has the unsupported data type " + onnxDataTypeName(t.data_type()));
    }
    return out;
}

OnnxAttribute decodeAttribute(const onnx::AttributeProto& a, const std::string& what)
{
    OnnxAttribute out;
    out.name = a.name();
    auto kind = a.type();
    if (kind == onnx::AttributeProto_AttributeType_UNDEFINED) {
        // IR version < 3 files leave the type out; infer it from the field that is set.
        if (a.has_t())
            kind = onnx::AttributeProto_AttributeType_TENSOR;
        else if (a.has_f())
            kind = onnx::AttributeProto_AttributeType_FLOAT;
        else if (a.has_i())
            kind = onnx::AttributeProto_AttributeType_INT;
        else if (a.has_s())
            kind = onnx::AttributeProto_AttributeType_STRING;
        else if (a.ints_size() > 0)
            kind = onnx::AttributeProto_AttributeType_INTS;
        else if (a.floats_size() > 0)
            kind = onnx::AttributeProto_AttributeType_FLOATS;
        else if (a.strings_size() > 0)
            kind = onnx::AttributeProto_AttributeType_STRINGS;
    }
    switch (kind) {
    case onnx::AttributeProto_AttributeType_FLOAT:
        out.kind = OnnxAttribute::Kind::Float;
        out.f = a.f();
        break;
    case onnx::AttributeProto_AttributeType_INT:
        out.kind = OnnxAttribute::Kind::Int;
        out.i = a.i();
        break;
    case onnx::AttributeProto_AttributeType_STRING:
        out.kind = OnnxAttribute::Kind::String;
        out.s = a.s();
        break;
    case onnx::AttributeProto_AttributeType_TENSOR:
        out.kind = OnnxAttribute::Kind::Tensor;
        out.tensor = decodeTensor(a.t(), what + " attribute '" + a.name() + "'");
        break;
    case onnx::AttributeProto_AttributeType_FLOATS:
        out.kind = OnnxAttribute::Kind::Floats;
        out.floats.assign(a.floats().begin(), a.floats().end());
        break;
    case onnx::AttributeProto_AttributeType_INTS:
        out.kind = OnnxAttribute::Kind::Ints;
        out.ints.assign(a.ints().begin(), a.ints().end());
        break;
    case onnx::AttributeProto_AttributeType_STRINGS:
        out.kind = OnnxAttribute::Kind::Strings;
        out.strings.assign(a.strings().begin(), a.strings().end());
        break;
    default:
        out.kind = OnnxAttribute::Kind::Other;
        break;
    }
    return out;
}

// Reads a protobuf varint at `pos`; false if the data ends first or it is longer than 10 bytes.
bool readVarint(const std::uint8_t* data, std::size_t size, std::size_t& pos, std::uint64_t& value)
{
    value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (pos >= size)
            return false;
        const std::uint8_t byte = data[pos++];
        value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0)
            return true;
    }
    return false;
}

struct ModelField {
    std::uint64_t number;
    std::uint64_t wireType;
    const char* name;
};

// ModelProto's fields (onnx.proto).
const ModelField kModelFields[] = {
    {1, 0, "ir_version"}, {2, 2, "producer_name"}, {3, 2, "producer_version"}, {4, 2, "domain"},
    {5, 0, "model_version"}, {6, 2, "doc_string"}, {7, 2, "graph"}, {8, 2, "opset_import"},
    {14, 2, "metadata_props"}, {20, 2, "training_info"}, {25, 2, "functions"},
};

// Walks the top-level protobuf fields so that a file that is not a ModelProto at all, and a
// ModelProto cut short, are told apart with a precise message before the real parse.
void checkModelFraming(const std::uint8_t* data, std::size_t size, const std::string& where)
{
    const std::string notOnnx = where + " is not an ONNX model: ";
    const std::string truncated = where + " is a truncated ONNX file: ";
    std::size_t pos = 0;
    bool first = true;
    while (pos < size) {
        const std::size_t fieldStart = pos;
        std::uint64_t tag = 0;
        if (!readVarint(data, size, pos, tag)) {
            if (first)
                throw Error(notOnnx + "it does not start with a protobuf field");
            throw Error(truncated + "it ends inside a field tag at byte " + std::to_string(fieldStart));
        }
        const std::uint64_t number = tag >> 3;
        const std::uint64_t wireType = tag & 7;
        const ModelField* known = nullptr;
        for (const auto& f : kModelFields)
            if (f.number == number)
                known = &f;
        if (known != nullptr && known->wireType != wireType)
            throw Error(notOnnx + "field " + std::to_string(number) + " at byte " + std::to_string(fieldStart)
                        + " has the wrong encoding for ModelProto." + known->name);
        if (known == nullptr && (first || number == 0 || (wireType != 0 && wireType != 1 && wireType != 2 && wireType != 5)))
            throw Error(notOnnx + "byte " + std::to_string(fieldStart)
                        + " does not hold a ModelProto field (found field number " + std::to_string(number)
                        + ", wire type " + std::to_string(wireType) + ")");
        const std::string fieldName = known != nullptr ? known->name : "field " + std::to_string(number);
        std::uint64_t length = 0;
        switch (wireType) {
        case 0:
            if (!readVarint(data, size, pos, length))
                throw Error(truncated + "it ends inside '" + fieldName + "' at byte " + std::to_string(fieldStart));
            break;
        case 1:
        case 5:
            length = wireType == 1 ? 8 : 4;
            if (size - pos < length)
                throw Error(truncated + "it ends inside '" + fieldName + "' at byte " + std::to_string(fieldStart));
            pos += length;
            break;
        default:
            if (!readVarint(data, size, pos, length))
                throw Error(truncated + "it ends inside the length of '" + fieldName + "' at byte "
                            + std::to_string(fieldStart));
            if (length > size - pos)
                throw Error(truncated + "'" + fieldName + "' at byte " + std::to_string(fieldStart) + " declares "
                            + std::to_string(length) + " bytes but only " + std::to_string(size - pos)
                            + " remain in the file");
            pos += length;
            break;
        }
        first = false;
    }
}

}  // namespace

std::string onnxDataTypeName(int dataType)
{
    const ElementType* t = findElementType(dataType);
    return t != nullptr ? std::string(t->name) : "code " + std::to_string(dataType);
}

const OnnxAttribute* OnnxNode::attribute(const std::string& attributeName) const
{
    for (const auto& a : attributes)
        if (a.name == attributeName)
            return &a;
    return nullptr;
}

std::ptrdiff_t OnnxModel::producerOf(const std::string& value) const
{
    const auto it = producers_.find(value);
    return it == producers_.end() ? -1 : static_cast<std::ptrdiff_t>(it->second);
}

const std::vector<OnnxUse>& OnnxModel::consumersOf(const std::string& value) const
{
    static const std::vector<OnnxUse> kNone;
    const auto it = consumers_.find(value);
    return it == consumers_.end() ? kNone : it->second;
}

void OnnxModel::buildIndexes()
{
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
        for (const auto& out : nodes_[n].outputs)
            if (!out.empty())
                producers_.emplace(out, n);
        for (std::size_t slot = 0; slot < nodes_[n].inputs.size(); ++slot)
            if (!nodes_[n].inputs[slot].empty())
                consumers_[nodes_[n].inputs[slot]].push_back({n, slot});
    }
}

OnnxModel readOnnxModel(const std::filesystem::path& path, const Progress& progress)
{
    const std::string where = "'" + path.string() + "'";
    progress.report(0.0, path.filename().string());
    std::shared_ptr<MappedFile> file = MappedFile::open(path);
    if (file->size() > static_cast<std::size_t>(INT_MAX))
        throw Error(where + " is larger than 2 GiB, the protobuf limit of a single-file ONNX model "
                    + "(large models keep their weights as external data, which is not supported)");
    checkModelFraming(file->data(), file->size(), where);

    onnx::ModelProto proto;
    if (!proto.ParseFromArray(file->data(), static_cast<int>(file->size())))
        throw Error(where + " is a corrupt ONNX file: its protobuf data does not parse as a ModelProto");
    file.reset();
    if (!proto.has_graph())
        throw Error(where + " is not an ONNX model: it has no graph");
    progress.checkCancelled();

    OnnxModel model;
    model.path_ = path;
    model.irVersion_ = proto.ir_version();
    model.producerName_ = proto.producer_name();
    for (const auto& opset : proto.opset_import())
        if (opset.domain().empty() || opset.domain() == "ai.onnx")
            model.opsetVersion_ = opset.version();

    const onnx::GraphProto& graph = proto.graph();
    if (graph.sparse_initializer_size() > 0)
        throw Error(where + " has sparse initializers, which are not supported");
    for (const auto& v : graph.input())
        model.graphInputs_.push_back(v.name());
    for (const auto& v : graph.output())
        model.graphOutputs_.push_back(v.name());

    model.nodes_.reserve(static_cast<std::size_t>(graph.node_size()));
    for (const auto& n : graph.node()) {
        OnnxNode node;
        node.name = n.name();
        node.opType = n.op_type();
        node.domain = n.domain();
        node.inputs.assign(n.input().begin(), n.input().end());
        node.outputs.assign(n.output().begin(), n.output().end());
        const std::string what = n.op_type() + " node '" + n.name() + "' in " + where;
        for (const auto& a : n.attribute())
            node.attributes.push_back(decodeAttribute(a, what));
        model.nodes_.push_back(std::move(node));
    }
    progress.checkCancelled();

    const int count = graph.initializer_size();
    for (int k = 0; k < count; ++k) {
        const onnx::TensorProto& t = graph.initializer(k);
        if (model.initializers_.contains(t.name()))
            throw Error(where + " has two initializers named '" + t.name() + "'");
        model.initializers_.insert(t.name(), decodeTensor(t, "initializer '" + t.name() + "' in " + where));
        progress.report(static_cast<double>(k + 1) / count, t.name());
        progress.checkCancelled();
    }
    model.buildIndexes();
    return model;
}

}  // namespace birkhoff::io
