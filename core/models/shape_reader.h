// Checkpoint shape lookups for configuration inference (used by sam_config.cpp and
// family_config.cpp): every failure names the checkpoint and the tensor.
#pragma once

#include "core/models/sam_config.h"
#include "core/util/error.h"

#include <string>
#include <utility>
#include <vector>

namespace birkhoff::models {

/// "[a,b,c]".
std::string shapeListText(const std::vector<std::int64_t>& shape);

class ShapeReader {
public:
    ShapeReader(const TensorShapes& shapes, std::string source) : shapes_(shapes), source_(std::move(source)) {}

    bool has(const std::string& name) const { return shapes_.count(name) != 0; }

    /// The shape of `name`. @throws Error when it is missing or does not have `rank` dimensions.
    const std::vector<std::int64_t>& shape(const std::string& name, std::size_t rank) const
    {
        const auto it = shapes_.find(name);
        if (it == shapes_.end())
            throw Error(source_ + ": tensor " + name + " is missing; it is needed to configure the model");
        if (it->second.size() != rank)
            throw Error(source_ + ": tensor " + name + " has shape " + shapeListText(it->second) + ", expected " +
                        std::to_string(rank) + " dimensions");
        return it->second;
    }

    std::int64_t dim(const std::string& name, std::size_t rank, std::size_t index) const
    {
        return shape(name, rank)[index];
    }

    /// Number of consecutive indices i = 0, 1, ... for which prefix + i + suffix exists.
    std::int64_t countIndexed(const std::string& prefix, const std::string& suffix) const
    {
        std::int64_t n = 0;
        while (has(prefix + std::to_string(n) + suffix))
            ++n;
        return n;
    }

    /// True if some tensor name starts with `prefix`.
    bool hasPrefix(const std::string& prefix) const
    {
        const auto it = shapes_.lower_bound(prefix);
        return it != shapes_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
    }

    const TensorShapes& all() const { return shapes_; }
    const std::string& source() const { return source_; }

    [[noreturn]] void fail(const std::string& message) const { throw Error(source_ + ": " + message); }

private:
    const TensorShapes& shapes_;
    std::string source_;
};

}  // namespace birkhoff::models
