// Read-only view of a whole file through mmap (copy-on-write private mapping, so tensors that
// alias it may be modified in place without touching the file). Tensors created from the
// mapping keep it alive through a shared_ptr in their deleter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace birkhoff::io {

class MappedFile {
public:
    /// Maps `path`. @throws Error naming the file if it is missing, a directory, unreadable or empty.
    static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::uint8_t* data() const { return data_; }
    std::uint8_t* mutableData() { return data_; }
    std::size_t size() const { return size_; }
    const std::filesystem::path& path() const { return path_; }

private:
    MappedFile() = default;
    std::filesystem::path path_;
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace birkhoff::io
