// COCO instances and SA-1B per-image JSON readers, ground-truth masks, shards.
#include "core/eval/dataset.h"

#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace birkhoff::eval {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string readWholeFile(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot open '" + path.string() + "'");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad())
        throw Error("cannot read '" + path.string() + "'");
    return buffer.str();
}

/// Parses `path` as JSON; a syntax error names the byte, line and column.
json parseJsonFile(const fs::path& path)
{
    const std::string text = readWholeFile(path);
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // e.byte is 1-based and points just past the offending character.
        const std::size_t offset = e.byte == 0 ? 0 : std::min<std::size_t>(e.byte - 1, text.size());
        std::size_t line = 1, column = 1;
        for (std::size_t i = 0; i < offset; ++i) {
            if (text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        std::string what = e.what();
        const auto detail = what.find("syntax error");
        throw Error("'" + path.string() + "' is not valid JSON: at byte " + std::to_string(offset) + " (line "
                    + std::to_string(line) + ", column " + std::to_string(column)
                    + "): " + (detail != std::string::npos ? what.substr(detail) : what));
    }
}

bool isIntegral(const json& v)
{
    if (v.is_number_integer() || v.is_number_unsigned())
        return true;
    if (v.is_number_float()) {
        const double d = v.get<double>();
        return std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15;
    }
    return false;
}

std::int64_t integerOf(const json& v)
{
    return v.is_number_float() ? static_cast<std::int64_t>(v.get<double>()) : v.get<std::int64_t>();
}

/// obj[key] as an integer. @throws Error naming `where` and the key.
std::int64_t requireInteger(const json& obj, const char* key, const std::string& where)
{
    const auto it = obj.find(key);
    if (it == obj.end())
        throw Error(where + ": missing \"" + key + "\"");
    if (!isIntegral(*it))
        throw Error(where + ": \"" + key + "\" must be an integer, got " + it->dump());
    return integerOf(*it);
}

std::optional<std::int64_t> optionalInteger(const json& obj, const char* key, const std::string& where)
{
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null())
        return std::nullopt;
    if (!isIntegral(*it))
        throw Error(where + ": \"" + key + "\" must be an integer, got " + it->dump());
    return integerOf(*it);
}

std::string optionalString(const json& obj, const char* key)
{
    const auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool allNumbers(const json& array)
{
    return std::all_of(array.begin(), array.end(), [](const json& v) { return v.is_number(); });
}

std::vector<double> numbersOf(const json& array)
{
    std::vector<double> out;
    out.reserve(array.size());
    for (const auto& v : array)
        out.push_back(v.get<double>());
    return out;
}

Segmentation parseSegmentation(const json& j)
{
    Segmentation s;
    if (j.is_null())
        return s;
    if (j.is_array()) {
        if (j.empty())
            return s;
        if (allNumbers(j)) {  // a single flat polygon (not COCO, but written by some tools)
            s.kind = Segmentation::Kind::Polygons;
            s.polygons.push_back(numbersOf(j));
            return s;
        }
        for (const auto& polygon : j) {
            if (!polygon.is_array() || !allNumbers(polygon)) {
                s.kind = Segmentation::Kind::Invalid;
                s.problem = "segmentation list holds something other than polygons (number lists)";
                return s;
            }
            s.polygons.push_back(numbersOf(polygon));
        }
        s.kind = Segmentation::Kind::Polygons;
        return s;
    }
    if (j.is_object()) {
        const auto size = j.find("size");
        const auto counts = j.find("counts");
        if (size == j.end() || counts == j.end()) {
            s.kind = Segmentation::Kind::Invalid;
            s.problem = "RLE segmentation needs \"size\" and \"counts\"";
            return s;
        }
        if (!size->is_array() || size->size() != 2 || !isIntegral((*size)[0]) || !isIntegral((*size)[1])
            || integerOf((*size)[0]) < 0 || integerOf((*size)[1]) < 0) {
            s.kind = Segmentation::Kind::Invalid;
            s.problem = "RLE \"size\" must be [height, width], got " + size->dump();
            return s;
        }
        s.rleHeight = static_cast<int>(integerOf((*size)[0]));
        s.rleWidth = static_cast<int>(integerOf((*size)[1]));
        if (counts->is_string()) {
            s.kind = Segmentation::Kind::CompressedRle;
            s.compressedCounts = counts->get<std::string>();
            return s;
        }
        if (counts->is_array() && std::all_of(counts->begin(), counts->end(), isIntegral)) {
            s.kind = Segmentation::Kind::UncompressedRle;
            s.counts.reserve(counts->size());
            for (const auto& c : *counts)
                s.counts.push_back(integerOf(c));
            return s;
        }
        s.kind = Segmentation::Kind::Invalid;
        s.problem = "RLE \"counts\" must be a string or a list of integers";
        return s;
    }
    s.kind = Segmentation::Kind::Invalid;
    s.problem = "segmentation must be a polygon list or an RLE object, got " + std::string(j.type_name());
    return s;
}

/// Parses the annotation object `j`; `imageId` overrides a missing image_id (SA-1B files).
Annotation parseAnnotation(const json& j, const std::string& where, std::optional<std::int64_t> imageId)
{
    if (!j.is_object())
        throw Error(where + ": expected an object");
    Annotation a;
    a.id = requireInteger(j, "id", where);
    if (imageId)
        a.imageId = *imageId;
    else
        a.imageId = requireInteger(j, "image_id", where);
    a.categoryId = optionalInteger(j, "category_id", where).value_or(-1);
    if (const auto crowd = j.find("iscrowd"); crowd != j.end() && !crowd->is_null()) {
        if (crowd->is_boolean())
            a.isCrowd = crowd->get<bool>();
        else if (isIntegral(*crowd))
            a.isCrowd = integerOf(*crowd) != 0;
        else
            throw Error(where + ": \"iscrowd\" must be 0 or 1, got " + crowd->dump());
    }
    if (const auto bbox = j.find("bbox"); bbox != j.end() && !bbox->is_null()) {
        bool ok = bbox->is_array() && bbox->size() == 4 && allNumbers(*bbox);
        if (ok) {
            std::array<double, 4> b{};
            for (int k = 0; k < 4; ++k)
                b[k] = (*bbox)[k].get<double>();
            ok = std::all_of(b.begin(), b.end(), [](double v) { return std::isfinite(v); });
            if (ok)
                a.bbox = b;
        }
        if (!ok)
            a.bboxProblem = "\"bbox\" must be [x, y, width, height] with finite numbers, got " + bbox->dump();
    }
    if (const auto seg = j.find("segmentation"); seg != j.end())
        a.segmentation = parseSegmentation(*seg);
    return a;
}

ImageInfo parseImageInfo(const json& j, const std::string& where, const char* idKey)
{
    if (!j.is_object())
        throw Error(where + ": expected an object");
    ImageInfo image;
    image.id = requireInteger(j, idKey, where);
    const auto name = j.find("file_name");
    if (name == j.end() || !name->is_string() || name->get<std::string>().empty())
        throw Error(where + ": missing \"file_name\"");
    image.fileName = name->get<std::string>();
    const std::int64_t width = requireInteger(j, "width", where);
    const std::int64_t height = requireInteger(j, "height", where);
    if (width <= 0 || height <= 0 || width > 1000000 || height > 1000000)
        throw Error(where + ": invalid image size " + std::to_string(width) + "x" + std::to_string(height));
    image.width = static_cast<int>(width);
    image.height = static_cast<int>(height);
    return image;
}

void readCoco(const json& root, const fs::path& path, std::vector<ImageEntry>& entries,
              std::map<std::int64_t, Category>& categories)
{
    const std::string file = "'" + path.string() + "'";
    const auto images = root.find("images");
    const auto annotations = root.find("annotations");
    if (images == root.end() || !images->is_array())
        throw Error(file + ": not a COCO instances file (no \"images\" list)");
    if (annotations == root.end() || !annotations->is_array())
        throw Error(file + ": not a COCO instances file (no \"annotations\" list)");

    if (const auto cats = root.find("categories"); cats != root.end() && cats->is_array()) {
        for (std::size_t i = 0; i < cats->size(); ++i) {
            const json& c = (*cats)[i];
            const std::string where = file + " categories[" + std::to_string(i) + "]";
            if (!c.is_object())
                throw Error(where + ": expected an object");
            Category category;
            category.id = requireInteger(c, "id", where);
            category.name = optionalString(c, "name");
            category.supercategory = optionalString(c, "supercategory");
            if (const auto thing = optionalInteger(c, "isthing", where))
                category.isThing = *thing != 0 ? 1 : 0;
            if (!categories.emplace(category.id, category).second)
                throw Error(where + ": duplicate category id " + std::to_string(category.id));
        }
    }

    std::map<std::int64_t, std::size_t> entryOfImage;
    for (std::size_t i = 0; i < images->size(); ++i) {
        ImageEntry entry;
        entry.image = parseImageInfo((*images)[i], file + " images[" + std::to_string(i) + "]", "id");
        if (!entryOfImage.emplace(entry.image.id, entries.size()).second)
            throw Error(file + " images[" + std::to_string(i) + "]: duplicate image id "
                        + std::to_string(entry.image.id));
        entries.push_back(std::move(entry));
    }
    std::sort(entries.begin(), entries.end(),
              [](const ImageEntry& a, const ImageEntry& b) { return a.image.id < b.image.id; });
    for (std::size_t k = 0; k < entries.size(); ++k)
        entryOfImage[entries[k].image.id] = k;

    std::map<std::int64_t, std::vector<Annotation>> orphans;  // image id not among "images"
    std::set<std::int64_t> annotationIds;
    for (std::size_t i = 0; i < annotations->size(); ++i) {
        const std::string where = file + " annotations[" + std::to_string(i) + "]";
        Annotation a = parseAnnotation((*annotations)[i], where, std::nullopt);
        if (!annotationIds.insert(a.id).second)
            throw Error(where + ": duplicate annotation id " + std::to_string(a.id));
        const auto it = entryOfImage.find(a.imageId);
        if (it != entryOfImage.end())
            entries[it->second].annotations.push_back(std::move(a));
        else
            orphans[a.imageId].push_back(std::move(a));
    }
    for (auto& [imageId, list] : orphans) {
        ImageEntry entry;
        entry.image.id = imageId;
        entry.imageListed = false;
        entry.annotations = std::move(list);
        entries.push_back(std::move(entry));
    }
}

ImageEntry sa1bEntry(const json& root, const fs::path& path)
{
    const std::string file = "'" + path.string() + "'";
    const auto image = root.find("image");
    const auto annotations = root.find("annotations");
    if (image == root.end() || !image->is_object() || annotations == root.end() || !annotations->is_array())
        throw Error(file + ": not an SA-1B per-image file (needs an \"image\" object and an \"annotations\" list)");
    ImageEntry entry;
    entry.annotationFile = path;
    entry.image = parseImageInfo(*image, file + " image", "image_id");
    std::set<std::int64_t> ids;
    for (std::size_t i = 0; i < annotations->size(); ++i) {
        const std::string where = file + " annotations[" + std::to_string(i) + "]";
        Annotation a = parseAnnotation((*annotations)[i], where, entry.image.id);
        if (!ids.insert(a.id).second)
            throw Error(where + ": duplicate annotation id " + std::to_string(a.id));
        entry.annotations.push_back(std::move(a));
    }
    return entry;
}

bool looksLikeSa1b(const json& root)
{
    return root.is_object() && root.contains("image") && root["image"].is_object();
}

}  // namespace

std::string datasetFormatName(DatasetFormat format)
{
    return format == DatasetFormat::CocoInstances ? "coco" : "sa1b";
}

ImageEntry readSa1bFile(const fs::path& file)
{
    return sa1bEntry(parseJsonFile(file), file);
}

Dataset Dataset::open(const fs::path& path)
{
    std::error_code ec;
    Dataset dataset;
    dataset.source_ = path;
    if (fs::is_directory(path, ec)) {
        dataset.format_ = DatasetFormat::Sa1bImages;
        for (const auto& item : fs::directory_iterator(path, ec))
            if (item.is_regular_file(ec) && item.path().extension() == ".json")
                dataset.files_.push_back(item.path());
        if (ec)
            throw Error("cannot list '" + path.string() + "': " + ec.message());
        if (dataset.files_.empty())
            throw Error("'" + path.string() + "' holds no .json annotation files");
        std::sort(dataset.files_.begin(), dataset.files_.end());
        return dataset;
    }
    if (!fs::exists(path, ec))
        throw Error("annotations '" + path.string() + "' do not exist");
    const json root = parseJsonFile(path);
    if (root.is_array())
        throw Error("'" + path.string() + "' is a JSON list (a COCO results file?); the evaluation needs "
                    "ground-truth annotations: a COCO instances file or SA-1B per-image files");
    if (!root.is_object())
        throw Error("'" + path.string() + "' is not a COCO instances or SA-1B annotation file");
    if (looksLikeSa1b(root)) {
        dataset.format_ = DatasetFormat::Sa1bImages;
        dataset.files_.push_back(path);
        return dataset;
    }
    dataset.format_ = DatasetFormat::CocoInstances;
    readCoco(root, path, dataset.entries_, dataset.categories_);
    return dataset;
}

ImageEntry Dataset::entry(std::size_t index) const
{
    if (index >= size())
        throw Error("dataset entry " + std::to_string(index) + " out of range (" + std::to_string(size()) + ")");
    if (format_ == DatasetFormat::CocoInstances)
        return entries_[index];
    try {
        return readSa1bFile(files_[index]);
    } catch (const Error& e) {
        ImageEntry broken;
        broken.annotationFile = files_[index];
        broken.image.fileName = files_[index].filename().replace_extension(".jpg").string();
        broken.loadProblem = e.what();
        return broken;
    }
}

const Category* Dataset::category(std::int64_t id) const
{
    const auto it = categories_.find(id);
    return it == categories_.end() ? nullptr : &it->second;
}

Rle annotationRle(const Annotation& annotation, int height, int width)
{
    const Segmentation& s = annotation.segmentation;
    const auto checkRleSize = [&] {
        if (s.rleHeight != height || s.rleWidth != width)
            throw Error("RLE size " + std::to_string(s.rleHeight) + "x" + std::to_string(s.rleWidth)
                        + " differs from the image size " + std::to_string(height) + "x" + std::to_string(width));
    };
    switch (s.kind) {
    case Segmentation::Kind::None:
        return Rle{height, width, {static_cast<std::uint32_t>(static_cast<std::uint64_t>(height) * width)}};
    case Segmentation::Kind::Invalid:
        throw Error(s.problem);
    case Segmentation::Kind::CompressedRle:
        checkRleSize();
        return rleFromString(s.compressedCounts, height, width);
    case Segmentation::Kind::UncompressedRle:
        checkRleSize();
        return rleFromCounts(s.counts, height, width);
    case Segmentation::Kind::Polygons: {
        std::vector<Rle> parts;
        parts.reserve(s.polygons.size());
        for (const auto& polygon : s.polygons)
            parts.push_back(rleFromPolygon(polygon, height, width));
        return rleMerge(parts);
    }
    }
    throw Error("unknown segmentation kind");
}

Shard parseShard(const std::string& text)
{
    const auto slash = text.find('/');
    const auto bad = [&] {
        return Error("invalid shard '" + text + "' (expected i/n with 0 <= i < n, e.g. 3/8)");
    };
    if (slash == std::string::npos || slash == 0 || slash + 1 >= text.size())
        throw bad();
    const std::string a = text.substr(0, slash), b = text.substr(slash + 1);
    const auto digits = [](const std::string& s) {
        return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (!digits(a) || !digits(b))
        throw bad();
    Shard shard;
    shard.index = std::stoul(a);
    shard.count = std::stoul(b);
    if (shard.count == 0 || shard.index >= shard.count)
        throw bad();
    return shard;
}

}  // namespace birkhoff::eval
