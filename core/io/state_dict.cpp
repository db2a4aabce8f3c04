// StateDict: ordered name -> tensor map.
#include "core/io/state_dict.h"

#include "core/util/error.h"

namespace birkhoff::io {

void StateDict::insert(std::string name, at::Tensor tensor)
{
    if (index_.count(name) != 0)
        throw Error("duplicate tensor name '" + name + "'");
    index_.emplace(name, entries_.size());
    entries_.push_back(Entry{std::move(name), std::move(tensor)});
}

void StateDict::insertOrAssign(const std::string& name, at::Tensor tensor)
{
    const auto it = index_.find(name);
    if (it == index_.end())
        insert(name, std::move(tensor));
    else
        entries_[it->second].tensor = std::move(tensor);
}

bool StateDict::erase(const std::string& name)
{
    const auto it = index_.find(name);
    if (it == index_.end())
        return false;
    const std::size_t pos = it->second;
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(pos));
    index_.erase(it);
    for (auto& kv : index_)
        if (kv.second > pos)
            --kv.second;
    return true;
}

const at::Tensor& StateDict::at(const std::string& name) const
{
    const auto it = index_.find(name);
    if (it == index_.end())
        throw Error("tensor '" + name + "' is not in the checkpoint");
    return entries_[it->second].tensor;
}

const at::Tensor* StateDict::find(const std::string& name) const
{
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second].tensor;
}

std::vector<std::string> StateDict::names() const
{
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_)
        out.push_back(e.name);
    return out;
}

std::int64_t StateDict::elementCount() const
{
    std::int64_t n = 0;
    for (const auto& e : entries_)
        n += e.tensor.numel();
    return n;
}

std::int64_t StateDict::byteCount() const
{
    std::int64_t n = 0;
    for (const auto& e : entries_)
        n += e.tensor.numel() * static_cast<std::int64_t>(e.tensor.element_size());
    return n;
}

}  // namespace birkhoff::io
