// Malformed checkpoints made by tests: every kind of bad input the loader must refuse with a
// clear message (truncated zip, pickles calling os.system or holding a whole module, storages
// shorter than their views, absurd or inconsistent safetensors headers, empty files, directories,
// missing files, other formats). Shared by the core tests (loadCheckpoint) and the CLI tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace birkhoff::test {

struct BadFile {
    std::string label;                ///< short name for test rows
    std::filesystem::path path;
    std::vector<std::string> expected;  ///< fragments the error message must contain
};

/// Creates the bad files inside `dir` (which must exist) and returns them.
std::vector<BadFile> makeBadCheckpoints(const std::filesystem::path& dir);

}  // namespace birkhoff::test
