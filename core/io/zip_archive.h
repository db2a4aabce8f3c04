// Reading and writing the zip container of torch.save checkpoints (LibTorch-free).
// ZipReader parses the central directory of an in-memory (memory-mapped) archive itself, so the
// data of stored entries - all of torch.save's - is used in place without a copy; it cross-checks
// the archive with libzip and uses libzip to inflate the rare deflated entry.
// ZipWriter writes stored entries whose data start on 64-byte boundaries, as torch.save does,
// with ZIP64 records when an archive or an entry passes 4 GiB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace birkhoff {
class AtomicFileWriter;
}

namespace birkhoff::io {

/// One file inside a zip archive.
struct ZipEntry {
    std::string name;
    std::uint16_t method = 0;          ///< 0 stored, 8 deflated
    std::uint32_t crc32 = 0;
    std::uint64_t compressedSize = 0;
    std::uint64_t size = 0;            ///< uncompressed
    std::uint64_t dataOffset = 0;      ///< absolute offset of the (compressed) data
};

/// The central directory of a zip archive held in memory. The memory must outlive the reader.
class ZipReader {
public:
    /// Parses [data, data+size). `source` names the file in messages.
    /// @throws Error if the archive is truncated, malformed, encrypted, spans several disks,
    /// uses a method other than stored/deflated, has overlapping or out-of-range entries or
    /// repeated names, or libzip rejects it.
    ZipReader(const std::uint8_t* data, std::size_t size, std::string source);

    const std::vector<ZipEntry>& entries() const { return entries_; }
    /// nullptr if there is no entry of that name.
    const ZipEntry* find(const std::string& name) const;

    /// The bytes of a stored entry, in place. @throws Error if the entry is compressed.
    const std::uint8_t* storedData(const ZipEntry& entry) const;
    /// Decompresses a deflated entry into `out` (entry.size bytes) and checks its CRC-32.
    /// @throws Error on corrupt data.
    void inflate(const ZipEntry& entry, std::uint8_t* out) const;
    /// The whole content of an entry as a string (for small records: data.pkl, version).
    std::string readSmall(const ZipEntry& entry, std::size_t limit) const;

    const std::string& source() const { return source_; }

private:
    [[noreturn]] void fail(const std::string& what) const;
    void parse();
    void crossCheckWithLibzip() const;

    const std::uint8_t* data_;
    std::size_t size_;
    std::string source_;
    std::vector<ZipEntry> entries_;
    std::unordered_map<std::string, std::size_t> byName_;
};

/// Streams a zip archive of stored entries into an AtomicFileWriter.
class ZipWriter {
public:
    explicit ZipWriter(AtomicFileWriter& out) : out_(out) {}

    /// Appends a stored entry whose data start at a multiple of `alignment` bytes (padding goes
    /// into a local extra field, as torch.save does).
    void addStored(const std::string& name, const void* data, std::uint64_t size,
                   std::size_t alignment = 64);
    /// Writes the central directory and the end records. No entry may be added afterwards.
    void finish();

private:
    struct Written {
        std::string name;
        std::uint32_t crc32;
        std::uint64_t size;
        std::uint64_t headerOffset;
    };
    void put(const void* data, std::size_t size);
    void putLittle(std::uint64_t value, int bytes);

    AtomicFileWriter& out_;
    std::uint64_t offset_ = 0;
    std::vector<Written> written_;
    bool finished_ = false;
};

}  // namespace birkhoff::io
