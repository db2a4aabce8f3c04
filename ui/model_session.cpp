// Asynchronous model operations (see model_session.h). The workers call only core functions;
// every result is handed back to the GUI thread through runJob().
//
// LibTorch's headers come first: its JIT headers use the identifier `slots`, which Qt defines as
// a keyword macro once a Qt header is seen.
#include "core/codec/compressor.h"
#include "core/codec/estimate.h"
#include "core/codec/model_roles.h"
#include "core/format/compressed_writer.h"
#include "core/format/encoded_tensor.h"
#include "core/io/checkpoint.h"
#include "core/models/family.h"
#include "core/models/hyper_linear.h"
#include "core/models/sam_model.h"
#include "core/util/error.h"

#include <ATen/Functions.h>

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
    io::StateDict tensors;
    std::vector<codec::TensorRole> roles;
    std::string wrapper;
    std::optional<models::SamConfig> config;  ///< empty when the layout cannot run
    std::shared_ptr<const models::SamModel> model;
    std::shared_ptr<const codec::CompressionEstimator> estimator;
};

struct ModelSession::Compressed {
    format::CompressedModel model;
    std::shared_ptr<const models::SamModel> runnable;
};

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// `progress` restricted to [base, base + span] of the caller's range.
Progress scaled(const Progress& progress, double base, double span)
{
    Progress p;
    p.cancel = progress.cancel;
    if (progress.onProgress)
        p.onProgress = [progress, base, span](double f, const std::string& what) { progress.report(base + span * f, what); };
    return p;
}

std::filesystem::path toPath(const QString& path)
{
    return std::filesystem::path(path.toStdString());
}

QString fileIdentity(const QString& path)
{
    const QFileInfo info(path);
    return QStringLiteral("%1|%2|%3")
        .arg(info.absoluteFilePath())
        .arg(info.size())
        .arg(info.lastModified().toMSecsSinceEpoch());
}

/// The SAM configuration for tensors of these shapes, with config.json beside `checkpoint`.
models::SamConfig configFor(const models::TensorShapes& shapes, const std::filesystem::path& checkpoint)
{
    const auto configPath = models::configBesideCheckpoint(checkpoint);
    nlohmann::json overrides;
    if (configPath)
        overrides = models::readConfigFile(*configPath);
    const std::string source =
        configPath ? checkpoint.string() + " (config " + configPath->string() + ")" : checkpoint.string();
    return models::inferSamConfig(shapes, configPath ? &overrides : nullptr, source);
}

/// A model that runs the compressed weights as the studio shows them: every Linear weight stored
/// as an index matrix runs on HyperLinear straight from its indices, every other tensor is decoded
/// to float32 (as the authors' loader does). `runtime` receives a description for the model panel.
std::shared_ptr<const models::SamModel> buildCompressedRunnable(const models::SamConfig& config,
                                                                const format::CompressedModel& compressed,
                                                                const std::string& source, const Progress& progress,
                                                                QString& runtime)
{
    io::StateDict dense;
    models::LinearBackendMap backends;
    std::string kernel;
    const auto count = static_cast<double>(compressed.tensors.size());
    for (std::size_t i = 0; i < compressed.tensors.size(); ++i) {
        const format::EncodedTensor& t = compressed.tensors[i];
        progress.checkCancelled();
        progress.report(0.9 * static_cast<double>(i) / count, t.name);
        if (t.loadType == format::LoadType::LinearMatrix) {
            auto backend = models::HyperLinearBackend::fromEncoded(t);
            if (kernel.empty()) {
                // "hyperlinear <name> [...] ...; cpu: kernel avx2 (table decode); cuda: ..." -> the CPU part.
                const std::string describe = backend->describe();
                const auto cpu = describe.find("cpu: ");
                kernel = cpu == std::string::npos ? describe : describe.substr(cpu + 5, describe.find(';', cpu) - cpu - 5);
            }
            backends[t.name] = std::move(backend);
        } else {
            dense.insert(t.name, format::decodeTensor(t));
        }
    }
    auto model = models::buildSamModel(config, dense, source, backends);
    runtime = backends.empty()
                  ? QStringLiteral("decoded to dense float32 (no Linear weight is stored as indices)")
                  : QStringLiteral("HyperLinear on %1 Linear layers (CPU %2); other tensors decoded to float32; "
                                   "%3 MiB of weights at run time")
                        .arg(backends.size())
                        .arg(QString::fromStdString(kernel))
                        .arg(static_cast<double>(model->info.weightBytes) / (1024.0 * 1024.0), 0, 'f', 1);
    progress.report(1.0, "model ready");
    return model;
}

ModelSummary summarise(const QString& path, const QString& format, const models::FamilyInfo& family,
                       const io::StateDict& tensors, const std::vector<codec::TensorRole>& roles, quint64 fileBytes)
{
    ModelSummary s;
    s.path = path;
    s.format = format;
    s.family = QString::fromStdString(family.displayName);
    s.parameters = tensors.elementCount();
    s.fileBytes = fileBytes;
    s.tensors = static_cast<int>(tensors.size());
    for (codec::TensorRole role : roles)
        s.linearWeights += role == codec::TensorRole::LinearWeight ? 1 : 0;
    for (const std::string& note : family.notes)
        s.notes.append(QString::fromStdString(note));
    return s;
}

struct OpenedOriginal {
    std::shared_ptr<const ModelSession::Original> original;
    ModelSummary summary;
};

/// Shapes-only view of a compressed model (for family detection; no tensor data).
io::StateDict shapeOnlyTensors(const format::CompressedModel& compressed)
{
    io::StateDict out;
    const at::Tensor one = at::zeros({1}, at::kFloat);
    for (const format::EncodedTensor& t : compressed.tensors) {
        if (t.isEncoded())
            out.insert(t.name, one.expand(t.shape));
        else
            out.insert(t.name, t.raw);
    }
    return out;
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
    return original_ ? original_->model : nullptr;
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
    return compressed_ ? compressed_->runnable : nullptr;
}

void ModelSession::openCheckpoint(const QString& path)
{
    if (!begin(Operation::OpeningModel))
        return;
    const Progress progress = relay_->progress(&cancel_);
    runJob<OpenedOriginal>(
        this, &pool_,
        [path, progress] {
            const auto start = Clock::now();
            io::Checkpoint checkpoint = io::loadCheckpoint(toPath(path), scaled(progress, 0.0, 0.4));
            auto original = std::make_shared<Original>();
            const models::FamilyInfo family = models::detectFamily(checkpoint.tensors);
            original->roles = codec::detectRoles(checkpoint.tensors).roles;
            original->wrapper = checkpoint.wrapper;
            ModelSummary summary = summarise(path, QString::fromUtf8(io::checkpointFormatName(checkpoint.format)), family,
                                             checkpoint.tensors, original->roles, checkpoint.fileBytes);
            for (const std::string& note : checkpoint.notes)
                summary.notes.append(QString::fromStdString(note));
            progress.report(0.45, "building the model");
            try {
                original->config = configFor(models::shapesOf(checkpoint.tensors), toPath(path));
                original->model = models::buildSamModel(*original->config, checkpoint.tensors, path.toStdString());
                summary.architecture = QString::fromStdString(original->config->variant);
                summary.runtime = QStringLiteral("dense float32");
            } catch (const Error& e) {
                // Still compressible: the codec needs tensors and roles only.
                original->config.reset();
                summary.runtime = QStringLiteral("cannot run");
                summary.notes.append(QStringLiteral("This layout cannot run in the studio yet (%1); it can still be "
                                                    "compressed and exported.")
                                         .arg(QString::fromStdString(e.what())));
            }
            progress.checkCancelled();
            progress.report(0.6, "preparing the live estimate");
            original->estimator = std::make_shared<const codec::CompressionEstimator>(
                checkpoint.tensors, original->roles, checkpoint.fileBytes, scaled(progress, 0.6, 0.4));
            original->tensors = std::move(checkpoint.tensors);
            summary.loadSeconds = secondsSince(start);
            return OpenedOriginal{std::move(original), std::move(summary)};
        },
        [this, path](JobOutcome<OpenedOriginal> outcome) {
            if (!finish(outcome.cancelled, outcome.ok(), outcome.error))
                return;
            original_ = outcome.value->original;
            originalSummary_ = outcome.value->summary;
            originalId_ = fileIdentity(path);
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
    const ModelSummary originalSummary = originalSummary_;
    runJob<Result>(
        this, &pool_,
        [original, originalSummary, settings, progress] {
            const auto start = Clock::now();
            const bool runnable = original->config.has_value();
            const codec::CompressOptions options = toCompressOptions(settings, originalSummary.fileBytes);
            codec::CompressionResult result = codec::compressModel(original->tensors, original->roles, options,
                                                                   scaled(progress, 0.0, runnable ? 0.85 : 1.0));
            auto compressed = std::make_shared<Compressed>();
            QString runtime = QStringLiteral("cannot run");
            if (runnable)
                compressed->runnable = buildCompressedRunnable(*original->config, result.model,
                                                               originalSummary.path.toStdString() + " (compressed)",
                                                               scaled(progress, 0.85, 0.15), runtime);
            Result r;
            r.report = toLayerReport(result.report, settings, false, 1.0);
            r.summary = originalSummary;
            r.summary.path = tr("(compressed in memory: %1)").arg(settings.summary());
            r.summary.format = QStringLiteral("hyper_model.safetensors");
            r.summary.fileBytes = result.report.compressedBytes;
            r.summary.runtime = runtime;
            r.summary.loadSeconds = secondsSince(start);
            compressed->model = std::move(result.model);
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
            compressedId_ = originalId_ + QStringLiteral("|compressed|") + QString::fromLatin1(settings.digest());
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
    runJob<Result>(
        this, &pool_,
        [path, progress] {
            const auto start = Clock::now();
            auto compressed = std::make_shared<Compressed>();
            compressed->model = format::readCompressedModel(toPath(path));
            progress.report(0.2, "read");
            const io::StateDict shapes = shapeOnlyTensors(compressed->model);
            const models::FamilyInfo family = models::detectFamily(shapes);
            const std::vector<codec::TensorRole> roles = codec::detectRoles(shapes).roles;
            Result r;
            r.summary = summarise(path, QStringLiteral("hyper_model.safetensors"), family, shapes, roles,
                                  static_cast<quint64>(QFileInfo(path).size()));
            for (const std::string& ext : compressed->model.extensions)
                r.summary.notes.append(QStringLiteral("uses extension: %1").arg(QString::fromStdString(ext)));
            try {
                const models::SamConfig config = configFor(models::shapesOf(shapes), toPath(path));
                compressed->runnable = buildCompressedRunnable(config, compressed->model, path.toStdString(),
                                                               scaled(progress, 0.2, 0.8), r.summary.runtime);
                r.summary.architecture = QString::fromStdString(config.variant);
            } catch (const CancelledError&) {
                throw;
            } catch (const Error& e) {
                r.summary.runtime = QStringLiteral("cannot run");
                r.summary.notes.append(QStringLiteral("Cannot run this layout in the studio yet: %1")
                                           .arg(QString::fromStdString(e.what())));
            }
            // The report a file allows: storage choices and sizes; errors need the original.
            LayerReport& report = r.report;
            report.isEstimate = false;
            report.compressedBytes = r.summary.fileBytes;
            for (const format::EncodedTensor& t : compressed->model.tensors) {
                LayerRow row;
                row.name = QString::fromStdString(t.name);
                const std::vector<std::int64_t> shape = t.isEncoded() ? t.shape : t.raw.sizes().vec();
                for (std::int64_t d : shape)
                    row.shape.append(d);
                row.parameters = t.numel();
                row.originalBytes = static_cast<quint64>(row.parameters) * 4;
                row.storedBytes = format::storedTensorBytes(t, t.isEncoded() && t.l != compressed->model.l);
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
            r.summary.loadSeconds = secondsSince(start);
            r.compressed = std::move(compressed);
            return r;
        },
        [this, path](JobOutcome<Result> outcome) {
            if (!finish(outcome.cancelled, outcome.ok(), outcome.error))
                return;
            compressed_ = outcome.value->compressed;
            compressedReport_ = outcome.value->report;
            compressedSummary_ = outcome.value->summary;
            compressedSettings_ = compressionSettingsOf(compressed_->model);
            compressedId_ = QStringLiteral("file|") + fileIdentity(path);
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
            format::writeCompressedModel(toPath(path), compressed->model);
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
    const std::string wrapper = original_ ? original_->wrapper : std::string();
    const Progress progress = relay_->progress(&cancel_);
    runJob<bool>(
        this, &pool_,
        [compressed, path, wrapper, progress] {
            const io::StateDict dense = format::restoreDense(compressed->model, scaled(progress, 0.0, 0.9));
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
