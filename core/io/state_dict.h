// StateDict: the ordered name -> tensor map every checkpoint format loads into and writes from.
// Order is the checkpoint's own (state_dict order), which compressed files, restores and
// round trips preserve.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace birkhoff::io {

class StateDict {
public:
    struct Entry {
        std::string name;
        at::Tensor tensor;
    };

    /// Appends a tensor. @throws Error if `name` is already present.
    void insert(std::string name, at::Tensor tensor);
    /// Replaces the tensor of an existing name in place, or appends a new one.
    void insertOrAssign(const std::string& name, at::Tensor tensor);
    /// Removes `name` if present; returns whether it was.
    bool erase(const std::string& name);

    bool contains(const std::string& name) const { return index_.count(name) != 0; }
    /// @throws Error naming the missing key.
    const at::Tensor& at(const std::string& name) const;
    /// nullptr if absent.
    const at::Tensor* find(const std::string& name) const;

    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    const std::vector<Entry>& entries() const { return entries_; }
    std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
    std::vector<Entry>::const_iterator end() const { return entries_.end(); }
    std::vector<std::string> names() const;

    /// Total number of elements over all tensors.
    std::int64_t elementCount() const;
    /// Total bytes of tensor data (numel * element size).
    std::int64_t byteCount() const;

private:
    std::vector<Entry> entries_;
    std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace birkhoff::io
