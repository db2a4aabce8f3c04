// Image embeddings kept for reuse, keyed by (image content hash, model id): ModelSession gives
// every model instance its own id (an embedding belongs to the model object that computed it), so
// re-opening an image or undoing to an earlier image never encodes twice, and a model opened or
// compressed again never picks up its predecessor's embeddings. Least recently used
// entries are dropped beyond the capacity. Thread-safe (the predictor sessions fill it from
// worker threads).
#pragma once

#include <QByteArray>
#include <QString>

#include <list>
#include <memory>
#include <mutex>
#include <utility>

namespace birkhoff::predict {
struct ImageEmbedding;
}

namespace birkhoff::ui {

class EmbeddingCache {
public:
    explicit EmbeddingCache(int capacity = 8);

    /// The cached embedding, or null. A hit makes the entry most recently used.
    std::shared_ptr<const predict::ImageEmbedding> find(const QByteArray& imageHash, const QString& modelId);
    /// Stores (or replaces) an embedding.
    void insert(const QByteArray& imageHash, const QString& modelId,
                std::shared_ptr<const predict::ImageEmbedding> embedding);
    void clear();
    int size() const;
    int capacity() const { return capacity_; }
    /// Cache hits and misses so far (status bar, tests).
    int hits() const;
    int misses() const;

private:
    struct Entry {
        QByteArray imageHash;
        QString modelId;
        std::shared_ptr<const predict::ImageEmbedding> embedding;
    };

    int capacity_;
    mutable std::mutex mutex_;
    std::list<Entry> entries_;  ///< most recently used first
    int hits_ = 0;
    int misses_ = 0;
};

}  // namespace birkhoff::ui
