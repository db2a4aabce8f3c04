// Cross-checks against Debian's Python torch (/usr/bin/python3 with python3-torch): tests call
// it to make reference files and to confirm that Python reads what we write. Skips are loud.
#pragma once

#include "tests/support/test_data.h"

#include <QString>
#include <QStringList>

#include <ATen/core/Tensor.h>

namespace birkhoff::io {
class StateDict;
}

namespace birkhoff::test {

struct PythonResult {
    int exitCode = -1;
    QString out;
    QString err;
};

/// True if /usr/bin/python3 exists and imports torch (checked once).
bool pythonTorchAvailable();

/// Runs `/usr/bin/python3 -c script args...` and captures its output.
PythonResult runPython(const QString& script, const QStringList& args = {}, int timeoutMs = 120000);

/// One line per tensor, "name<TAB>dtype<TAB>shape<TAB>sha256 of the raw little-endian bytes",
/// in the Python spelling (torch.float32, [2, 3]) so both sides can be compared as text.
QString tensorListingLine(const std::string& name, const at::Tensor& tensor);
QStringList stateDictListing(const io::StateDict& tensors);

/// What Python's torch.load finds in `path`: first "TYPE <type of the state dict>" and
/// "WRAPPER <key or ->", then tensorListingLine()s in order. Empty list if Python failed
/// (the error goes to `error`).
QStringList pythonCheckpointListing(const QString& path, QString* error = nullptr);

}  // namespace birkhoff::test

/// Skips the current test function loudly when Python's torch is not available.
#define BIRKHOFF_REQUIRE_PYTHON_TORCH()                                                             \
    do {                                                                                            \
        if (!::birkhoff::test::pythonTorchAvailable())                                              \
            BIRKHOFF_SKIP(QStringLiteral("/usr/bin/python3 with torch (python3-torch) is unavailable, " \
                                         "so this cross-check against PyTorch did NOT run"));       \
    } while (0)
