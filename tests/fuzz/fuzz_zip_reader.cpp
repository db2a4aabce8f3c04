// libFuzzer target: the zip central-directory reader (and libzip's inflation through it) on
// arbitrary bytes. Any input must either be refused with birkhoff::Error or give entries whose
// data lie inside the input; reading every stored entry and inflating small deflated ones must
// stay in bounds (deflated entries are inflated up to 4 MiB per input).
#include "core/io/zip_archive.h"
#include "core/util/error.h"

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace birkhoff::io;
    try {
        const ZipReader zip(data, size, "fuzz");
        volatile std::uint8_t sink = 0;
        std::uint64_t inflateBudget = 4u << 20;
        for (const auto& e : zip.entries()) {
            if (e.dataOffset > size || e.compressedSize > size - e.dataOffset)
                __builtin_trap();
            if (e.method == 0) {
                const std::uint8_t* p = zip.storedData(e);
                for (std::uint64_t i = 0; i < e.size; ++i)
                    sink = p[i];
            } else if (e.size <= inflateBudget) {
                inflateBudget -= e.size;
                std::vector<std::uint8_t> out(static_cast<std::size_t>(e.size));
                try {
                    zip.inflate(e, out.data());
                } catch (const birkhoff::Error&) {
                }
            }
        }
        (void)sink;
    } catch (const birkhoff::Error&) {
    }
    return 0;
}
