// The studio's asynchronous access to models: opening a checkpoint (through core's one entry
// point, models::openModelFile: tensors, family, roles, runnable SAM model; plus the compression
// estimator), opening an existing compressed file (refused unless it was made from a model of
// the open original's family and layout), compressing with progress and cancellation (the
// runnable compressed model from models::compressedModelFile, as the CLI builds it), and writing
// the compressed file / the restored dense checkpoint. The studio builds no model itself.
// Every operation runs on a worker thread; results and errors come back as signals on the GUI
// thread. One operation runs at a time (isBusy()); widgets never see tensors, only summaries,
// reports and shared model handles they pass on to the predictor sessions.
#pragma once

#include "ui/compression_settings.h"
#include "ui/layer_report.h"

#include "core/util/progress.h"

#include <QObject>
#include <QString>
#include <QStringList>
#include <QThreadPool>

#include <memory>

namespace birkhoff::models {
class SamModel;
}
namespace birkhoff::codec {
class CompressionEstimator;
}

namespace birkhoff::ui {

class ProgressRelay;

/// What the model panel shows about a model.
struct ModelSummary {
    QString path;
    QString format;         ///< "PyTorch zip", "safetensors", "compressed (hyper_model.safetensors)"
    QString family;         ///< "SAM ViT-B", "MobileSAM/TinySAM (TinyViT)", ...
    QString architecture;   ///< the model config ("sam_vit_b", "mobile_sam", ...)
    qint64 parameters = 0;
    quint64 fileBytes = 0;
    int tensors = 0;
    int linearWeights = 0;  ///< tensors the codec encodes as index matrices
    QString runtime;        ///< how the model runs ("dense float32", "restored dense float32", ...)
    double loadSeconds = 0;
    QStringList notes;      ///< what loading renamed, ignored or guessed
};

class ModelSession : public QObject {
    Q_OBJECT
public:
    /// What the session holds for an open model (opaque; defined in model_session.cpp).
    struct Original;
    struct Compressed;

    enum class Operation { None, OpeningModel, OpeningCompressed, Compressing, SavingCompressed, ExportingRestored };

    explicit ModelSession(QObject* parent = nullptr);
    /// Cancels a running operation and waits for it.
    ~ModelSession() override;

    /// Opens a checkpoint (.pth/.pt/.safetensors): emits originalReady() or failed() (also for a
    /// compressed file). The compressed model (if any) is dropped.
    void openCheckpoint(const QString& path);
    /// Opens a compressed file (hyper_model.safetensors) to inspect and run it: emits
    /// compressedReady() or failed(). An open original stays (so masks can be compared); a file
    /// whose family or tensor layout differs from the open original's fails with a message
    /// naming both (models::checkCompressedMatches) and changes nothing. Without a config.json
    /// beside it, the file runs with the open original's.
    void openCompressed(const QString& path);
    /// Compresses the open original with `settings`: emits progress(), then compressedReady(),
    /// cancelled() or failed().
    void compress(const CompressionSettings& settings);
    /// Writes the compressed model to `path` atomically: emits saved() or failed().
    void saveCompressed(const QString& path);
    /// Decodes the compressed model and writes it as a dense checkpoint (.pth/.safetensors by
    /// extension) atomically: emits saved() or failed().
    void exportRestored(const QString& path);
    /// Asks the running operation to stop (compression and export honour it).
    void cancel();

    bool isBusy() const { return operation_ != Operation::None; }
    Operation operation() const { return operation_; }

    bool hasOriginal() const;
    const ModelSummary& originalSummary() const { return originalSummary_; }
    std::shared_ptr<const models::SamModel> originalModel() const;
    /// Identifies this original model instance for embedding caches: the file (path, size, time
    /// stamp) and a serial number, so that opening the same file again gives a new id.
    QString originalModelId() const { return originalId_; }
    quint64 originalFileBytes() const { return originalSummary_.fileBytes; }
    /// The estimator of the open original, or null.
    std::shared_ptr<const codec::CompressionEstimator> estimator() const;

    bool hasCompressed() const;
    const ModelSummary& compressedSummary() const { return compressedSummary_; }
    std::shared_ptr<const models::SamModel> compressedModel() const;
    /// Identifies this compressed model instance for embedding caches (original id + settings, or
    /// the compressed file, and a serial number): every compression and every opening of a file
    /// makes a new model, whose embeddings are its own.
    QString compressedModelId() const { return compressedId_; }
    /// The per-layer report of the compressed model (MAE only when compressed in this session).
    const LayerReport& compressedReport() const { return compressedReport_; }
    /// The settings it was compressed with (defaults for an opened file).
    const CompressionSettings& compressedSettings() const { return compressedSettings_; }
    /// True when the compressed model was opened from a file rather than compressed here.
    bool compressedFromFile() const { return compressedFromFile_; }

    /// Names used in progress and error messages ("Opening model", "Compressing", ...).
    static QString operationName(Operation operation);

signals:
    void busyChanged(bool busy, const QString& operation);
    void progress(double fraction, const QString& what);
    void originalReady();
    void compressedReady();
    /// A file was written: `kind` is "compressed" or "restored".
    void saved(const QString& path, const QString& kind);
    void failed(const QString& operation, const QString& message);
    void cancelled(const QString& operation);

private:
    bool begin(Operation operation);
    /// Ends the running operation; emits cancelled() or failed() for a job that did not succeed.
    /// @return true when the job succeeded and its result may be taken.
    bool finish(bool cancelledJob, bool succeeded, const QString& error);

    QThreadPool pool_;
    ProgressRelay* relay_ = nullptr;
    CancelToken cancel_;
    Operation operation_ = Operation::None;

    std::shared_ptr<const Original> original_;
    ModelSummary originalSummary_;
    QString originalId_;
    std::shared_ptr<const Compressed> compressed_;
    ModelSummary compressedSummary_;
    QString compressedId_;
    LayerReport compressedReport_;
    CompressionSettings compressedSettings_;
    bool compressedFromFile_ = false;
};

}  // namespace birkhoff::ui
