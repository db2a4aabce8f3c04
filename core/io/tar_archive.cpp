// Streaming .tar.gz member extraction (see tar_archive.h), on zlib's gzip reader.
#include "core/io/tar_archive.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

namespace birkhoff::io {

namespace {

constexpr std::size_t kBlock = 512;

struct GzCloser {
    void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

/// A header's numeric field: octal digits (NUL/space padded), or GNU base-256 when the first
/// byte's high bit is set. Returns false for anything else.
bool parseNumber(const char* field, std::size_t width, std::uint64_t& value)
{
    const auto* bytes = reinterpret_cast<const unsigned char*>(field);
    value = 0;
    if (bytes[0] & 0x80) {
        if (bytes[0] != 0x80)
            return false;  // negative or too large
        for (std::size_t i = 1; i < width; ++i) {
            if (value >> 56)
                return false;
            value = (value << 8) | bytes[i];
        }
        return true;
    }
    std::size_t i = 0;
    while (i < width && field[i] == ' ')
        ++i;
    bool digits = false;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
        if (value >> 60)
            return false;
        value = value * 8 + static_cast<std::uint64_t>(field[i] - '0');
        digits = true;
    }
    for (; i < width; ++i)
        if (field[i] != ' ' && field[i] != '\0')
            return false;
    return digits;
}

bool checksumMatches(const std::array<char, kBlock>& header)
{
    std::uint64_t stored = 0;
    if (!parseNumber(header.data() + 148, 8, stored))
        return false;
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < kBlock; ++i)
        sum += (i >= 148 && i < 156) ? std::uint64_t(' ') : static_cast<unsigned char>(header[i]);
    return sum == stored;
}

std::string field(const char* data, std::size_t width)
{
    return std::string(data, strnlen(data, width));
}

}  // namespace

void extractTarGzMembers(const std::filesystem::path& archive,
                         const std::map<std::string, std::filesystem::path>& wanted, const Progress& progress)
{
    const std::string where = archive.string();
    std::error_code ec;
    const auto archiveBytes = std::filesystem::file_size(archive, ec);
    if (ec)
        throw Error(where + ": cannot read the archive (" + ec.message() + ")");
    GzFile gz(gzopen(archive.c_str(), "rb"));
    if (!gz)
        throw Error(where + ": cannot open the archive");
    gzbuffer(gz.get(), 1 << 17);

    const auto readExactly = [&](char* out, std::size_t bytes, const char* what) {
        std::size_t done = 0;
        while (done < bytes) {
            const int n = gzread(gz.get(), out + done, static_cast<unsigned>(std::min<std::size_t>(bytes - done, 1 << 20)));
            if (n < 0) {
                int code = 0;
                const char* message = gzerror(gz.get(), &code);
                throw Error(where + ": not a readable gzip archive (" + (message ? message : "zlib error") + ") in " + what);
            }
            if (n == 0)
                throw Error(where + ": the archive is truncated in " + what);
            done += static_cast<std::size_t>(n);
        }
    };

    std::set<std::string> found;
    std::string longName;  // from a preceding GNU 'L' header
    std::array<char, kBlock> header{};
    std::vector<char> buffer(1 << 20);
    for (;;) {
        progress.checkCancelled();
        if (archiveBytes > 0)
            progress.report(std::min(1.0, static_cast<double>(gzoffset(gz.get())) / static_cast<double>(archiveBytes)),
                            "reading " + archive.filename().string());
        readExactly(header.data(), kBlock, "a member header");
        if (std::all_of(header.begin(), header.end(), [](char c) { return c == '\0'; }))
            break;  // end of archive (the second zero block is not needed)
        if (!checksumMatches(header))
            throw Error(where + ": a tar header has a wrong checksum (not a tar archive, or corrupt)");
        std::uint64_t size = 0;
        if (!parseNumber(header.data() + 124, 12, size))
            throw Error(where + ": a tar header has an invalid size field");
        const char type = header[156];
        std::string name = field(header.data(), 100);
        if (std::memcmp(header.data() + 257, "ustar", 5) == 0) {
            const std::string prefix = field(header.data() + 345, 155);
            if (!prefix.empty())
                name = prefix + "/" + name;
        }
        if (!longName.empty()) {
            name = longName;
            longName.clear();
        }
        const std::uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
        if (type == 'L') {  // GNU long name: the data is the next member's name
            if (size > 4096)
                throw Error(where + ": a GNU long-name record is " + std::to_string(size) + " bytes long");
            std::vector<char> data(static_cast<std::size_t>(padded));
            readExactly(data.data(), data.size(), "a long-name record");
            longName.assign(data.data(), strnlen(data.data(), static_cast<std::size_t>(size)));
            continue;
        }
        const auto target = wanted.find(name);
        const bool regular = type == '0' || type == '\0' || type == '7';
        if (target != wanted.end()) {
            if (!regular)
                throw Error(where + ": member " + name + " is not a regular file");
            if (size > kMaxTarMemberBytes)
                throw Error(where + ": member " + name + " is " + std::to_string(size) + " bytes, more than the " +
                            std::to_string(kMaxTarMemberBytes) + " allowed");
            AtomicFileWriter out(target->second);
            std::uint64_t left = size;
            while (left > 0) {
                progress.checkCancelled();
                const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
                readExactly(buffer.data(), chunk, ("member " + name).c_str());
                out.write(buffer.data(), chunk);
                left -= chunk;
            }
            out.commit();
            found.insert(name);
            if (padded > size)
                readExactly(buffer.data(), static_cast<std::size_t>(padded - size), ("member " + name).c_str());
            if (found.size() == wanted.size())
                break;
            continue;
        }
        // Skip any other member (pax headers included) without keeping it.
        std::uint64_t left = padded;
        while (left > 0) {
            const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
            readExactly(buffer.data(), chunk, ("member " + name).c_str());
            left -= chunk;
        }
    }
    for (const auto& [name, path] : wanted)
        if (!found.count(name))
            throw Error(where + ": the archive has no member " + name);
    progress.report(1.0, "extracted " + std::to_string(found.size()) + " files");
}

}  // namespace birkhoff::io
