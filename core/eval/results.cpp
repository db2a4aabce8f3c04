// Evaluation rows, their CSV form, and the report computed from rows.
#include "core/eval/results.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace birkhoff::eval {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& columns()
{
    static const std::vector<std::string> names = {
        "image_id", "file_name", "ann_id", "category_id", "category", "isthing", "iscrowd", "area",
        "bbox_x", "bbox_y", "bbox_w", "bbox_h", "prompt", "mask_rule", "box_x0", "box_y0", "box_x1", "box_y1",
        "point_x", "point_y", "status", "detail", "image_rows", "model_original", "model_compressed",
        "iou_original", "iou_compressed", "agreement", "pred_iou_original", "pred_iou_compressed",
        "token_original", "token_compressed", "mask_area_original", "mask_area_compressed",
        "encode_s_original", "encode_s_compressed", "decode_ms_original", "decode_ms_compressed"};
    return names;
}

/// Shortest decimal form that reads back to exactly `v`.
std::string number(double v)
{
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
    return std::string(buffer, result.ptr);
}

std::string quoted(std::string field)
{
    for (char& c : field)
        if (c == '\n' || c == '\r')
            c = ' ';
    if (field.find_first_of(",\"") == std::string::npos)
        return field;
    std::string out = "\"";
    for (const char c : field) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::vector<std::string> splitCsvLine(const std::string& line)
{
    std::vector<std::string> fields;
    std::string field;
    bool inQuotes = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (inQuotes) {
            if (c == '"') {
                if (i + 1 < line.size() && line[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    inQuotes = false;
                }
            } else {
                field += c;
            }
        } else if (c == '"') {
            inQuotes = true;
        } else if (c == ',') {
            fields.push_back(std::move(field));
            field.clear();
        } else {
            field += c;
        }
    }
    fields.push_back(std::move(field));
    return fields;
}

/// Reads one line's fields by column name; errors name the file and line.
class FieldReader {
public:
    FieldReader(const std::vector<std::string>& fields, const std::map<std::string, std::size_t>& index,
                std::string where)
        : fields_(fields), index_(index), where_(std::move(where))
    {
    }

    const std::string& text(const char* column) const { return fields_.at(index_.at(column)); }
    bool empty(const char* column) const { return text(column).empty(); }

    double real(const char* column) const
    {
        const std::string& s = text(column);
        double v = 0;
        const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
            fail(column, s);
        return v;
    }

    std::int64_t integer(const char* column) const
    {
        const std::string& s = text(column);
        std::int64_t v = 0;
        const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
            fail(column, s);
        return v;
    }

    std::optional<std::array<double, 4>> quad(const char* a, const char* b, const char* c, const char* d) const
    {
        if (empty(a))
            return std::nullopt;
        return std::array<double, 4>{real(a), real(b), real(c), real(d)};
    }

private:
    [[noreturn]] void fail(const char* column, const std::string& value) const
    {
        throw Error(where_ + ": column " + column + " has an invalid value '" + value + "'");
    }

    const std::vector<std::string>& fields_;
    const std::map<std::string, std::size_t>& index_;
    std::string where_;
};

InstanceRow parseRow(const FieldReader& f)
{
    InstanceRow row;
    row.imageId = f.integer("image_id");
    row.fileName = f.text("file_name");
    row.annotationId = f.empty("ann_id") ? -1 : f.integer("ann_id");
    row.categoryId = f.empty("category_id") ? -1 : f.integer("category_id");
    row.category = f.text("category");
    row.isThing = f.empty("isthing") ? -1 : static_cast<int>(f.integer("isthing"));
    row.isCrowd = !f.empty("iscrowd") && f.integer("iscrowd") != 0;
    row.area = f.empty("area") ? 0 : static_cast<std::uint64_t>(f.integer("area"));
    row.bbox = f.quad("bbox_x", "bbox_y", "bbox_w", "bbox_h");
    row.prompt = f.text("prompt");
    row.maskRule = f.text("mask_rule");
    row.box = f.quad("box_x0", "box_y0", "box_x1", "box_y1");
    if (!f.empty("point_x"))
        row.point = std::array<int, 2>{static_cast<int>(f.integer("point_x")), static_cast<int>(f.integer("point_y"))};
    row.status = f.text("status");
    row.detail = f.text("detail");
    row.imageRows = static_cast<int>(f.integer("image_rows"));
    row.modelOriginal = f.text("model_original");
    row.modelCompressed = f.text("model_compressed");
    if (row.evaluated()) {
        ModelResult o, c;
        o.iou = f.real("iou_original");
        c.iou = f.real("iou_compressed");
        row.agreement = f.real("agreement");
        o.predictedIou = f.real("pred_iou_original");
        c.predictedIou = f.real("pred_iou_compressed");
        o.token = static_cast<int>(f.integer("token_original"));
        c.token = static_cast<int>(f.integer("token_compressed"));
        o.maskArea = static_cast<std::uint64_t>(f.integer("mask_area_original"));
        c.maskArea = static_cast<std::uint64_t>(f.integer("mask_area_compressed"));
        o.encodeSeconds = f.real("encode_s_original");
        c.encodeSeconds = f.real("encode_s_compressed");
        o.decodeMs = f.real("decode_ms_original");
        c.decodeMs = f.real("decode_ms_compressed");
        row.original = o;
        row.compressed = c;
    }
    return row;
}

std::string joinImageIds(const std::vector<std::int64_t>& ids)
{
    std::string s;
    for (std::size_t i = 0; i < ids.size() && i < 10; ++i)
        s += (i ? ", " : "") + std::to_string(ids[i]);
    if (ids.size() > 10)
        s += ", ...";
    return s;
}

void writeAll(int fd, const std::string& data, const fs::path& path)
{
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw Error("writing '" + path.string() + "' failed: " + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
}

double meanOf(double sum, std::size_t n)
{
    return n == 0 ? 0.0 : sum / static_cast<double>(n);
}

void requireSame(const std::string& what, const std::string& expected, const std::string& found,
                 const InstanceRow& row)
{
    if (expected != found)
        throw Error("rows of different runs cannot be combined: " + what + " is '" + expected + "' but '" + found
                    + "' for image " + std::to_string(row.imageId));
}

}  // namespace

std::string csvHeader()
{
    std::string s;
    for (const auto& c : columns())
        s += (s.empty() ? "" : ",") + c;
    return s;
}

std::string csvLine(const InstanceRow& row)
{
    std::vector<std::string> f;
    f.reserve(columns().size());
    const auto optInt = [](std::int64_t v) { return v < 0 ? std::string() : std::to_string(v); };
    f.push_back(std::to_string(row.imageId));
    f.push_back(quoted(row.fileName));
    f.push_back(optInt(row.annotationId));
    f.push_back(optInt(row.categoryId));
    f.push_back(quoted(row.category));
    f.push_back(row.isThing < 0 ? std::string() : std::to_string(row.isThing));
    f.push_back(row.annotationId < 0 ? std::string() : std::to_string(row.isCrowd ? 1 : 0));
    f.push_back(row.annotationId < 0 ? std::string() : std::to_string(row.area));
    for (int k = 0; k < 4; ++k)
        f.push_back(row.bbox ? number((*row.bbox)[k]) : std::string());
    f.push_back(quoted(row.prompt));
    f.push_back(quoted(row.maskRule));
    for (int k = 0; k < 4; ++k)
        f.push_back(row.box ? number((*row.box)[k]) : std::string());
    for (int k = 0; k < 2; ++k)
        f.push_back(row.point ? std::to_string((*row.point)[k]) : std::string());
    f.push_back(quoted(row.status));
    f.push_back(quoted(row.detail));
    f.push_back(std::to_string(row.imageRows));
    f.push_back(quoted(row.modelOriginal));
    f.push_back(quoted(row.modelCompressed));
    if (row.evaluated() && row.original && row.compressed) {
        const ModelResult& o = *row.original;
        const ModelResult& c = *row.compressed;
        f.push_back(number(o.iou));
        f.push_back(number(c.iou));
        f.push_back(number(row.agreement));
        f.push_back(number(o.predictedIou));
        f.push_back(number(c.predictedIou));
        f.push_back(std::to_string(o.token));
        f.push_back(std::to_string(c.token));
        f.push_back(std::to_string(o.maskArea));
        f.push_back(std::to_string(c.maskArea));
        f.push_back(number(o.encodeSeconds));
        f.push_back(number(c.encodeSeconds));
        f.push_back(number(o.decodeMs));
        f.push_back(number(c.decodeMs));
    } else {
        f.resize(columns().size());
    }
    std::string line;
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (i)
            line += ',';
        line += f[i];
    }
    return line;
}

CsvContents readResultsCsv(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot open '" + path.string() + "'");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();

    CsvContents contents;
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            contents.truncatedLastLine = true;  // no newline: the writer never leaves this
            break;
        }
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        lines.push_back(std::move(line));
        start = end + 1;
    }
    if (lines.empty())
        throw Error("'" + path.string() + "' is empty (no CSV header)");
    const std::vector<std::string> header = splitCsvLine(lines[0]);
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < header.size(); ++i)
        index[header[i]] = i;
    for (const auto& c : columns())
        if (!index.count(c))
            throw Error("'" + path.string() + "' is not an evaluation CSV: column '" + c + "' is missing");

    std::vector<InstanceRow> rows;
    for (std::size_t n = 1; n < lines.size(); ++n) {
        if (lines[n].empty())
            continue;
        const std::vector<std::string> fields = splitCsvLine(lines[n]);
        const std::string where = "'" + path.string() + "' line " + std::to_string(n + 1);
        if (fields.size() != header.size())
            throw Error(where + ": " + std::to_string(fields.size()) + " fields, the header has "
                        + std::to_string(header.size()));
        rows.push_back(parseRow(FieldReader(fields, index, where)));
    }

    // Keep only images with all their rows.
    std::map<std::int64_t, std::size_t> seen;
    std::map<std::int64_t, int> expected;
    for (const auto& r : rows) {
        ++seen[r.imageId];
        expected[r.imageId] = r.imageRows;
    }
    std::set<std::int64_t> incomplete;
    for (const auto& [id, count] : seen) {
        if (count > static_cast<std::size_t>(std::max(0, expected[id])))
            throw Error("'" + path.string() + "': image " + std::to_string(id) + " has " + std::to_string(count)
                        + " rows but image_rows says " + std::to_string(expected[id])
                        + " (the file holds the image twice?)");
        if (count < static_cast<std::size_t>(expected[id]))
            incomplete.insert(id);
    }
    for (auto& r : rows)
        if (!incomplete.count(r.imageId))
            contents.rows.push_back(std::move(r));
    contents.incompleteImages.assign(incomplete.begin(), incomplete.end());
    return contents;
}

ResultsCsvWriter::ResultsCsvWriter(fs::path path, bool resume, bool overwrite) : path_(std::move(path))
{
    std::error_code ec;
    const bool exists = fs::exists(path_, ec);
    bool rewrite = true;
    if (exists && resume) {
        existing_ = readResultsCsv(path_);
        rewrite = !existing_.incompleteImages.empty() || existing_.truncatedLastLine;
    } else if (exists && !overwrite) {
        throw Error("'" + path_.string() + "' already exists: pass --resume to continue it, --overwrite to replace it");
    }
    if (rewrite) {
        std::string text = csvHeader() + "\n";
        for (const auto& r : existing_.rows)
            text += csvLine(r) + "\n";
        writeFileAtomically(path_, [&](AtomicFileWriter& w) { w.write(text.data(), text.size()); });
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0)
        throw Error("cannot open '" + path_.string() + "' for appending: " + std::strerror(errno));
}

ResultsCsvWriter::~ResultsCsvWriter()
{
    if (fd_ >= 0)
        ::close(fd_);
}

void ResultsCsvWriter::appendImage(const std::vector<InstanceRow>& rows)
{
    if (rows.empty())
        return;
    std::string block;
    for (const auto& r : rows)
        block += csvLine(r) + "\n";
    writeAll(fd_, block, path_);
    if (::fdatasync(fd_) != 0)
        throw Error("writing '" + path_.string() + "' failed: " + std::strerror(errno));
}

void sortRows(std::vector<InstanceRow>& rows)
{
    std::stable_sort(rows.begin(), rows.end(), [](const InstanceRow& a, const InstanceRow& b) {
        return a.imageId != b.imageId ? a.imageId < b.imageId : a.annotationId < b.annotationId;
    });
    for (std::size_t i = 1; i < rows.size(); ++i)
        if (rows[i].imageId == rows[i - 1].imageId && rows[i].annotationId == rows[i - 1].annotationId)
            throw Error("image " + std::to_string(rows[i].imageId) + " annotation "
                        + (rows[i].annotationId < 0 ? std::string("(image entry)") : std::to_string(rows[i].annotationId))
                        + " appears twice");
}

EvalReport summarize(std::vector<InstanceRow> rows)
{
    sortRows(rows);
    EvalReport report;
    if (!rows.empty()) {
        report.prompt = rows.front().prompt;
        report.maskRule = rows.front().maskRule;
        report.original.name = rows.front().modelOriginal;
        report.compressed.name = rows.front().modelCompressed;
    }
    struct Accumulator {
        double iou = 0, iouThings = 0, iouStuff = 0, predicted = 0, encode = 0, decode = 0, total = 0;
    };
    Accumulator acc[2];
    double agreementSum = 0;
    report.agreementMin = 1.0;
    std::map<std::int64_t, CategorySummary> categories;
    std::int64_t currentImage = 0;
    bool imageOpen = false;

    for (const auto& row : rows) {
        requireSame("the prompt", report.prompt, row.prompt, row);
        requireSame("the mask rule", report.maskRule, row.maskRule, row);
        requireSame("the original model", report.original.name, row.modelOriginal, row);
        requireSame("the compressed model", report.compressed.name, row.modelCompressed, row);
        if (row.annotationId < 0) {
            ++report.skippedImages[row.status];
            continue;
        }
        ++report.instances;
        if (!row.evaluated() || !row.original || !row.compressed) {
            ++report.skippedInstances[row.status];
            continue;
        }
        ++report.evaluated;
        const bool newImage = !imageOpen || row.imageId != currentImage;
        if (newImage) {
            imageOpen = true;
            currentImage = row.imageId;
            ++report.images;
        }
        const ModelResult* results[2] = {&*row.original, &*row.compressed};
        for (int m = 0; m < 2; ++m) {
            Accumulator& a = acc[m];
            a.iou += results[m]->iou;
            if (row.isThing == 1)
                a.iouThings += results[m]->iou;
            else if (row.isThing == 0)
                a.iouStuff += results[m]->iou;
            a.predicted += results[m]->predictedIou;
            a.decode += results[m]->decodeMs;
            a.total += results[m]->decodeMs / 1000.0;
            if (newImage) {
                a.encode += results[m]->encodeSeconds;
                a.total += results[m]->encodeSeconds;
            }
        }
        if (row.isThing == 1)
            ++report.original.thingCount;
        else if (row.isThing == 0)
            ++report.original.stuffCount;
        agreementSum += row.agreement;
        report.agreementMin = std::min(report.agreementMin, row.agreement);
        if (row.agreement == 1.0)
            ++report.identicalMasks;
        CategorySummary& c = categories[row.categoryId];
        c.id = row.categoryId;
        c.name = row.category;
        c.isThing = row.isThing;
        ++c.count;
        c.miouOriginal += row.original->iou;
        c.miouCompressed += row.compressed->iou;
        c.agreement += row.agreement;
    }
    if (report.evaluated == 0)
        report.agreementMin = 0;
    report.hasThingStuff = report.original.thingCount + report.original.stuffCount > 0;
    report.compressed.thingCount = report.original.thingCount;
    report.compressed.stuffCount = report.original.stuffCount;
    ModelSummary* summaries[2] = {&report.original, &report.compressed};
    for (int m = 0; m < 2; ++m) {
        ModelSummary& s = *summaries[m];
        s.count = report.evaluated;
        s.images = report.images;
        s.miou = meanOf(acc[m].iou, report.evaluated);
        s.miouThings = meanOf(acc[m].iouThings, s.thingCount);
        s.miouStuff = meanOf(acc[m].iouStuff, s.stuffCount);
        s.meanPredictedIou = meanOf(acc[m].predicted, report.evaluated);
        s.encodeSecondsPerImage = meanOf(acc[m].encode, report.images);
        s.decodeMsPerInstance = meanOf(acc[m].decode, report.evaluated);
        s.secondsPerImage = meanOf(acc[m].total, report.images);
    }
    report.agreement = meanOf(agreementSum, report.evaluated);
    for (auto& [id, c] : categories) {
        c.miouOriginal /= static_cast<double>(c.count);
        c.miouCompressed /= static_cast<double>(c.count);
        c.agreement /= static_cast<double>(c.count);
        report.categories.push_back(c);
    }
    return report;
}

nlohmann::json reportToJson(const EvalReport& report)
{
    using nlohmann::json;
    const auto model = [&](const ModelSummary& s) {
        json j;
        j["name"] = s.name;
        j["count"] = s.count;
        j["miou"] = s.miou;
        if (report.hasThingStuff) {
            j["things"] = {{"count", s.thingCount}, {"miou", s.miouThings}};
            j["stuff"] = {{"count", s.stuffCount}, {"miou", s.miouStuff}};
        }
        j["mean_predicted_iou"] = s.meanPredictedIou;
        j["images"] = s.images;
        j["encode_seconds_per_image"] = s.encodeSecondsPerImage;
        j["decode_ms_per_instance"] = s.decodeMsPerInstance;
        j["seconds_per_image"] = s.secondsPerImage;
        return j;
    };
    json j;
    j["prompt"] = report.prompt;
    j["mask_rule"] = report.maskRule;
    j["counts"] = {{"images", report.images},
                   {"instances", report.instances},
                   {"evaluated", report.evaluated},
                   {"skipped", report.instances - report.evaluated}};
    j["skipped_instances"] = report.skippedInstances;
    j["skipped_images"] = report.skippedImages;
    j["original"] = model(report.original);
    j["compressed"] = model(report.compressed);
    j["miou_drop"] = report.original.miou - report.compressed.miou;
    j["agreement"] = {{"mean_iou", report.agreement},
                      {"min_iou", report.agreementMin},
                      {"identical_masks", report.identicalMasks}};
    json categories = json::array();
    for (const auto& c : report.categories) {
        json jc = {{"id", c.id},
                   {"name", c.name},
                   {"count", c.count},
                   {"miou_original", c.miouOriginal},
                   {"miou_compressed", c.miouCompressed},
                   {"agreement", c.agreement}};
        if (c.isThing >= 0)
            jc["isthing"] = c.isThing;
        categories.push_back(jc);
    }
    j["categories"] = categories;
    return j;
}

std::string reportToText(const EvalReport& report)
{
    std::ostringstream s;
    char line[512];
    s << "prompt: " << report.prompt << ", mask rule: " << report.maskRule << "\n";
    s << "instances: " << report.instances << " (" << report.evaluated << " evaluated on " << report.images
      << " images, " << (report.instances - report.evaluated) << " skipped)\n";
    for (const auto& [reason, n] : report.skippedInstances)
        s << "  skipped " << reason << ": " << n << "\n";
    for (const auto& [reason, n] : report.skippedImages)
        s << "  image entries skipped " << reason << ": " << n << "\n";
    std::snprintf(line, sizeof line, "%-10s %8s %6s", "model", "mIoU", "count");
    s << line;
    if (report.hasThingStuff)
        s << "   things (n)      stuff (n)";
    s << "  encode s/img  decode ms/inst  s/img  name\n";
    for (const ModelSummary* m : {&report.original, &report.compressed}) {
        std::snprintf(line, sizeof line, "%-10s %8.4f %6zu", m == &report.original ? "original" : "compressed",
                      m->miou, m->count);
        s << line;
        if (report.hasThingStuff) {
            std::snprintf(line, sizeof line, "  %7.4f (%zu)  %7.4f (%zu)", m->miouThings, m->thingCount,
                          m->miouStuff, m->stuffCount);
            s << line;
        }
        std::snprintf(line, sizeof line, "  %12.3f  %14.2f  %5.2f  ", m->encodeSecondsPerImage,
                      m->decodeMsPerInstance, m->secondsPerImage);
        s << line << m->name << "\n";
    }
    std::snprintf(line, sizeof line, "mIoU drop (original - compressed): %.4f\n", report.original.miou - report.compressed.miou);
    s << line;
    std::snprintf(line, sizeof line, "agreement (IoU between the two models' masks): mean %.4f, min %.4f, identical %zu/%zu\n",
                  report.agreement, report.agreementMin, report.identicalMasks, report.evaluated);
    s << line;
    return s.str();
}

EvalReport mergeResults(const std::vector<fs::path>& csvs, std::vector<std::string>* warnings)
{
    if (csvs.empty())
        throw Error("no CSV files to merge");
    std::vector<InstanceRow> all;
    std::map<std::int64_t, fs::path> owner;
    for (const auto& path : csvs) {
        CsvContents contents = readResultsCsv(path);
        if (warnings && !contents.incompleteImages.empty())
            warnings->push_back("'" + path.string() + "': ignored the incomplete rows of image(s) "
                                + joinImageIds(contents.incompleteImages) + " (an interrupted run; --resume it)");
        if (warnings && contents.truncatedLastLine)
            warnings->push_back("'" + path.string() + "': ignored a truncated last line");
        std::set<std::int64_t> images;
        for (const auto& r : contents.rows)
            images.insert(r.imageId);
        for (const auto id : images) {
            const auto [it, inserted] = owner.emplace(id, path);
            if (!inserted)
                throw Error("image " + std::to_string(id) + " appears in both '" + it->second.string() + "' and '"
                            + path.string() + "' (overlapping shards, or the same file twice)");
        }
        for (auto& r : contents.rows)
            all.push_back(std::move(r));
    }
    return summarize(std::move(all));
}

}  // namespace birkhoff::eval
