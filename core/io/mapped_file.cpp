// Read-only view of a whole file through mmap.
#include "core/io/mapped_file.h"

#include "core/util/error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace birkhoff::io {

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path)
{
    const std::string name = path.string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw Error("cannot open '" + name + "': " + std::strerror(errno));
    if (S_ISDIR(st.st_mode))
        throw Error("cannot open '" + name + "': it is a directory, not a file");
    if (!S_ISREG(st.st_mode))
        throw Error("cannot open '" + name + "': not a regular file");
    if (st.st_size == 0)
        throw Error("cannot open '" + name + "': the file is empty");
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error("cannot open '" + name + "': " + std::strerror(errno));
    void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE, fd, 0);
    const int mapErrno = errno;
    ::close(fd);
    if (p == MAP_FAILED)
        throw Error("cannot map '" + name + "' into memory: " + std::strerror(mapErrno));
    std::shared_ptr<MappedFile> file(new MappedFile());
    file->path_ = path;
    file->data_ = static_cast<std::uint8_t*>(p);
    file->size_ = static_cast<std::size_t>(st.st_size);
    return file;
}

MappedFile::~MappedFile()
{
    if (data_ != nullptr)
        ::munmap(data_, size_);
}

}  // namespace birkhoff::io
