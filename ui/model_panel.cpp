// The model panel (see model_panel.h).
#include "ui/model_panel.h"

#include "ui/device_options.h"
#include "ui/text_format.h"

#include <QComboBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QStandardItemModel>
#include <QVBoxLayout>

namespace birkhoff::ui {

namespace {

QString summaryHtml(const ModelSummary& s)
{
    QString html = QStringLiteral("<b>%1</b><br>").arg(QFileInfo(s.path).fileName().toHtmlEscaped());
    html += QStringLiteral("<table cellspacing='1'>");
    const auto row = [&html](const QString& key, const QString& value) {
        html += QStringLiteral("<tr><td style='color:#666;padding-right:8px'>%1</td><td>%2</td></tr>").arg(key, value);
    };
    row(QObject::tr("Family"), s.family.toHtmlEscaped());
    if (!s.architecture.isEmpty())
        row(QObject::tr("Architecture"), s.architecture.toHtmlEscaped());
    row(QObject::tr("Parameters"), QStringLiteral("%1 (%2)").arg(formatCount(s.parameters)).arg(s.parameters));
    row(QObject::tr("File size"), formatByteSize(s.fileBytes));
    row(QObject::tr("Format"), s.format.toHtmlEscaped());
    row(QObject::tr("Tensors"), QObject::tr("%1 (%2 Linear weights)").arg(s.tensors).arg(s.linearWeights));
    row(QObject::tr("Runs as"), s.runtime.toHtmlEscaped());
    if (s.loadSeconds > 0)
        row(QObject::tr("Ready in"), QStringLiteral("%1 s").arg(s.loadSeconds, 0, 'f', 2));
    html += QStringLiteral("</table>");
    for (const QString& note : s.notes)
        html += QStringLiteral("<div style='color:#8a5a00'>&#9888; %1</div>").arg(note.toHtmlEscaped());
    return html;
}

}  // namespace

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("modelPanel"));
    originalLabel_ = new QLabel(this);
    originalLabel_->setObjectName(QStringLiteral("originalModelLabel"));
    originalLabel_->setAccessibleName(tr("Original model information"));
    originalLabel_->setWordWrap(true);
    originalLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    compressedLabel_ = new QLabel(this);
    compressedLabel_->setObjectName(QStringLiteral("compressedModelLabel"));
    compressedLabel_->setAccessibleName(tr("Compressed model information"));
    compressedLabel_->setWordWrap(true);
    compressedLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    deviceCombo_ = new QComboBox(this);
    deviceCombo_->setObjectName(QStringLiteral("deviceCombo"));
    deviceCombo_->setAccessibleName(tr("Compute device"));
    deviceReasonLabel_ = new QLabel(this);
    deviceReasonLabel_->setObjectName(QStringLiteral("deviceReasonLabel"));
    deviceReasonLabel_->setWordWrap(true);
    auto* model = new QStandardItemModel(deviceCombo_);
    QStringList reasons;
    for (const DeviceOption& option : deviceOptions()) {
        auto* item = new QStandardItem(option.usable ? option.label : tr("%1 (unavailable)").arg(option.label));
        item->setData(option.id, Qt::UserRole);
        item->setData(option.reason, Qt::ToolTipRole);
        if (!option.usable) {
            item->setFlags(item->flags() & ~Qt::ItemIsEnabled);
            reasons << QStringLiteral("%1: %2").arg(option.label, option.reason);
        }
        model->appendRow(item);
    }
    deviceCombo_->setModel(model);
    deviceReasonLabel_->setText(reasons.join(QLatin1Char('\n')));

    auto* originalBox = new QGroupBox(tr("Original"), this);
    auto* originalLayout = new QVBoxLayout(originalBox);
    originalLayout->addWidget(originalLabel_);
    auto* compressedBox = new QGroupBox(tr("Compressed"), this);
    auto* compressedLayout = new QVBoxLayout(compressedBox);
    compressedLayout->addWidget(compressedLabel_);
    auto* deviceBox = new QGroupBox(tr("Device"), this);
    auto* deviceLayout = new QFormLayout(deviceBox);
    auto* deviceLabel = new QLabel(tr("Run &on"), this);
    deviceLabel->setBuddy(deviceCombo_);
    deviceLayout->addRow(deviceLabel, deviceCombo_);
    deviceLayout->addRow(deviceReasonLabel_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(originalBox);
    layout->addWidget(compressedBox);
    layout->addWidget(deviceBox);
    layout->addStretch(1);

    connect(deviceCombo_, qOverload<int>(&QComboBox::activated), this, &ModelPanel::onDeviceChosen);
    clearOriginal();
    clearCompressed();
}

void ModelPanel::setOriginal(const ModelSummary& summary)
{
    originalLabel_->setText(summaryHtml(summary));
    originalLabel_->setToolTip(summary.path);
}

void ModelPanel::clearOriginal()
{
    originalLabel_->setText(tr("No model open. Open a checkpoint (Ctrl+O) or drop a .pth / .safetensors file here."));
    originalLabel_->setToolTip(QString());
}

void ModelPanel::setCompressed(const ModelSummary& summary, double ratio)
{
    QString html = summaryHtml(summary);
    if (ratio > 0)
        html += tr("<b>Ratio %1</b>").arg(formatRatio(ratio));
    compressedLabel_->setText(html);
}

void ModelPanel::clearCompressed()
{
    compressedLabel_->setText(tr("Not compressed yet (Ctrl+R), or open a compressed file (Ctrl+Shift+O)."));
}

bool ModelPanel::selectDevice(const QString& id)
{
    const int index = deviceCombo_->findData(id, Qt::UserRole);
    if (index < 0)
        return false;
    auto* model = qobject_cast<QStandardItemModel*>(deviceCombo_->model());
    if (!(model->item(index)->flags() & Qt::ItemIsEnabled))
        return false;
    deviceCombo_->setCurrentIndex(index);
    return true;
}

QString ModelPanel::deviceId() const
{
    return deviceCombo_->currentData(Qt::UserRole).toString();
}

QString ModelPanel::deviceReason() const
{
    return deviceReasonLabel_->text();
}

void ModelPanel::onDeviceChosen(int index)
{
    emit deviceChanged(deviceCombo_->itemData(index, Qt::UserRole).toString());
}

}  // namespace birkhoff::ui
