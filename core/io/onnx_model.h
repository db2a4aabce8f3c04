// ONNX model reading: parses an .onnx file (a protobuf ModelProto, via Debian's libonnx +
// libprotobuf) into plain C++ data the importers work on: the graph's nodes (name, op type,
// inputs, outputs, attributes, including tensor attributes such as a Constant's `value`) and its
// initializers as LibTorch tensors. Only what weight import needs; nothing is executed.
#pragma once

#include "core/io/state_dict.h"
#include "core/util/progress.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace birkhoff::io {

/// One attribute of a node. Only the member that matches `kind` holds the value.
struct OnnxAttribute {
    enum class Kind { Float, Int, String, Tensor, Floats, Ints, Strings, Other };

    std::string name;
    Kind kind = Kind::Other;  ///< Other: graphs, sparse tensors, type protos (not decoded)
    float f = 0.0f;
    std::int64_t i = 0;
    std::string s;
    at::Tensor tensor;
    std::vector<float> floats;
    std::vector<std::int64_t> ints;
    std::vector<std::string> strings;
};

/// One node of the graph.
struct OnnxNode {
    std::string name;    ///< e.g. "/layers.1/blocks.0/attn/qkv/MatMul" (may be empty)
    std::string opType;  ///< e.g. "MatMul"
    std::string domain;  ///< "" for the default ONNX domain
    std::vector<std::string> inputs;   ///< value names; "" marks an omitted optional input
    std::vector<std::string> outputs;
    std::vector<OnnxAttribute> attributes;

    /// The attribute called `name`, or nullptr.
    const OnnxAttribute* attribute(const std::string& attributeName) const;
};

/// A place where a value is read: node index in OnnxModel::nodes() and input slot.
struct OnnxUse {
    std::size_t node = 0;
    std::size_t slot = 0;
};

/// A parsed ONNX model: metadata, graph nodes in file (topological) order, initializers in file
/// order, and indexes from value names to their producer and consumers.
class OnnxModel {
public:
    const std::filesystem::path& path() const { return path_; }
    std::int64_t irVersion() const { return irVersion_; }
    const std::string& producerName() const { return producerName_; }
    /// Opset version of the default ONNX domain (0 if the file does not state one).
    std::int64_t opsetVersion() const { return opsetVersion_; }
    const std::vector<std::string>& graphInputs() const { return graphInputs_; }
    const std::vector<std::string>& graphOutputs() const { return graphOutputs_; }

    const std::vector<OnnxNode>& nodes() const { return nodes_; }
    /// Initializers in file order, as tensors of their ONNX element type (FLOAT -> float32).
    const StateDict& initializers() const { return initializers_; }

    /// Index of the node that outputs `value`, or -1 for graph inputs, initializers and unknown names.
    std::ptrdiff_t producerOf(const std::string& value) const;
    /// Every node input that reads `value`, in node order.
    const std::vector<OnnxUse>& consumersOf(const std::string& value) const;

private:
    friend OnnxModel readOnnxModel(const std::filesystem::path&, const Progress&);
    void buildIndexes();

    std::filesystem::path path_;
    std::int64_t irVersion_ = 0;
    std::string producerName_;
    std::int64_t opsetVersion_ = 0;
    std::vector<std::string> graphInputs_;
    std::vector<std::string> graphOutputs_;
    std::vector<OnnxNode> nodes_;
    StateDict initializers_;
    std::unordered_map<std::string, std::size_t> producers_;
    std::unordered_map<std::string, std::vector<OnnxUse>> consumers_;
};

/// Reads an .onnx file. Tensors (initializers and tensor attributes) are decoded from raw_data or
/// the typed fields (float_data, int32_data, int64_data, double_data) into owned tensors of types
/// FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT8, UINT8, INT16, INT32, INT64 and BOOL.
/// Reports progress per initializer and honours cancellation.
/// @throws Error naming the file for: a missing/empty/unreadable file or a directory, a file that
///         is not an ONNX model, a truncated or corrupt protobuf, a model without a graph,
///         tensors with an unsupported data type, tensors whose data lives in external files,
///         sparse initializers, data sizes that do not match the dims, duplicate initializer names.
OnnxModel readOnnxModel(const std::filesystem::path& path, const Progress& progress = {});

/// The ONNX TensorProto.DataType name of a type code ("FLOAT", "INT64", ...), or "code N".
std::string onnxDataTypeName(int dataType);

}  // namespace birkhoff::io
