// Measured mask-agreement frontier of the studio (see agreement_frontier.h).
//
// LibTorch's headers come first: its JIT headers use the identifier `slots`, which Qt defines as
// a keyword macro once a Qt header is seen.
#include "core/eval/agreement.h"
#include "core/eval/sam_eval_model.h"
#include "core/io/checkpoint.h"
#include "core/models/sam_config.h"
#include "core/models/sam_model.h"

#include "ui/agreement_frontier.h"

#include "ui/background_job.h"
#include "ui/progress_relay.h"

#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace birkhoff::ui {

namespace {

QString paperSpec(const CompressionSettings& s)
{
    QStringList u;
    for (quint32 v : s.uList)
        u << QString::number(v);
    return QStringLiteral("birkhoff:l=%1:U=%2:M=%3").arg(s.l, 0, 'g', 9).arg(u.join(QLatin1Char('+'))).arg(s.maxRings);
}

QString rdSpec(double ratio)
{
    return QStringLiteral("birkhoff-rd:ratio=%1").arg(ratio, 0, 'g', 6);
}

QColor codecColour(const std::string& codec)
{
    if (codec == "birkhoff")
        return QColor(210, 40, 40);
    if (codec == "birkhoff-rd")
        return QColor(170, 40, 170);
    if (codec == "rtn")
        return QColor(30, 110, 200);
    return QColor(40, 150, 40);
}

}  // namespace

QVector<AgreementSweepPoint> agreementSweep(const CompressionSettings& current)
{
    QVector<AgreementSweepPoint> points;
    auto add = [&](const QString& spec, std::optional<CompressionSettings> settings) {
        for (const auto& p : points)
            if (p.spec == spec.toStdString())
                return;
        points.append({spec.toStdString(), std::move(settings)});
    };
    if (current.rdTargetRatio) {
        add(rdSpec(*current.rdTargetRatio), current);
    } else {
        CompressionSettings lattice = current;
        lattice.overrides.clear();  // overrides are not part of a frontier spec
        add(paperSpec(lattice), lattice);
    }
    add(paperSpec(CompressionSettings{}), CompressionSettings{});
    for (double ratio : {6.0, 8.0, 10.0, 12.0}) {
        CompressionSettings rd;
        rd.rdTargetRatio = ratio;
        add(rdSpec(ratio), rd);
    }
    for (const char* baseline : {"rtn:8:pc", "rtn:6:64", "rtn:4:32", "hqq:4:32", "hqq:3:64"})
        add(QString::fromLatin1(baseline), std::nullopt);
    return points;
}

AgreementFrontierPanel::AgreementFrontierPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("agreementFrontierPanel"));
    pool_.setMaxThreadCount(1);
    relay_ = new ProgressRelay(this);

    plot_ = new QCustomPlot(this);
    plot_->setObjectName(QStringLiteral("agreementFrontierPlot"));
    plot_->setAccessibleName(tr("Compression ratio versus measured mask agreement"));
    plot_->setMinimumHeight(105);
    plot_->xAxis->setLabel(tr("compression ratio (file)"));
    plot_->yAxis->setLabel(tr("mean mask agreement (IoU)"));
    plot_->legend->setVisible(true);
    plot_->legend->setFont(QFont(font().family(), 8));
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignLeft | Qt::AlignBottom);
    for (const char* codec : {"birkhoff", "birkhoff-rd", "rtn", "hqq"}) {
        QCPGraph* g = plot_->addGraph();
        g->setName(QString::fromLatin1(codec));
        const QColor colour = codecColour(codec);
        g->setPen(QPen(colour, 1.5));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, colour, 7));
        graphs_.insert(QString::fromLatin1(codec), g);
    }
    currentMarker_ = plot_->addGraph();
    currentMarker_->setName(tr("current settings"));
    currentMarker_->setLineStyle(QCPGraph::lsNone);
    currentMarker_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::black, 2), Qt::NoBrush, 15));
    connect(plot_, &QCustomPlot::mousePress, this, &AgreementFrontierPanel::onPlotClicked);

    measureButton_ = new QPushButton(tr("&Measure agreement"), this);
    measureButton_->setObjectName(QStringLiteral("measureAgreementButton"));
    measureButton_->setToolTip(tr("Compress with each setting of the sweep and measure the masks against the "
                                  "original's on box prompts (a %1x%1 grid) over the first %2 images of the open "
                                  "image's folder. Runs in the background.")
                                   .arg(kGrid)
                                   .arg(kImages));
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("cancelAgreementButton"));
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    progress_->setTextVisible(false);
    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("agreementStatusLabel"));
    status_->setWordWrap(true);
    connect(measureButton_, &QPushButton::clicked, this, &AgreementFrontierPanel::measure);
    connect(cancelButton_, &QPushButton::clicked, this, &AgreementFrontierPanel::cancel);
    connect(relay_, &ProgressRelay::progressed, this, [this](double f, const QString& what) {
        progress_->setValue(static_cast<int>(std::lround(1000 * f)));
        status_->setText(what);
    });

    auto* header = new QHBoxLayout;
    header->addWidget(measureButton_);
    header->addWidget(cancelButton_);
    header->addWidget(progress_, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(header);
    layout->addWidget(status_);
    layout->addWidget(plot_, 1);
    rebuild();
    refreshState();
}

AgreementFrontierPanel::~AgreementFrontierPanel()
{
    if (cancel_)
        cancel_->cancel();
    pool_.waitForDone();
}

void AgreementFrontierPanel::setModelPath(const QString& path)
{
    if (path == modelPath_)
        return;
    modelPath_ = path;
    rows_.clear();
    rebuild();
    refreshState();
}

void AgreementFrontierPanel::setImagesFolder(const QString& folder)
{
    imagesFolder_ = folder;
    refreshState();
}

void AgreementFrontierPanel::setCurrentSettings(const CompressionSettings& settings)
{
    current_ = settings;
    rebuild();
}

void AgreementFrontierPanel::refreshState()
{
    const bool ready = !modelPath_.isEmpty() && !imagesFolder_.isEmpty();
    measureButton_->setEnabled(ready && !running_);
    cancelButton_->setEnabled(running_);
    if (!running_ && rows_.isEmpty())
        status_->setText(ready ? tr("Images: %1 (first %2). Measuring takes about half a minute per point for "
                                    "MobileSAM on 2 cores.")
                                     .arg(QDir::toNativeSeparators(imagesFolder_))
                                     .arg(kImages)
                               : tr("Open a model and an image from a folder to measure the frontier on it."));
}

void AgreementFrontierPanel::measure()
{
    if (running_ || modelPath_.isEmpty() || imagesFolder_.isEmpty())
        return;
    running_ = true;
    rows_.clear();
    settingsOfSpec_.clear();
    const QVector<AgreementSweepPoint> sweep = agreementSweep(current_);
    for (const auto& p : sweep)
        if (p.settings)
            settingsOfSpec_.insert(QString::fromStdString(p.spec), *p.settings);
    rebuild();
    cancel_ = std::make_shared<CancelToken>();
    refreshState();
    const Progress progress = relay_->progress(cancel_.get());
    const std::filesystem::path model = modelPath_.toStdString();
    const std::filesystem::path images = imagesFolder_.toStdString();
    QPointer<AgreementFrontierPanel> self(this);
    auto cancelToken = cancel_;
    runJob<int>(
        this, &pool_,
        [model, images, sweep, progress, self, cancelToken]() {
            const io::Checkpoint checkpoint = io::loadCheckpoint(model, {{}, progress.cancel});
            const auto configPath = models::configBesideCheckpoint(model);
            const nlohmann::json config = configPath ? models::readConfigFile(*configPath) : nlohmann::json();
            const auto original = models::loadSamModel(model, {}, {{}, progress.cancel});
            eval::AgreementOptions options;
            options.grid = kGrid;
            options.prompts = eval::AgreementPrompts::Boxes;
            options.imagesDir = images;
            options.limit = kImages;
            const double share = 1.0 / static_cast<double>(sweep.size() + 1);
            const auto reference = eval::makeSamEvalModel(original);
            const eval::AgreementReference ref = eval::buildAgreementReference(
                *reference, options, progress.scaled(0.0, share));
            int done = 0;
            for (int i = 0; i < sweep.size(); ++i) {
                progress.checkCancelled();
                const eval::FrontierPoint point = eval::parseFrontierPoint(sweep[i].spec);
                eval::FrontierRow row;
                try {
                    row = eval::measureFrontierPoint(point, checkpoint, model, configPath ? &config : nullptr, ref,
                                                     progress.scaled(share * (i + 1), share));
                } catch (const Error& e) {
                    row.codec = point.codec;
                    row.spec = point.spec;
                    row.settings = point.settings;
                    row.notes.push_back(e.what());
                }
                QMetaObject::invokeMethod(
                    self.data(), [self, row] { if (self) self->addRow(row); }, Qt::QueuedConnection);
                ++done;
            }
            return done;
        },
        [this](JobOutcome<int> outcome) {
            running_ = false;
            cancel_.reset();
            progress_->setValue(outcome.ok() ? 1000 : 0);
            QString error;
            if (outcome.cancelled)
                status_->setText(tr("Cancelled after %n point(s).", nullptr, static_cast<int>(rows_.size())));
            else if (!outcome.ok())
                status_->setText(error = outcome.error);
            else
                status_->setText(tr("%n point(s) measured on box prompts (%1x%1 grid) of up to %2 images of %3. "
                                    "Click a Birkhoff point to use its settings.", nullptr, static_cast<int>(rows_.size()))
                                     .arg(kGrid)
                                     .arg(kImages)
                                     .arg(QDir::toNativeSeparators(imagesFolder_)));
            refreshState();
            emit finished(error);
        });
}

void AgreementFrontierPanel::cancel()
{
    if (cancel_)
        cancel_->cancel();
}

void AgreementFrontierPanel::addRow(const eval::FrontierRow& row)
{
    rows_.append(row);
    rebuild();
}

void AgreementFrontierPanel::rebuild()
{
    for (QCPGraph* g : graphs_)
        g->data()->clear();
    currentMarker_->data()->clear();
    const std::string currentSpec =
        (current_.rdTargetRatio ? rdSpec(*current_.rdTargetRatio) : [&] {
            CompressionSettings lattice = current_;
            lattice.overrides.clear();
            return paperSpec(lattice);
        }()).toStdString();
    double yMin = 1.0, xMax = 2.0;
    for (const auto& r : rows_) {
        if (r.ratio <= 0)
            continue;  // a point the codec refused: listed in the status, not plotted
        if (QCPGraph* g = graphs_.value(QString::fromStdString(r.codec)))
            g->addData(r.ratio, r.agreement.mean);
        if (r.spec == currentSpec)
            currentMarker_->addData(r.ratio, r.agreement.mean);
        yMin = std::min(yMin, r.agreement.mean);
        xMax = std::max(xMax, r.ratio);
    }
    for (QCPGraph* g : graphs_)
        g->data()->sort();  // lines run along increasing ratio
    plot_->xAxis->setRange(1.0, xMax * 1.08);
    plot_->yAxis->setRange(std::max(0.0, std::floor(yMin * 20 - 1) / 20), 1.005);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

int AgreementFrontierPanel::rowAt(const QPoint& pos) const
{
    int best = -1;
    double bestDistance = 10.0;  // pixels
    for (int i = 0; i < rows_.size(); ++i) {
        if (rows_[i].ratio <= 0)
            continue;
        const double x = plot_->xAxis->coordToPixel(rows_[i].ratio);
        const double y = plot_->yAxis->coordToPixel(rows_[i].agreement.mean);
        const double d = std::hypot(x - pos.x(), y - pos.y());
        if (d < bestDistance) {
            bestDistance = d;
            best = i;
        }
    }
    return best;
}

void AgreementFrontierPanel::onPlotClicked(QMouseEvent* event)
{
    const int i = rowAt(event->pos());
    if (i < 0)
        return;
    const eval::FrontierRow& r = rows_[i];
    status_->setText(tr("%1 %2: ratio %3, mean agreement %4 (5th percentile %5)")
                         .arg(QString::fromStdString(r.codec), QString::fromStdString(r.settings))
                         .arg(r.ratio, 0, 'f', 2)
                         .arg(r.agreement.mean, 0, 'f', 4)
                         .arg(r.agreement.p5, 0, 'f', 4));
    const auto it = settingsOfSpec_.constFind(QString::fromStdString(r.spec));
    if (it != settingsOfSpec_.constEnd())
        emit settingsChosen(*it);
}

}  // namespace birkhoff::ui
