// Asynchronous model operations (see model_session.h). The workers call core only: every model
// is opened by models::openModelFile and every compression becomes a runnable model through
// models::compressedModelFile, exactly as in the CLI; results come back to the GUI thread through
// runJob().
//
// LibTorch's headers come first: its JIT headers use the identifier `slots`, which Qt defines as
// a keyword macro once a Qt header is seen.
#include "core/codec/compressor.h"
#include "core/util/stopwatch.h"
#include "core/codec/estimate.h"
#include "core/format/compressed_writer.h"
#include "core/format/encoded_tensor.h"
#include "core/io/checkpoint.h"
#include "core/models/model_file.h"
#include "core/util/error.h"

#include "ui/model_session.h"

#include "ui/background_job.h"
#include "ui/codec_bridge.h"
#include "ui/progress_relay.h"

#include <QDateTime>
#include <QFileInfo>

#include <chrono>
#include <filesystem>

namespace birkhoff::ui {

struct ModelSession::Original {
    models::ModelFile file;
    std::shared_ptr<const codec::CompressionEstimator> estimator;
};

struct ModelSession::Compressed {
    models::ModelFile file;
};

namespace {

using Clock = std::chrono::steady_clock;



std::filesystem::path toPath(const QString& path)
{
    return std::filesystem::path(path.toStdString());
}

/// A new model instance's id for the embedding caches: the file's identity (path, size, time
/// stamp) or what it was compressed from, plus a serial number, because an embedding belongs to
/// the model object that computed it (the same file opened twice is two models).
QString instanceId(const QString& what)
{
    static quint64 serial = 0;
    return QStringLiteral("#%1|%2").arg(++serial).arg(what);
}

QString fileIdentity(const QString& path)
{
    const QFileInfo info(path);
    return QStringLiteral("%1|%2|%3")
        .arg(info.absoluteFilePath())
        .arg(info.size())
        .arg(info.lastModified().toMSecsSinceEpoch());
}

/// What the model panel shows about `file`, opened from `path`.
ModelSummary summarise(const QString& path, const models::ModelFile& file)
{
    ModelSummary s;
    s.path = path;
    s.format = QString::fromStdString(file.format);
    s.family = QString::fromStdString(file.family.displayName);
    if (file.model)
        s.architecture = QString::fromStdString(file.model->config().variant);
    s.parameters = file.parameterCount;
    s.fileBytes = file.fileBytes;
    s.tensors = static_cast<int>(file.tensorCount);
    s.linearWeights = static_cast<int>(file.roles.linearWeights);
    s.runtime = QString::fromStdString(file.runtime);
    s.loadSeconds = file.loadSeconds;
    for (const std::string& note : file.family.notes)
        s.notes.append(QString::fromStdString(note));
    for (const std::string& note : file.notes)
        s.notes.append(QString::fromStdString(note));
    if (!file.model)
        s.notes.append(QStringLiteral("This layout cannot run in the studio (%1); it can still be compressed and "
                                      "exported.")
                           .arg(QString::fromStdString(file.cannotRun)));
    return s;
}

/// The report a compressed file allows: storage choices and sizes per tensor (the errors need
/// the original).
LayerReport fileReport(const format::CompressedModel& compressed, quint64 fileBytes)
{
    LayerReport report;
    report.isEstimate = false;
    report.compressedBytes = fileBytes;
    for (const format::EncodedTensor& t : compressed.tensors) {
        LayerRow row;
        row.name = QString::fromStdString(t.name);
        const std::vector<std::int64_t> shape = t.isEncoded() ? t.shape : t.raw.sizes().vec();
        for (std::int64_t d : shape)
            row.shape.append(d);
        row.parameters = t.numel();
        row.originalBytes = static_cast<quint64>(row.parameters) * 4;
        row.storedBytes = format::storedTensorBytes(t, t.isEncoded() && t.l != compressed.l);
        if (t.isEncoded()) {
            row.path = LayerPath::Hyper;
            row.l = t.l;
            row.U = t.U;
            row.K = t.K;
            row.bitsPerIndex = t.bits;
            row.warning = QStringLiteral("error unknown: compress an original in the studio to measure it");
        } else {
            row.path = !t.loadTypeIsVector ? LayerPath::Raw : (row.parameters < codec::kMinEncodedElements ? LayerPath::Small : LayerPath::Buffer);
            row.originalBytes = static_cast<quint64>(t.raw.numel()) * t.raw.element_size();
        }
        row.bitsPerWeight = row.parameters == 0 ? 0.0 : 8.0 * static_cast<double>(row.storedBytes) / row.parameters;
        report.parameters += row.parameters;
        report.originalBytes += row.originalBytes;
        report.rows.append(std::move(row));
    }
    return report;
}

}  // namespace

ModelSession::ModelSession(QObject* parent) : QObject(parent), relay_(new ProgressRelay(this))
{
    pool_.setMaxThreadCount(1);
    connect(relay_, &ProgressRelay::progressed, this, &ModelSession::progress);
}

ModelSession::~ModelSession()
{
    cancel_.cancel();
    pool_.waitForDone();
}

QString ModelSession::operationName(Operation operation)
{
    switch (operation) {
    case Operation::None: return {};
    case Operation::OpeningModel: return tr("Opening model");
    case Operation::OpeningCompressed: return tr("Opening compressed model");
    case Operation::Compressing: return tr("Compressing");
    case Operation::SavingCompressed: return tr("Saving compressed model");
    case Operation::ExportingRestored: return tr("Exporting restored model");
    }
    return {};
}

bool ModelSession::begin(Operation operation)
{
    if (isBusy()) {
        emit failed(operationName(operation), tr("%1 is still running; wait for it or cancel it first.")
                                                  .arg(operationName(operation_)));
        return false;
    }
    operation_ = operation;
    cancel_.reset();
    emit busyChanged(true, operationName(operation));
    return true;
}

bool ModelSession::finish(bool cancelledJob, bool succeeded, const QString& error)
{
    const QString name = operationName(operation_);
    operation_ = Operation::None;
    emit busyChanged(false, {});
    if (cancelledJob)
        emit cancelled(name);
    else if (!succeeded)
        emit failed(name, error);
    return !cancelledJob && succeeded;
}

bool ModelSession::hasOriginal() const
{
    return original_ != nullptr;
}

std::shared_ptr<const models::SamModel> ModelSession::originalModel() const
{
    return original_ ? original_->file.model : nullptr;
}

std::shared_ptr<const codec::CompressionEstimator> ModelSession::estimator() const
{
    return original_ ? original_->estimator : nullptr;
}

bool ModelSession::hasCompressed() const
{
    return compressed_ != nullptr;
}

std::shared_ptr<const models::SamModel> ModelSession::compressedModel() const
{
    return compressed_ ? compressed_->file.model : nullptr;
}

void ModelSession::openCheckpoint(const QString& path)
{
    if (!begin(Operation::OpeningModel))
        return;
    struct Result {
        std::shared_ptr<const Original> original;
        ModelSummary summary;
    };
    const Progress progress = relay_->progress(&cancel_);
    runJob<Result>(
        this, &pool_,
        [path, progress] {
            if (io::detectModelFileKind(toPath(path)) == io::ModelFileKind::Compressed)
                throw Error(path.toStdString() + " is a compressed model: open it with File > Open Compressed Model "
                                                 "(Ctrl+Shift+O), next to the checkpoint it was compressed from");
            auto original = std::make_shared<Original>();
            original->file = models::openModelFile(toPath(path), {}, progress.scaled(0.0, 0.6));
            progress.checkCancelled();
            progress.report(0.6, "preparing the live estimate");
            const auto start = Clock::now();
            original->estimator = std::make_shared<const codec::CompressionEstimator>(
                original->file.tensors, original->file.roles.roles, original->file.fileBytes, progress.scaled(0.6, 0.4));
            original->file.loadSeconds += secondsSince(start);
            return Result{original, summarise(path, original->file)};
        },
        [this, path](JobOutcome<Result> outcome) {
            if (!finish(outcome.cancelled, outcome.ok(), outcome.error))
                return;
            original_ = outcome.value->original;
            originalSummary_ = outcome.value->summary;
            originalId_ = instanceId(fileIdentity(path));
            compressed_.reset();
            compressedId_.clear();
            compressedReport_ = LayerReport{};
            emit originalReady();
        });
}

void ModelSession::compress(const CompressionSettings& settings)
{
    if (!original_) {
        emit failed(operationName(Operation::Compressing), tr("Open a model first."));
        return;
    }
    if (!begin(Operation::Compressing))
        return;
    struct Result {
        std::shared_ptr<const Compressed> compressed;
        LayerReport report;
        ModelSummary summary;
    };
    const Progress progress = relay_->progress(&cancel_);
    const std::shared_ptr<const Original> original = original_;
    runJob<Result>(
        this, &pool_,
        [original, settings, progress] {
            const auto start = Clock::now();
            const codec::CompressOptions options = toCompressOptions(settings, original->file.fileBytes);
            codec::CompressionResult result = codec::compressModel(original->file.tensors, original->file.roles.roles,
                                                                   options, progress.scaled(0.0, 0.85));
            auto compressed = std::make_shared<Compressed>();
            compressed->file = models::compressedModelFile(original->file, std::move(result.model),
                                                           result.report.compressedBytes, {},
                                                           progress.scaled(0.85, 0.15));
            compressed->file.loadSeconds = secondsSince(start);
            Result r;
            r.report = toLayerReport(result.report, settings, false, 1.0);
            r.summary = summarise(tr("(compressed in memory: %1)").arg(settings.summary()), compressed->file);
            r.compressed = std::move(compressed);
            progress.report(1.0, "compressed");
            return r;
        },
        [this, settings](JobOutcome<Result> outcome) {
            if (!finish(outcome.cancelled, outcome.ok(), outcome.error))
                return;
            compressed_ = outcome.value->compressed;
            compressedReport_ = outcome.value->report;
            compressedSummary_ = outcome.value->summary;
            compressedSettings_ = settings;
            compressedFromFile_ = false;
            compressedId_ = instanceId(originalId_ + QStringLiteral("|compressed|") + QString::fromLatin1(settings.digest()));
            emit compressedReady();
        });
}

void ModelSession::openCompressed(const QString& path)
{
    if (!begin(Operation::OpeningCompressed))
        return;
    struct Result {
        std::shared_ptr<const Compressed> compressed;
        LayerReport report;
        ModelSummary summary;
    };
    const Progress progress = relay_->progress(&cancel_);
    const std::shared_ptr<const Original> original = original_;
    runJob<Result>(
        this, &pool_,
        [path, original, progress] {
            std::error_code ec;
            if (std::filesystem::exists(toPath(path), ec) &&
                io::detectModelFileKind(toPath(path)) != io::ModelFileKind::Compressed)
                throw Error(path.toStdString() + " is not a compressed model (no safetensors header with rect_l and "
                                                 "num_inner_list): open it with File > Open Model (Ctrl+O)");
            // Next to its original (same layout, checked below), a file without a config.json of its
            // own runs with the original's.
            models::OpenModelOptions options;
            if (original && !models::configBesideCheckpoint(toPath(path)))
                options.load.configPath = original->file.configPath;
            auto compressed = std::make_shared<Compressed>();
            compressed->file = models::openModelFile(toPath(path), options, progress);
            if (original)
                models::checkCompressedMatches(original->file, compressed->file);
            Result r;
            r.summary = summarise(path, compressed->file);
            r.report = fileReport(*compressed->file.compressed, r.summary.fileBytes);
            r.compressed = std::move(compressed);
            return r;
        },
        [this, path](JobOutcome<Result> outcome) {
            if (!finish(outcome.cancelled, outcome.ok(), outcome.error))
                return;
            compressed_ = outcome.value->compressed;
            compressedReport_ = outcome.value->report;
            compressedSummary_ = outcome.value->summary;
            compressedSettings_ = compressionSettingsOf(*compressed_->file.compressed);
            compressedFromFile_ = true;
            compressedId_ = instanceId(QStringLiteral("file|") + fileIdentity(path));
            emit compressedReady();
        });
}

void ModelSession::saveCompressed(const QString& path)
{
    if (!compressed_) {
        emit failed(operationName(Operation::SavingCompressed), tr("Compress the model first."));
        return;
    }
    if (!begin(Operation::SavingCompressed))
        return;
    const std::shared_ptr<const Compressed> compressed = compressed_;
    runJob<bool>(
        this, &pool_,
        [compressed, path] {
            format::writeCompressedModel(toPath(path), *compressed->file.compressed);
            return true;
        },
        [this, path](JobOutcome<bool> outcome) {
            if (finish(outcome.cancelled, outcome.ok(), outcome.error))
                emit saved(path, QStringLiteral("compressed"));
        });
}

void ModelSession::exportRestored(const QString& path)
{
    if (!compressed_) {
        emit failed(operationName(Operation::ExportingRestored), tr("Compress the model first."));
        return;
    }
    if (!begin(Operation::ExportingRestored))
        return;
    const std::shared_ptr<const Compressed> compressed = compressed_;
    const std::string wrapper = original_ ? original_->file.wrapper : std::string();
    const Progress progress = relay_->progress(&cancel_);
    runJob<bool>(
        this, &pool_,
        [compressed, path, wrapper, progress] {
            const io::StateDict dense = format::restoreDense(*compressed->file.compressed, progress.scaled(0.0, 0.9));
            progress.checkCancelled();
            io::saveCheckpoint(toPath(path), dense, wrapper);
            progress.report(1.0, "written");
            return true;
        },
        [this, path](JobOutcome<bool> outcome) {
            if (finish(outcome.cancelled, outcome.ok(), outcome.error))
                emit saved(path, QStringLiteral("restored"));
        });
}

void ModelSession::cancel()
{
    cancel_.cancel();
}

}  // namespace birkhoff::ui
