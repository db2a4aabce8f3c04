// Single-key tensor records (see the header).
#include "core/format/tensor_record.h"

#include "core/format/index_entropy_coder.h"
#include "core/util/error.h"

#include <ATen/Functions.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstring>

namespace birkhoff::format {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxDims = 8;

class Writer {
public:
    template <class T>
    void put(T v)
    {
        std::uint8_t b[sizeof(T)];
        std::memcpy(b, &v, sizeof(T));  // the project targets little-endian hosts only
        bytes.insert(bytes.end(), b, b + sizeof(T));
    }
    std::vector<std::uint8_t> bytes;
};

class Reader {
public:
    Reader(const std::uint8_t* p, std::size_t n, std::string where) : p_(p), n_(n), where_(std::move(where)) {}
    template <class T>
    T get(const char* field)
    {
        if (n_ - at_ < sizeof(T))
            throw Error(where_ + ": record ends inside its " + field + " (" + std::to_string(n_) + " bytes)");
        T v;
        std::memcpy(&v, p_ + at_, sizeof(T));
        at_ += sizeof(T);
        return v;
    }
    std::size_t remaining() const { return n_ - at_; }
    const std::uint8_t* here() const { return p_ + at_; }

private:
    const std::uint8_t* p_;
    std::size_t n_;
    std::size_t at_ = 0;
    std::string where_;
};

at::Tensor u8Scalar(std::uint32_t v)
{
    return at::scalar_tensor(static_cast<std::int64_t>(v), at::kByte);
}

at::Tensor floatPair(float a, float b)
{
    at::Tensor t = at::empty({2}, at::kFloat);
    t.data_ptr<float>()[0] = a;
    t.data_ptr<float>()[1] = b;
    return t;
}

}  // namespace

std::vector<std::uint8_t> encodeTensorRecord(const EncodedTensor& t)
{
    const std::string w = "tensor '" + t.name + "': ";
    if (!t.isEncoded())
        throw Error(w + "a raw tensor has no record");
    if (t.K > 255 || t.bits > 255 || t.padBits > 255 || t.shape.size() > kMaxDims)
        throw Error(w + "K, bits, padding or dimension count does not fit a record");
    Writer out;
    out.put<std::uint8_t>('B');
    out.put<std::uint8_t>('R');
    out.put<std::uint8_t>(kVersion);
    out.put<std::uint8_t>(t.padded ? 1 : 0);
    out.put<std::uint8_t>(static_cast<std::uint8_t>(t.K));
    out.put<std::uint8_t>(static_cast<std::uint8_t>(t.bits));
    out.put<std::uint8_t>(static_cast<std::uint8_t>(t.padBits));
    out.put<std::uint32_t>(t.U);
    out.put<float>(t.l);
    out.put<float>(t.center[0]);
    out.put<float>(t.center[1]);
    out.put<float>(t.farthest[0]);
    out.put<float>(t.farthest[1]);
    out.put<std::uint8_t>(static_cast<std::uint8_t>(t.shape.size()));
    for (std::int64_t d : t.shape)
        out.put<std::int64_t>(d);
    out.put<std::uint32_t>(static_cast<std::uint32_t>(t.rowScale.size()));
    for (float s : t.rowScale)
        out.put<std::uint16_t>(c10::Half(s).x);
    std::vector<std::uint32_t> indices(static_cast<std::size_t>(t.indexCount()));
    t.unpackIndicesTo(indices.data());
    const std::vector<std::uint8_t> coded = encodeIndexStream(indices.data(), indices.size(), t.U, t.K);
    out.bytes.insert(out.bytes.end(), coded.begin(), coded.end());
    return std::move(out.bytes);
}

namespace {

/// Checks the record's magic and version; returns a reader positioned after them.
Reader openRecord(const at::Tensor& bytes, const std::string& w)
{
    Reader in(bytes.data_ptr<std::uint8_t>(), static_cast<std::size_t>(bytes.numel()), w);
    const auto b = in.get<std::uint8_t>("magic");
    const auto r = in.get<std::uint8_t>("magic");
    if (b != 'B' || r != 'R')
        throw Error(w + ": record does not start with \"BR\"");
    const auto version = in.get<std::uint8_t>("version");
    if (version != kVersion)
        throw Error(w + ": record version " + std::to_string(version) + " is not supported (this build reads "
                    + std::to_string(kVersion) + ")");
    return in;
}

at::Tensor recordBytes(const at::Tensor& record, const std::string& w)
{
    if (record.scalar_type() != at::kByte || record.dim() != 1)
        throw Error(w + ": record must be a 1-D uint8 tensor");
    return record.contiguous();
}

}  // namespace

std::uint32_t tensorRecordU(const at::Tensor& record, const std::string& owner, const std::string& source)
{
    const std::string w = "'" + source + "' tensor '" + owner + "'";
    const at::Tensor bytes = recordBytes(record, w);
    Reader in = openRecord(bytes, w);
    for (const char* field : {"if_padding", "K", "uint_i", "padding_bits"})
        in.get<std::uint8_t>(field);
    return in.get<std::uint32_t>("U");
}

io::StateDict expandTensorRecord(const at::Tensor& record, const std::string& owner, const std::string& source,
                                 const std::vector<std::uint32_t>& uList)
{
    const std::string w = "'" + source + "' tensor '" + owner + "'";
    const at::Tensor bytes = recordBytes(record, w);
    Reader in = openRecord(bytes, w);
    io::StateDict d;
    d.insert(owner + ".if_padding", u8Scalar(in.get<std::uint8_t>("if_padding")));
    d.insert(owner + ".K", u8Scalar(in.get<std::uint8_t>("K")));
    d.insert(owner + ".uint_i", u8Scalar(in.get<std::uint8_t>("uint_i")));
    d.insert(owner + ".padding_bits", u8Scalar(in.get<std::uint8_t>("padding_bits")));
    const auto U = in.get<std::uint32_t>("U");
    const auto pos = std::find(uList.begin(), uList.end(), U);
    if (pos == uList.end())
        throw Error(w + ": U = " + std::to_string(U) + " is not in the file's U list");
    d.insert(owner + ".U", u8Scalar(static_cast<std::uint32_t>(pos - uList.begin())));
    d.insert(owner + ".rect_l", at::scalar_tensor(static_cast<double>(in.get<float>("rect_l")), at::kFloat));
    const float c0 = in.get<float>("center_node"), c1 = in.get<float>("center_node");
    d.insert(owner + ".center_node", floatPair(c0, c1));
    const float f0 = in.get<float>("farthest_node"), f1 = in.get<float>("farthest_node");
    d.insert(owner + ".farthest_node", floatPair(f0, f1));
    const auto ndim = in.get<std::uint8_t>("dimension count");
    if (ndim > kMaxDims)
        throw Error(w + ": record has " + std::to_string(ndim) + " dimensions (at most " + std::to_string(kMaxDims) + ")");
    at::Tensor shape = at::empty({ndim}, at::kLong);
    for (int i = 0; i < ndim; ++i)
        shape.data_ptr<std::int64_t>()[i] = in.get<std::int64_t>("original_shape");
    d.insert(owner + ".original_shape", shape);
    const auto scales = in.get<std::uint32_t>("row scale count");
    if (scales > 0) {
        if (in.remaining() / 2 < scales)
            throw Error(w + ": record ends inside its " + std::to_string(scales) + " row scales");
        at::Tensor s = at::empty({static_cast<std::int64_t>(scales)}, at::kHalf);
        std::memcpy(s.data_ptr(), in.here(), 2 * static_cast<std::size_t>(scales));
        for (std::uint32_t i = 0; i < scales; ++i)
            in.get<std::uint16_t>("row scale");
        d.insert(owner + ".row_scale", s);
    }
    at::Tensor coded = at::empty({static_cast<std::int64_t>(in.remaining())}, at::kByte);
    if (in.remaining() > 0)
        std::memcpy(coded.data_ptr<std::uint8_t>(), in.here(), in.remaining());
    d.insert(owner + ".encoded_index_rc", coded);
    return d;
}

}  // namespace birkhoff::format
