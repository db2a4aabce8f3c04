// The state-dict layer on top of the restricted unpickler, still LibTorch-free: finds the
// name -> tensor-record map inside an unpickled data.pkl (unwrapping {'model': ...} and
// {'state_dict': ...}, flattening nested dicts, noting what it ignores), checks that every view
// stays inside its storage, and writes the data.pkl of a state dict the way torch.save does
// (protocol 2, collections.OrderedDict, _rebuild_tensor_v2, persistent storage ids).
#pragma once

#include "core/io/pickle.h"

#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::io {

/// One state-dict entry as the pickle describes it.
struct NamedTensorRecord {
    std::string name;
    pickle::TensorRecord record;
};

/// What extractStateDict() finds.
struct StateDictRecords {
    std::vector<NamedTensorRecord> tensors;  ///< in the checkpoint's order
    std::string wrapper;                     ///< "", "model" or "state_dict"
    std::vector<std::string> notes;          ///< what was ignored or changed, for the user
};

/// Number of storage elements the view of `record` reaches: 0 for an empty tensor, otherwise
/// offset + 1 + sum((size_i - 1) * stride_i). @throws Error (naming `name`) on negative
/// offsets, sizes or strides and on overflow.
std::uint64_t storageElementsNeeded(const pickle::TensorRecord& record, const std::string& name);

/// Finds the state dict in `doc`. A top-level dict without tensors of its own that holds a
/// dict under "model" (preferred) or "state_dict" is unwrapped; nested dicts of tensors are
/// flattened with dotted names; non-tensor values are ignored with a note; a "module." prefix
/// on every name (DataParallel) is removed with a note. Every view is checked against the
/// element count its storage reference declares, and all references to one storage key must
/// agree on its element type and size. `source` names the file in messages.
/// @throws Error if there is no state dict, it holds no tensors, names repeat, or a view
/// reaches past its storage (PyTorch 1.13 itself would read past the end there).
StateDictRecords extractStateDict(const pickle::Document& doc, const std::string& source);

/// The data.pkl bytes torch.save writes for `tensors` (an OrderedDict, in the given order),
/// wrapped as {wrapper: OrderedDict} when `wrapper` is not empty. Records sharing a storage key
/// share the storage.
std::string pickleStateDict(const std::vector<NamedTensorRecord>& tensors, const std::string& wrapper);

}  // namespace birkhoff::io
