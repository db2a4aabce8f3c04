// The evaluation run (see runner.h).
#include "core/eval/runner.h"
#include "core/util/stopwatch.h"

#include "core/util/error.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>

namespace birkhoff::eval {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;


/// An instance that passed the skip rules, with what is needed to evaluate it.
struct Candidate {
    std::size_t row;  // index into the entry's rows
    Rle rle;
};

/// ", ETA 3m05s" from the work done by this run so far (in image entries, fractional within the
/// current image) and the entries this run has to do.
std::string etaText(double done, std::size_t total, double elapsed)
{
    if (!(done > 0) || done >= static_cast<double>(total))
        return {};
    return ", ETA " + formatDuration(elapsed / done * (static_cast<double>(total) - done));
}

}  // namespace

std::string describeAnnotation(const Annotation& a, const ImageEntry& entry, const Dataset& dataset,
                               const EvalOptions& options, InstanceRow& row, std::optional<Rle>& rle)
{
    row.annotationId = a.id;
    row.categoryId = a.categoryId;
    if (const Category* c = dataset.category(a.categoryId)) {
        row.category = c->name;
        row.isThing = c->isThing;
    }
    row.isCrowd = a.isCrowd;
    row.bbox = a.bbox;
    if (a.isCrowd)
        return skip::kCrowd;
    if (!entry.imageListed) {
        row.detail = "image id " + std::to_string(a.imageId) + " is not in the annotation file's images";
        return skip::kMissingImage;
    }
    try {
        rle = annotationRle(a, entry.image.height, entry.image.width);
    } catch (const Error& e) {
        row.detail = e.what();
        return skip::kMalformedSegmentation;
    }
    row.area = rleArea(*rle);
    if (row.area == 0) {
        row.detail = a.segmentation.kind == Segmentation::Kind::None ? "no segmentation" : "the mask has no pixels";
        return skip::kEmptySegmentation;
    }
    if (!a.bboxProblem.empty()) {
        row.detail = a.bboxProblem;
        return skip::kMalformedBbox;
    }
    if (!row.bbox)
        row.bbox = rleBbox(*rle);  // as COCO tooling does for annotations without bbox
    if (!((*row.bbox)[2] > 0) || !((*row.bbox)[3] > 0)) {
        row.detail = "bbox width or height is not positive";
        return skip::kZeroAreaBox;
    }
    if (row.area < options.minArea) {
        row.detail = "area " + std::to_string(row.area) + " < --min-area " + std::to_string(options.minArea);
        return skip::kBelowMinArea;
    }
    return {};
}

std::string formatDuration(double seconds)
{
    char text[32];
    const long s = std::lround(std::max(0.0, seconds));
    if (s < 60)
        std::snprintf(text, sizeof text, "%lds", s);
    else if (s < 3600)
        std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
    else
        std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    return text;
}

cv::Mat readEvalImage(const fs::path& path)
{
    cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    if (bgr.empty())
        return {};
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

EvalResult runEvaluation(const Dataset& dataset, PromptableModel& original, PromptableModel& compressed,
                         const EvalOptions& options, const Progress& progress)
{
    const MaskRule rule = effectiveMaskRule(options.maskRule, options.prompt);
    const std::string promptText = promptName(options.prompt);
    const std::string ruleText = maskRuleName(rule);
    EvalResult result;

    std::unique_ptr<ResultsCsvWriter> csv;
    std::set<std::int64_t> doneImages;
    if (!options.csv.empty()) {
        csv = std::make_unique<ResultsCsvWriter>(options.csv, options.resume, options.overwrite);
        const CsvContents& existing = csv->existing();
        for (const auto& r : existing.rows) {
            const auto mismatch = [&](const std::string& what, const std::string& theirs, const std::string& ours) {
                if (theirs != ours)
                    throw Error("cannot resume '" + options.csv.string() + "': it was written with " + what + " '"
                                + theirs + "', this run uses '" + ours + "'");
            };
            mismatch("prompt", r.prompt, promptText);
            mismatch("mask rule", r.maskRule, ruleText);
            mismatch("original model", r.modelOriginal, options.originalName);
            mismatch("compressed model", r.modelCompressed, options.compressedName);
            doneImages.insert(r.imageId);
            result.rows.push_back(r);
        }
        if (!existing.incompleteImages.empty())
            result.warnings.push_back("dropped the incomplete rows of " + std::to_string(existing.incompleteImages.size())
                                      + " image(s) from the CSV; they are evaluated again");
    }

    // The entries of this run: the shard's, in evaluation order, at most `limit`.
    std::vector<std::size_t> positions;
    for (std::size_t k = 0; k < dataset.size(); ++k) {
        if (options.shard && !options.shard->contains(k))
            continue;
        if (options.limit && positions.size() >= options.limit)
            break;
        positions.push_back(k);
    }
    result.entriesInShard = positions.size();

    const auto start = Clock::now();
    std::size_t processed = 0;  // entries handled by this run (not resumed)
    for (std::size_t n = 0; n < positions.size(); ++n) {
        progress.checkCancelled();
        const ImageEntry entry = dataset.entry(positions[n]);
        if (doneImages.count(entry.image.id)) {
            ++result.entriesResumed;
            continue;
        }

        std::vector<InstanceRow> rows;
        InstanceRow base;
        base.imageId = entry.image.id;
        base.fileName = entry.image.fileName;
        base.prompt = promptText;
        base.maskRule = ruleText;
        base.modelOriginal = options.originalName;
        base.modelCompressed = options.compressedName;

        if (!entry.loadProblem.empty()) {
            InstanceRow row = base;
            row.status = skip::kMalformedAnnotationFile;
            row.detail = entry.loadProblem;
            rows.push_back(row);
        }
        std::vector<Candidate> candidates;
        for (const auto& a : entry.annotations) {
            InstanceRow row = base;
            std::optional<Rle> rle;
            const std::string reason = describeAnnotation(a, entry, dataset, options, row, rle);
            if (!reason.empty()) {
                row.status = reason;
            } else {
                row.box = boxFromBbox(*row.bbox);
                candidates.push_back({rows.size(), std::move(*rle)});
            }
            rows.push_back(std::move(row));
        }

        // Read and encode the image only when something is to be evaluated on it.
        cv::Mat rgb;
        std::string imageProblem, imageDetail;
        if (!candidates.empty()) {
            const fs::path file = options.imagesDir / entry.image.fileName;
            std::error_code ec;
            if (!fs::is_regular_file(file, ec)) {
                imageProblem = skip::kMissingImageFile;
                imageDetail = "no such file: " + file.string();
            } else if ((rgb = readEvalImage(file)).empty()) {
                imageProblem = skip::kUnreadableImage;
                imageDetail = "OpenCV cannot decode " + file.string();
            } else if (rgb.cols != entry.image.width || rgb.rows != entry.image.height) {
                imageProblem = skip::kImageSizeMismatch;
                imageDetail = file.string() + " is " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows)
                              + ", the annotations say " + std::to_string(entry.image.width) + "x"
                              + std::to_string(entry.image.height);
            }
        }
        if (!imageProblem.empty()) {
            for (const auto& c : candidates) {
                rows[c.row].status = imageProblem;
                rows[c.row].detail = imageDetail;
                rows[c.row].box.reset();
            }
            candidates.clear();
        }

        if (!candidates.empty()) {
            progress.report(static_cast<double>(n) / positions.size(),
                            "image " + std::to_string(n + 1) + "/" + std::to_string(positions.size()) + " "
                                + entry.image.fileName + ": encoding"
                                + etaText(double(processed), positions.size() - result.entriesResumed, secondsSince(start)));
            auto t = Clock::now();
            original.setImage(rgb);
            const double encodeOriginal = secondsSince(t);
            progress.checkCancelled();
            t = Clock::now();
            compressed.setImage(rgb);
            const double encodeCompressed = secondsSince(t);
            ++result.imagesEncoded;

            for (std::size_t c = 0; c < candidates.size(); ++c) {
                progress.checkCancelled();
                InstanceRow& row = rows[candidates[c].row];
                const cv::Mat gt = decodeRle(candidates[c].rle);
                ModelPrompt prompt;
                if (options.prompt != PromptKind::CenterPoint)
                    prompt.box = row.box;
                else
                    row.box.reset();
                if (options.prompt != PromptKind::Box) {
                    const MaskCenter center = maskCenter(gt);
                    row.point = std::array<int, 2>{center.x, center.y};
                    prompt.point = row.point;
                }
                ModelAnswer answers[2];
                double decodeMs[2];
                PromptableModel* models[2] = {&original, &compressed};
                for (int m = 0; m < 2; ++m) {
                    t = Clock::now();
                    answers[m] = models[m]->predict(prompt, rule);
                    decodeMs[m] = secondsSince(t) * 1000.0;
                    if (answers[m].mask.size() != gt.size())
                        throw Error("model returned a " + std::to_string(answers[m].mask.cols) + "x"
                                    + std::to_string(answers[m].mask.rows) + " mask for a "
                                    + std::to_string(gt.cols) + "x" + std::to_string(gt.rows) + " image");
                }
                ModelResult results[2];
                for (int m = 0; m < 2; ++m) {
                    results[m].iou = maskOverlap(answers[m].mask, gt).iou();
                    results[m].predictedIou = answers[m].predictedIou;
                    results[m].token = answers[m].token;
                    results[m].maskArea = maskArea(answers[m].mask);
                    results[m].encodeSeconds = m == 0 ? encodeOriginal : encodeCompressed;
                    results[m].decodeMs = decodeMs[m];
                }
                row.original = results[0];
                row.compressed = results[1];
                row.agreement = maskOverlap(answers[0].mask, answers[1].mask).iou();
                row.status = kStatusOk;
                progress.report((static_cast<double>(n) + static_cast<double>(c + 1) / candidates.size())
                                    / positions.size(),
                                "image " + std::to_string(n + 1) + "/" + std::to_string(positions.size()) + " "
                                    + entry.image.fileName + ": instance " + std::to_string(c + 1) + "/"
                                    + std::to_string(candidates.size())
                                    + etaText(double(processed) + double(c + 1) / double(candidates.size()),
                                              positions.size() - result.entriesResumed, secondsSince(start)));
            }
        }

        for (auto& row : rows)
            row.imageRows = static_cast<int>(rows.size());
        if (csv)
            csv->appendImage(rows);
        for (auto& row : rows)
            result.rows.push_back(std::move(row));
        ++processed;
        progress.report(static_cast<double>(n + 1) / positions.size(),
                        "image " + std::to_string(n + 1) + "/" + std::to_string(positions.size()) + " done"
                            + etaText(double(processed), positions.size() - result.entriesResumed, secondsSince(start)));
    }
    sortRows(result.rows);
    result.report = summarize(result.rows);
    return result;
}

}  // namespace birkhoff::eval
