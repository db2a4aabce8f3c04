// The compute devices the studio can offer, each with whether it can be used and, if not, why:
// the device choice never falls back silently.
#pragma once

#include <QString>
#include <QVector>

namespace birkhoff::ui {

struct DeviceOption {
    QString id;       ///< "cpu", "cuda:0", ...
    QString label;    ///< what the device menu shows
    bool usable = false;
    QString reason;   ///< why it cannot be used (empty when usable)
};

/// CPU first, then one entry per CUDA device, or one "CUDA" entry explaining why there is none.
QVector<DeviceOption> deviceOptions();

}  // namespace birkhoff::ui
