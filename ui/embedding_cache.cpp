// LRU cache of image embeddings (see embedding_cache.h).
#include "ui/embedding_cache.h"

#include <algorithm>

namespace birkhoff::ui {

EmbeddingCache::EmbeddingCache(int capacity) : capacity_(std::max(1, capacity)) {}

std::shared_ptr<const predict::ImageEmbedding> EmbeddingCache::find(const QByteArray& imageHash, const QString& modelId)
{
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->imageHash == imageHash && it->modelId == modelId) {
            entries_.splice(entries_.begin(), entries_, it);
            ++hits_;
            return entries_.front().embedding;
        }
    }
    ++misses_;
    return nullptr;
}

void EmbeddingCache::insert(const QByteArray& imageHash, const QString& modelId,
                            std::shared_ptr<const predict::ImageEmbedding> embedding)
{
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.remove_if([&](const Entry& e) { return e.imageHash == imageHash && e.modelId == modelId; });
    entries_.push_front(Entry{imageHash, modelId, std::move(embedding)});
    while (static_cast<int>(entries_.size()) > capacity_)
        entries_.pop_back();
}

void EmbeddingCache::clear()
{
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.clear();
}

int EmbeddingCache::size() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(entries_.size());
}

int EmbeddingCache::hits() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return hits_;
}

int EmbeddingCache::misses() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return misses_;
}

}  // namespace birkhoff::ui
