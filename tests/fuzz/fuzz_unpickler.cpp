// libFuzzer target: the restricted unpickler and the state-dict layer on arbitrary bytes. Any
// input must either be refused with birkhoff::Error or yield records that survive a round trip
// through the data.pkl writer unchanged; crashes, sanitizer reports and broken round trips fail.
#include "core/io/pickle.h"
#include "core/io/state_dict_pickle.h"
#include "core/util/error.h"

#include <cstddef>
#include <cstdint>

namespace {

bool sameRecord(const birkhoff::io::NamedTensorRecord& a, const birkhoff::io::NamedTensorRecord& b)
{
    const auto& x = a.record;
    const auto& y = b.record;
    return a.name == b.name && x.storage.key == y.storage.key && x.storage.type == y.storage.type
           && x.storage.numel == y.storage.numel && x.offset == y.offset && x.sizes == y.sizes
           && x.strides == y.strides;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace birkhoff::io;
    StateDictRecords records;
    try {
        const pickle::Document doc = pickle::unpickle(data, size, "fuzz");
        records = extractStateDict(doc, "fuzz");
    } catch (const birkhoff::Error&) {
        return 0;
    }
    // A "module." prefix is removed once per load, so names that keep one cannot round-trip.
    for (const auto& t : records.tensors)
        if (t.name.rfind("module.", 0) == 0)
            return 0;
    const std::string again = pickleStateDict(records.tensors, records.wrapper);
    const pickle::Document doc = pickle::unpickle(reinterpret_cast<const std::uint8_t*>(again.data()), again.size(), "again");
    const StateDictRecords back = extractStateDict(doc, "again");
    if (back.wrapper != records.wrapper || back.tensors.size() != records.tensors.size())
        __builtin_trap();
    for (std::size_t i = 0; i < back.tensors.size(); ++i)
        if (!sameRecord(back.tensors[i], records.tensors[i]))
            __builtin_trap();
    return 0;
}
