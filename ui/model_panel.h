// The model panel: what is open (file, format, family, architecture, parameters, file size,
// tensors, how it runs) for the original and the compressed model, and the compute device with
// the reason when a device cannot be used.
#pragma once

#include "ui/model_session.h"

#include <QWidget>

class QComboBox;
class QLabel;

namespace birkhoff::ui {

class ModelPanel : public QWidget {
    Q_OBJECT
public:
    explicit ModelPanel(QWidget* parent = nullptr);

    void setOriginal(const ModelSummary& summary);
    void clearOriginal();
    void setCompressed(const ModelSummary& summary, double ratio);
    void clearCompressed();
    /// Selects device `id` if it is usable; returns whether it was.
    bool selectDevice(const QString& id);
    QString deviceId() const;
    /// The text explaining the device state ("CUDA unavailable: ...").
    QString deviceReason() const;

signals:
    void deviceChanged(const QString& id);

private:
    void onDeviceChosen(int index);

    QLabel* originalLabel_ = nullptr;
    QLabel* compressedLabel_ = nullptr;
    QComboBox* deviceCombo_ = nullptr;
    QLabel* deviceReasonLabel_ = nullptr;
};

}  // namespace birkhoff::ui
