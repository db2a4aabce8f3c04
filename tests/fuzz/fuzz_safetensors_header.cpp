// libFuzzer target: the safetensors header parser on arbitrary bytes. Any input must either be
// refused with birkhoff::Error or give records whose byte ranges lie inside the data section,
// match their shape and dtype, and do not overlap.
#include "core/io/safetensors_header.h"
#include "core/util/error.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace birkhoff::io;
    SafetensorsHeader header;
    try {
        header = parseSafetensorsHeader(data, size, "fuzz");
    } catch (const birkhoff::Error&) {
        return 0;
    }
    if (header.dataStart > size)
        __builtin_trap();
    const std::uint64_t dataBytes = size - header.dataStart;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    for (const auto& r : header.records) {
        if (r.begin > r.end || r.end > dataBytes)
            __builtin_trap();
        std::uint64_t bytes = safetensorsDtypeSize(r.dtype);
        if (bytes == 0)
            __builtin_trap();
        for (const auto d : r.shape) {
            if (d < 0)
                __builtin_trap();
            bytes *= static_cast<std::uint64_t>(d);
        }
        if (bytes != r.end - r.begin)
            __builtin_trap();
        if (r.end > r.begin) {
            // Touch the first and last byte of the range (AddressSanitizer checks the bounds).
            volatile std::uint8_t sink = data[header.dataStart + r.begin];
            sink = data[header.dataStart + r.end - 1];
            (void)sink;
            ranges.emplace_back(r.begin, r.end);
        }
    }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second)
            __builtin_trap();
    return 0;
}
