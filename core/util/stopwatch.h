// Elapsed wall-clock time for reports and progress lines (one definition for core, ui and app).
#pragma once

#include <chrono>

namespace birkhoff {

/// Seconds of std::chrono::steady_clock elapsed since `start`.
inline double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace birkhoff
