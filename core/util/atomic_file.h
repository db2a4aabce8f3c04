// Atomic file output: everything the application writes goes to a temporary file in the target
// directory first and is renamed over the destination only when complete, so a crash, an error
// or a cancellation never leaves a half-written output behind.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace birkhoff {

/// Writes a file atomically. Open with the final path, write through stream(), then commit().
/// If the object is destroyed without commit() (error, exception, cancellation) the temporary
/// file is removed and the destination is left untouched.
class AtomicFileWriter {
public:
    /// Creates "<dir>/.<name>.tmp-<random>" next to `destination`.
    /// @throws Error if the directory does not exist or is not writable.
    explicit AtomicFileWriter(std::filesystem::path destination);
    ~AtomicFileWriter();
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    std::ostream& stream() { return out_; }
    void write(const void* data, std::size_t size);
    const std::filesystem::path& destination() const { return destination_; }

    /// Flushes, syncs and renames the temporary file onto the destination.
    /// @throws Error if any write failed or the rename is impossible.
    void commit();

private:
    std::filesystem::path destination_;
    std::filesystem::path temp_;
    std::ofstream out_;
    bool committed_ = false;
};

/// Convenience: runs `writer` on an AtomicFileWriter for `destination` and commits.
void writeFileAtomically(const std::filesystem::path& destination,
                         const std::function<void(AtomicFileWriter&)>& writer);

}  // namespace birkhoff
