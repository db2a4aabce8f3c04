// Where the application finds its data.
#include "core/util/paths.h"

#include <cstdlib>
#include <system_error>

#ifndef BIRKHOFF_SOURCE_DIR
#error "BIRKHOFF_SOURCE_DIR must be defined by the build"
#endif

namespace birkhoff {

namespace fs = std::filesystem;

fs::path executableDir()
{
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

std::vector<fs::path> defaultModelCandidates()
{
    std::vector<fs::path> out;
    if (const char* env = std::getenv("BIRKHOFF_DEFAULT_MODEL"); env != nullptr && *env != '\0')
        out.emplace_back(env);
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0')
        out.push_back(fs::path(xdg) / "birkhoff-studio" / "models" / kDefaultModelFileName);
    else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        out.push_back(fs::path(home) / ".local" / "share" / "birkhoff-studio" / "models" / kDefaultModelFileName);
    const fs::path exeDir = executableDir();
    if (!exeDir.empty())
        out.push_back(exeDir.parent_path() / "share" / "birkhoff-studio" / "models" / kDefaultModelFileName);
    out.push_back(fs::path(BIRKHOFF_SOURCE_DIR) / "models" / kDefaultModelFileName);
    return out;
}

fs::path findDefaultModel()
{
    for (const auto& p : defaultModelCandidates()) {
        std::error_code ec;
        if (fs::is_regular_file(p, ec))
            return p;
    }
    return {};
}

}  // namespace birkhoff
