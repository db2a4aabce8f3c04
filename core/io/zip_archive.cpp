// Zip container reading (central directory parsed here, inflation by libzip) and writing.
#include "core/io/zip_archive.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <limits>
#include <memory>

namespace birkhoff::io {

namespace {

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::size_t kZip64EndSize = 56;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::uint16_t kPaddingExtraId = 0x4246;  // "FB", the padding field torch.save uses
constexpr std::uint32_t kMax32 = 0xffffffffu;
constexpr std::uint16_t kMax16 = 0xffffu;

std::uint64_t little(const std::uint8_t* p, int bytes)
{
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

// CRC-32 of a buffer of any size (zlib takes 32-bit lengths).
std::uint32_t crc32Of(const void* data, std::uint64_t size)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const auto* p = static_cast<const Bytef*>(data);
    while (size > 0) {
        const auto chunk = static_cast<uInt>(std::min<std::uint64_t>(size, 1u << 30));
        crc = crc32(crc, p, chunk);
        p += chunk;
        size -= chunk;
    }
    return static_cast<std::uint32_t>(crc);
}

struct ZipHandle {
    zip_t* archive = nullptr;
    ~ZipHandle()
    {
        if (archive != nullptr)
            zip_discard(archive);
    }
};

// Opens the in-memory archive with libzip (read-only, strict consistency checks).
void openWithLibzip(const std::uint8_t* data, std::size_t size, ZipHandle& handle, std::string& error)
{
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t* src = zip_source_buffer_create(data, size, 0, &zerr);
    if (src == nullptr) {
        error = zip_error_strerror(&zerr);
        zip_error_fini(&zerr);
        return;
    }
    handle.archive = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (handle.archive == nullptr) {
        error = zip_error_strerror(&zerr);
        zip_source_free(src);
    }
    zip_error_fini(&zerr);
}

}  // namespace

ZipReader::ZipReader(const std::uint8_t* data, std::size_t size, std::string source)
    : data_(data), size_(size), source_(std::move(source))
{
    parse();
    crossCheckWithLibzip();
}

void ZipReader::fail(const std::string& what) const
{
    throw Error(source_ + ": " + what);
}

void ZipReader::parse()
{
    if (size_ < kEndSize)
        fail("not a zip archive: too short");

    // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
    std::size_t end = std::string::npos;
    const std::size_t lowest = size_ > kEndSize + 0xffff ? size_ - kEndSize - 0xffff : 0;
    for (std::size_t pos = size_ - kEndSize + 1; pos-- > lowest;) {
        if (little(data_ + pos, 4) == kEndSig && pos + kEndSize + little(data_ + pos + 20, 2) == size_) {
            end = pos;
            break;
        }
    }
    if (end == std::string::npos)
        fail("not a complete zip archive: its end-of-central-directory record is missing "
             "(the file is truncated or not a zip file)");

    const std::uint8_t* e = data_ + end;
    std::uint64_t diskNumber = little(e + 4, 2);
    std::uint64_t cdDisk = little(e + 6, 2);
    std::uint64_t entriesOnDisk = little(e + 8, 2);
    std::uint64_t entryCount = little(e + 10, 2);
    std::uint64_t cdSize = little(e + 12, 4);
    std::uint64_t cdOffset = little(e + 16, 4);
    std::size_t cdLimit = end;  // the central directory ends before the end records

    if (end >= kZip64LocatorSize && little(data_ + end - kZip64LocatorSize, 4) == kZip64LocatorSig) {
        const std::uint8_t* loc = data_ + end - kZip64LocatorSize;
        const std::uint64_t z64 = little(loc + 8, 8);
        if (little(loc + 16, 4) > 1)
            fail("multi-disk zip archives are not supported");
        if (z64 > end - kZip64LocatorSize || end - kZip64LocatorSize - z64 < kZip64EndSize
            || little(data_ + z64, 4) != kZip64EndSig)
            fail("corrupt zip archive: the ZIP64 end record is missing or out of range (truncated file?)");
        const std::uint8_t* z = data_ + z64;
        diskNumber = little(z + 16, 4);
        cdDisk = little(z + 20, 4);
        entriesOnDisk = little(z + 24, 8);
        entryCount = little(z + 32, 8);
        cdSize = little(z + 40, 8);
        cdOffset = little(z + 48, 8);
        cdLimit = static_cast<std::size_t>(z64);
    } else if (entryCount == kMax16 || cdSize == kMax32 || cdOffset == kMax32) {
        fail("corrupt zip archive: ZIP64 sizes are announced but the ZIP64 records are missing");
    }
    if (diskNumber != 0 || cdDisk != 0 || entriesOnDisk != entryCount)
        fail("multi-disk zip archives are not supported");
    if (cdOffset > cdLimit || cdSize > cdLimit - cdOffset)
        fail("corrupt zip archive: the central directory lies outside the file (truncated file?)");
    if (entryCount > cdSize / kCentralHeaderSize)
        fail("corrupt zip archive: " + std::to_string(entryCount) + " entries cannot fit in a "
             + std::to_string(cdSize) + "-byte central directory");

    entries_.reserve(static_cast<std::size_t>(entryCount));
    std::uint64_t pos = cdOffset;
    const std::uint64_t cdEnd = cdOffset + cdSize;
    for (std::uint64_t i = 0; i < entryCount; ++i) {
        if (cdEnd - pos < kCentralHeaderSize || little(data_ + pos, 4) != kCentralHeaderSig)
            fail("corrupt zip archive: central directory entry " + std::to_string(i) + " is malformed");
        const std::uint8_t* c = data_ + pos;
        const std::uint64_t flags = little(c + 8, 2);
        ZipEntry entry;
        entry.method = static_cast<std::uint16_t>(little(c + 10, 2));
        entry.crc32 = static_cast<std::uint32_t>(little(c + 16, 4));
        entry.compressedSize = little(c + 20, 4);
        entry.size = little(c + 24, 4);
        const std::uint64_t nameLen = little(c + 28, 2);
        const std::uint64_t extraLen = little(c + 30, 2);
        const std::uint64_t commentLen = little(c + 32, 2);
        std::uint64_t entryDisk = little(c + 34, 2);
        std::uint64_t headerOffset = little(c + 42, 4);
        if (cdEnd - pos - kCentralHeaderSize < nameLen + extraLen + commentLen)
            fail("corrupt zip archive: central directory entry " + std::to_string(i) + " runs past the directory");
        entry.name.assign(reinterpret_cast<const char*>(c + kCentralHeaderSize), nameLen);

        // ZIP64 extended information: the 64-bit values of the fields saturated above, in order.
        const std::uint8_t* extra = c + kCentralHeaderSize + nameLen;
        for (std::uint64_t x = 0; x + 4 <= extraLen;) {
            const std::uint64_t id = little(extra + x, 2);
            const std::uint64_t len = little(extra + x + 2, 2);
            if (x + 4 + len > extraLen)
                fail("corrupt zip archive: bad extra field in entry '" + entry.name + "'");
            if (id == kZip64ExtraId) {
                const std::uint8_t* f = extra + x + 4;
                std::uint64_t used = 0;
                const auto take = [&](std::uint64_t& field, int bytes) {
                    if (used + static_cast<std::uint64_t>(bytes) > len)
                        fail("corrupt zip archive: short ZIP64 field in entry '" + entry.name + "'");
                    field = little(f + used, bytes);
                    used += static_cast<std::uint64_t>(bytes);
                };
                if (entry.size == kMax32)
                    take(entry.size, 8);
                if (entry.compressedSize == kMax32)
                    take(entry.compressedSize, 8);
                if (headerOffset == kMax32)
                    take(headerOffset, 8);
                if (entryDisk == kMax16)
                    take(entryDisk, 4);
            }
            x += 4 + len;
        }
        const std::string where = "entry '" + entry.name + "'";
        if (entryDisk != 0)
            fail("multi-disk zip archives are not supported");
        if (flags & 0x1)
            fail(where + " is encrypted");
        if (entry.method != 0 && entry.method != 8)
            fail(where + " uses compression method " + std::to_string(entry.method)
                 + " (only stored and deflated entries are supported)");
        if (entry.method == 0 && entry.compressedSize != entry.size)
            fail(where + " is stored but its sizes differ");

        // The local header repeats the name; the data follow its extra field.
        if (headerOffset > cdOffset || cdOffset - headerOffset < kLocalHeaderSize
            || little(data_ + headerOffset, 4) != kLocalHeaderSig)
            fail("corrupt zip archive: the local header of " + where + " is missing or out of range");
        const std::uint8_t* l = data_ + headerOffset;
        const std::uint64_t localNameLen = little(l + 26, 2);
        const std::uint64_t localExtraLen = little(l + 28, 2);
        entry.dataOffset = headerOffset + kLocalHeaderSize + localNameLen + localExtraLen;
        if (entry.dataOffset > cdOffset || entry.compressedSize > cdOffset - entry.dataOffset)
            fail("corrupt zip archive: the data of " + where + " run past the central directory (truncated file?)");
        if (localNameLen != nameLen
            || std::char_traits<char>::compare(reinterpret_cast<const char*>(l + kLocalHeaderSize),
                                               entry.name.data(), nameLen) != 0)
            fail("corrupt zip archive: the local header of " + where + " names another file");

        if (!byName_.emplace(entry.name, entries_.size()).second)
            fail("the archive holds two entries named '" + entry.name + "'");
        entries_.push_back(std::move(entry));
        pos += kCentralHeaderSize + nameLen + extraLen + commentLen;
    }

    // Entries must not overlap one another.
    std::vector<const ZipEntry*> byOffset;
    for (const auto& entry : entries_)
        byOffset.push_back(&entry);
    std::sort(byOffset.begin(), byOffset.end(),
              [](const ZipEntry* a, const ZipEntry* b) { return a->dataOffset < b->dataOffset; });
    for (std::size_t i = 1; i < byOffset.size(); ++i)
        if (byOffset[i - 1]->dataOffset + byOffset[i - 1]->compressedSize > byOffset[i]->dataOffset)
            fail("corrupt zip archive: entries '" + byOffset[i - 1]->name + "' and '"
                 + byOffset[i]->name + "' overlap");
}

void ZipReader::crossCheckWithLibzip() const
{
    ZipHandle handle;
    std::string error;
    openWithLibzip(data_, size_, handle, error);
    if (handle.archive == nullptr)
        fail("corrupt zip archive (" + error + ")");
    const zip_int64_t n = zip_get_num_entries(handle.archive, 0);
    if (n != static_cast<zip_int64_t>(entries_.size()))
        fail("corrupt zip archive: libzip sees " + std::to_string(n) + " entries, the central directory "
             + std::to_string(entries_.size()));
}

const ZipEntry* ZipReader::find(const std::string& name) const
{
    const auto it = byName_.find(name);
    return it == byName_.end() ? nullptr : &entries_[it->second];
}

const std::uint8_t* ZipReader::storedData(const ZipEntry& entry) const
{
    if (entry.method != 0)
        fail("entry '" + entry.name + "' is compressed; it must be inflated");
    return data_ + entry.dataOffset;
}

void ZipReader::inflate(const ZipEntry& entry, std::uint8_t* out) const
{
    ZipHandle handle;
    std::string error;
    openWithLibzip(data_, size_, handle, error);
    if (handle.archive == nullptr)
        fail("corrupt zip archive (" + error + ")");
    const zip_int64_t index = zip_name_locate(handle.archive, entry.name.c_str(), ZIP_FL_ENC_RAW);
    if (index < 0)
        fail("libzip cannot find entry '" + entry.name + "'");
    zip_file_t* file = zip_fopen_index(handle.archive, static_cast<zip_uint64_t>(index), 0);
    if (file == nullptr)
        fail("cannot open entry '" + entry.name + "': " + zip_strerror(handle.archive));
    std::uint64_t done = 0;
    std::string readError;
    while (done < entry.size) {
        const zip_int64_t got = zip_fread(file, out + done, entry.size - done);
        if (got < 0) {
            readError = zip_file_strerror(file);
            break;
        }
        if (got == 0)
            break;
        done += static_cast<std::uint64_t>(got);
    }
    if (readError.empty() && done == entry.size) {
        // Reading past the end makes libzip verify the CRC-32.
        std::uint8_t probe;
        if (zip_fread(file, &probe, 1) < 0)
            readError = zip_file_strerror(file);
    }
    zip_fclose(file);
    if (!readError.empty())
        fail("entry '" + entry.name + "' is corrupt: " + readError);
    if (done != entry.size)
        fail("entry '" + entry.name + "' inflates to fewer bytes than its header says");
}

std::string ZipReader::readSmall(const ZipEntry& entry, std::size_t limit) const
{
    if (entry.size > limit)
        fail("entry '" + entry.name + "' is " + std::to_string(entry.size) + " bytes, more than the "
             + std::to_string(limit) + " expected");
    std::string out(static_cast<std::size_t>(entry.size), '\0');
    if (entry.method == 0)
        std::copy_n(storedData(entry), out.size(), out.begin());
    else if (!out.empty())
        inflate(entry, reinterpret_cast<std::uint8_t*>(&out[0]));
    return out;
}

// ---------------------------------------------------------------------------------------------

void ZipWriter::put(const void* data, std::size_t size)
{
    out_.write(data, size);
    offset_ += size;
}

void ZipWriter::putLittle(std::uint64_t value, int bytes)
{
    std::uint8_t buf[8];
    for (int i = 0; i < bytes; ++i, value >>= 8)
        buf[i] = static_cast<std::uint8_t>(value & 0xff);
    put(buf, static_cast<std::size_t>(bytes));
}

void ZipWriter::addStored(const std::string& name, const void* data, std::uint64_t size,
                          std::size_t alignment)
{
    if (finished_)
        throw Error("zip writer: entry '" + name + "' added after the archive was finished");
    if (name.size() > 0xffff)
        throw Error("zip writer: entry name too long");
    const std::uint32_t crc = crc32Of(data, size);
    const bool zip64 = size >= kMax32;
    const std::uint64_t zip64Extra = zip64 ? 4 + 16 : 0;
    const std::uint64_t before = offset_ + kLocalHeaderSize + name.size() + zip64Extra + 4;
    const std::uint64_t pad = alignment > 1 ? (alignment - before % alignment) % alignment : 0;

    written_.push_back(Written{name, crc, size, offset_});
    putLittle(kLocalHeaderSig, 4);
    putLittle(zip64 ? 45 : 20, 2);           // version needed
    putLittle(0x0800, 2);                    // flags: UTF-8 names
    putLittle(0, 2);                         // method: stored
    putLittle(0, 2);                         // time 00:00:00
    putLittle(0x21, 2);                      // date 1980-01-01
    putLittle(crc, 4);
    putLittle(zip64 ? kMax32 : size, 4);
    putLittle(zip64 ? kMax32 : size, 4);
    putLittle(name.size(), 2);
    putLittle(zip64Extra + 4 + pad, 2);
    put(name.data(), name.size());
    if (zip64) {
        putLittle(kZip64ExtraId, 2);
        putLittle(16, 2);
        putLittle(size, 8);
        putLittle(size, 8);
    }
    putLittle(kPaddingExtraId, 2);
    putLittle(pad, 2);
    const std::string padding(static_cast<std::size_t>(pad), 'Z');
    put(padding.data(), padding.size());
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    for (std::uint64_t done = 0; done < size;) {
        const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size - done, 1u << 30));
        put(bytes + done, chunk);
        done += chunk;
    }
}

void ZipWriter::finish()
{
    if (finished_)
        return;
    finished_ = true;
    const std::uint64_t cdOffset = offset_;
    for (const auto& w : written_) {
        const bool bigSize = w.size >= kMax32;
        const bool bigOffset = w.headerOffset >= kMax32;
        const std::uint64_t extraLen = (bigSize || bigOffset) ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
        putLittle(kCentralHeaderSig, 4);
        putLittle(extraLen ? 45 : 20, 2);    // version made by
        putLittle(extraLen ? 45 : 20, 2);    // version needed
        putLittle(0x0800, 2);
        putLittle(0, 2);
        putLittle(0, 2);
        putLittle(0x21, 2);
        putLittle(w.crc32, 4);
        putLittle(bigSize ? kMax32 : w.size, 4);
        putLittle(bigSize ? kMax32 : w.size, 4);
        putLittle(w.name.size(), 2);
        putLittle(extraLen, 2);
        putLittle(0, 2);                     // comment length
        putLittle(0, 2);                     // disk
        putLittle(0, 2);                     // internal attributes
        putLittle(0, 4);                     // external attributes
        putLittle(bigOffset ? kMax32 : w.headerOffset, 4);
        put(w.name.data(), w.name.size());
        if (extraLen) {
            putLittle(kZip64ExtraId, 2);
            putLittle(extraLen - 4, 2);
            if (bigSize) {
                putLittle(w.size, 8);
                putLittle(w.size, 8);
            }
            if (bigOffset)
                putLittle(w.headerOffset, 8);
        }
    }
    const std::uint64_t cdSize = offset_ - cdOffset;
    const std::uint64_t count = written_.size();
    const bool zip64 = count >= kMax16 || cdSize >= kMax32 || cdOffset >= kMax32;
    if (zip64) {
        const std::uint64_t z64 = offset_;
        putLittle(kZip64EndSig, 4);
        putLittle(kZip64EndSize - 12, 8);
        putLittle(45, 2);
        putLittle(45, 2);
        putLittle(0, 4);
        putLittle(0, 4);
        putLittle(count, 8);
        putLittle(count, 8);
        putLittle(cdSize, 8);
        putLittle(cdOffset, 8);
        putLittle(kZip64LocatorSig, 4);
        putLittle(0, 4);
        putLittle(z64, 8);
        putLittle(1, 4);
    }
    putLittle(kEndSig, 4);
    putLittle(0, 2);
    putLittle(0, 2);
    putLittle(zip64 ? kMax16 : count, 2);
    putLittle(zip64 ? kMax16 : count, 2);
    putLittle(zip64 ? kMax32 : cdSize, 4);
    putLittle(zip64 ? kMax32 : cdOffset, 4);
    putLittle(0, 2);
}

}  // namespace birkhoff::io
