// Reading members out of a gzip-compressed tar archive (an npm package tarball), streaming, with
// the archive treated as untrusted input: header checksums are verified, sizes are bounded and
// only the named members are written anywhere (never a path taken from the archive).
#pragma once

#include "core/util/progress.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace birkhoff::io {

/// The largest member extractTarGzMembers() accepts (1 GiB).
constexpr std::uint64_t kMaxTarMemberBytes = std::uint64_t(1) << 30;

/// Extracts the regular-file members named in `wanted` (archive name -> destination file) from
/// the .tar.gz (or .tgz) `archive`. ustar/GNU headers are read (GNU long names and pax headers
/// are skipped over); every header's checksum is verified. Destinations are written atomically.
/// Reports progress by the compressed bytes read and honours cancellation.
/// @throws Error naming the archive when it cannot be read, is not gzip, is truncated, has a bad
///         header checksum or size field, a wanted member is larger than kMaxTarMemberBytes or
///         not a regular file, or a wanted member is missing; CancelledError when cancelled.
void extractTarGzMembers(const std::filesystem::path& archive,
                         const std::map<std::string, std::filesystem::path>& wanted, const Progress& progress = {});

}  // namespace birkhoff::io
