// Atomic file output (temporary file + rename).
#include "core/util/atomic_file.h"

#include "core/util/error.h"

#include <cstdio>
#include <fcntl.h>
#include <random>
#include <unistd.h>

namespace birkhoff {

namespace fs = std::filesystem;

namespace {

std::string randomSuffix()
{
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string s(10, '0');
    for (char& c : s)
        c = digits[rng() % 36];
    return s;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(fs::path destination) : destination_(std::move(destination))
{
    if (destination_.empty())
        throw Error("cannot write: empty output path");
    fs::path dir = destination_.parent_path();
    if (dir.empty())
        dir = ".";
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw Error("cannot write '" + destination_.string() + "': directory '" + dir.string()
                    + "' does not exist");
    if (fs::is_directory(destination_, ec))
        throw Error("cannot write '" + destination_.string() + "': it is a directory");
    temp_ = dir / ("." + destination_.filename().string() + ".tmp-" + randomSuffix());
    out_.open(temp_, std::ios::binary | std::ios::trunc);
    if (!out_)
        throw Error("cannot write '" + destination_.string() + "': cannot create a file in '"
                    + dir.string() + "'");
}

AtomicFileWriter::~AtomicFileWriter()
{
    if (!committed_) {
        out_.close();
        std::error_code ec;
        fs::remove(temp_, ec);
    }
}

void AtomicFileWriter::write(const void* data, std::size_t size)
{
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

void AtomicFileWriter::commit()
{
    out_.flush();
    const bool ok = static_cast<bool>(out_);
    out_.close();
    if (!ok)
        throw Error("writing '" + destination_.string() + "' failed (disk full or I/O error)");
    const int fd = ::open(temp_.c_str(), O_RDONLY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    std::error_code ec;
    fs::rename(temp_, destination_, ec);
    if (ec)
        throw Error("cannot move the finished file onto '" + destination_.string()
                    + "': " + ec.message());
    committed_ = true;
}

void writeFileAtomically(const fs::path& destination,
                         const std::function<void(AtomicFileWriter&)>& writer)
{
    AtomicFileWriter file(destination);
    writer(file);
    file.commit();
}

}  // namespace birkhoff
