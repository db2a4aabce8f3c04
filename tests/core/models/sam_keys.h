// Reads ../shared/docs/sam-keys/*.tsv (key, shape, param|buffer, owning module class of every
// state-dict entry of every SAM variant) and builds synthetic state dicts with exactly those
// keys and shapes: small tensors hold random values, large ones are zero-stride expansions of
// one element, so even ViT-H costs no memory.
#pragma once

#include "core/io/state_dict.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::test {

struct SamKeyRow {
    std::string key;
    std::vector<std::int64_t> shape;
    bool buffer = false;
    std::string moduleClass;  ///< "Linear", "Conv2d", "_BN", "LayerNorm2d", "Attention", ...
};

/// The folder of the tsv files (may not exist).
QString samKeysDir();
/// The tsv file names in that folder ("sam1_vit_b.tsv", ...), sorted.
QStringList samKeyFiles();
/// Parses one tsv file (comment lines start with '#'). Empty if unreadable.
std::vector<SamKeyRow> readSamKeys(const QString& fileName);
/// A state dict with the rows' keys and shapes, in order.
io::StateDict syntheticStateDict(const std::vector<SamKeyRow>& rows);

}  // namespace birkhoff::test
