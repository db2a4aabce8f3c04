// Where the application finds its data.
#include "core/util/paths.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace birkhoff {

namespace fs = std::filesystem;

fs::path executableDir()
{
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

fs::path userModelsDir()
{
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0')
        return fs::path(xdg) / "birkhoff-studio" / "models";
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        return fs::path(home) / ".local" / "share" / "birkhoff-studio" / "models";
    return {};
}

std::vector<fs::path> defaultModelCandidates()
{
    std::vector<fs::path> out;
    if (const char* env = std::getenv("BIRKHOFF_DEFAULT_MODEL"); env != nullptr && *env != '\0') {
        out.emplace_back(env);  // an explicit choice: the only candidate
        return out;
    }
    const fs::path user = userModelsDir();
    if (!user.empty())
        out.push_back(user / kDefaultModelFileName);
    const fs::path exeDir = executableDir();
    if (!exeDir.empty())
        out.push_back(exeDir.parent_path() / "share" / "birkhoff-studio" / "models" / kDefaultModelFileName);
    const char* systemDirs = std::getenv("XDG_DATA_DIRS");
    const std::string_view dirs = systemDirs != nullptr && *systemDirs != '\0' ? systemDirs : "/usr/local/share:/usr/share";
    for (std::size_t start = 0; start <= dirs.size();) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        if (end > start)
            out.push_back(fs::path(dirs.substr(start, end - start)) / "birkhoff-studio" / "models" / kDefaultModelFileName);
        start = end + 1;
    }
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
