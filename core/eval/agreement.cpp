// Mask agreement between an original and a compressed model (see agreement.h).
#include "core/eval/agreement.h"
#include "core/util/stopwatch.h"

#include "core/eval/prompts.h"
#include "core/eval/results.h"
#include "core/eval/sam_eval_model.h"
#include "core/models/sam_model.h"
#include "core/util/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace birkhoff::eval {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;


/// An image to build the reference on, with its ground-truth instances (annotations mode).
struct SourceImage {
    fs::path file;
    std::string name;
    cv::Mat rgb;
    std::vector<std::pair<std::array<double, 4>, Rle>> instances;  ///< box prompt, mask
};

/// The original's answer to one prompt.
ReferencePrompt answer(PromptableModel& model, PromptSource source, const ModelPrompt& prompt, MaskRule rule)
{
    ReferencePrompt p;
    p.source = source;
    p.prompt = prompt;
    p.rule = rule;
    p.original = encodeRle(model.predict(prompt, rule).mask);
    return p;
}

/// Builds the prompts of one image and the original's answers.
ReferenceImage referenceImage(PromptableModel& original, const SourceImage& source, const AgreementOptions& options,
                              const Progress& progress)
{
    ReferenceImage image;
    image.file = source.file;
    image.name = source.name;
    image.width = source.rgb.cols;
    image.height = source.rgb.rows;
    original.setImage(source.rgb);
    for (const auto& point : gridPoints(image.width, image.height, options.grid)) {
        progress.checkCancelled();
        ModelPrompt pointPrompt;
        pointPrompt.point = point;
        ReferencePrompt p = answer(original, PromptSource::GridPoint, pointPrompt, MaskRule::Best);
        if (options.prompts != AgreementPrompts::Points) {
            if (rleArea(p.original) == 0) {
                ++image.emptyGridMasks;
            } else {
                ModelPrompt boxPrompt;
                boxPrompt.box = boxFromBbox(rleBbox(p.original));
                image.prompts.push_back(answer(original, PromptSource::GridBox, boxPrompt, MaskRule::Single));
            }
        }
        if (options.prompts != AgreementPrompts::Boxes)
            image.prompts.push_back(std::move(p));
    }
    for (const auto& [box, mask] : source.instances) {
        progress.checkCancelled();
        const cv::Mat gt = decodeRle(mask);
        ModelPrompt boxPrompt;
        boxPrompt.box = box;
        ModelPrompt pointPrompt;
        const MaskCenter center = maskCenter(gt);
        pointPrompt.point = std::array<int, 2>{center.x, center.y};
        for (auto p : {answer(original, PromptSource::GtBox, boxPrompt, MaskRule::Single),
                       answer(original, PromptSource::GtPoint, pointPrompt, MaskRule::Best)}) {
            p.groundTruth = mask;
            p.originalGtIou = maskOverlap(decodeRle(p.original), gt).iou();
            image.prompts.push_back(std::move(p));
        }
    }
    return image;
}

/// numpy-style linear-interpolation percentile of sorted values, q in [0, 1].
double percentile(const std::vector<double>& sorted, double q)
{
    const double rank = q * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(rank));
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (rank - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

std::string shapeText(const at::Tensor& t)
{
    std::string s = "[";
    for (std::int64_t d = 0; d < t.dim(); ++d)
        s += (d ? ", " : "") + std::to_string(t.size(d));
    return s + "]";
}

/// The dense weight of a Linear layer on a compressed backend appears with shape [0].
bool isReleasedWeight(const at::Tensor& t)
{
    return t.dim() == 1 && t.size(0) == 0;
}

}  // namespace

std::string agreementPromptsName(AgreementPrompts prompts)
{
    switch (prompts) {
    case AgreementPrompts::Points:
        return "points";
    case AgreementPrompts::Boxes:
        return "boxes";
    case AgreementPrompts::Both:
        return "both";
    }
    return "both";
}

AgreementPrompts parseAgreementPrompts(const std::string& name)
{
    for (const auto p : {AgreementPrompts::Points, AgreementPrompts::Boxes, AgreementPrompts::Both})
        if (agreementPromptsName(p) == name)
            return p;
    throw Error("unknown prompt set '" + name + "' (expected points, boxes or both)");
}

std::string promptSourceName(PromptSource source)
{
    switch (source) {
    case PromptSource::GridPoint:
        return "grid-point";
    case PromptSource::GridBox:
        return "grid-box";
    case PromptSource::GtBox:
        return "gt-box";
    case PromptSource::GtPoint:
        return "gt-point";
    }
    return "grid-point";
}

void validateAgreementGrid(int grid)
{
    if (grid < 1 || grid > kMaxAgreementGrid)
        throw Error("grid " + std::to_string(grid) + " is out of range (1.." + std::to_string(kMaxAgreementGrid)
                    + " points per side)");
}

std::vector<std::array<int, 2>> gridPoints(int width, int height, int grid)
{
    validateAgreementGrid(grid);
    std::vector<std::array<int, 2>> points;
    points.reserve(static_cast<std::size_t>(grid) * grid);
    for (int j = 0; j < grid; ++j)
        for (int i = 0; i < grid; ++i)
            points.push_back({static_cast<int>(std::floor((i + 0.5) * width / grid)),
                              static_cast<int>(std::floor((j + 0.5) * height / grid))});
    return points;
}

std::size_t AgreementReference::promptCount() const
{
    std::size_t n = 0;
    for (const auto& image : images)
        n += image.prompts.size();
    return n;
}

AgreementReference buildAgreementReference(PromptableModel& original, const AgreementOptions& options,
                                           const Progress& progress)
{
    validateAgreementGrid(options.grid);
    const auto start = Clock::now();
    AgreementReference reference;
    reference.grid = options.grid;
    reference.prompts = options.prompts;
    reference.annotations = options.dataset != nullptr;

    // The images (and instances) to use, read lazily one at a time below.
    struct Pending {
        fs::path file;
        std::string name;
        std::optional<std::size_t> entry;  // dataset position
    };
    std::vector<Pending> pending;
    std::error_code ec;
    if (options.dataset) {
        for (std::size_t k = 0; k < options.dataset->size(); ++k)
            pending.push_back({{}, {}, k});
    } else {
        if (!fs::is_directory(options.imagesDir, ec))
            throw Error("image folder " + options.imagesDir.string() + " does not exist or is not a folder");
        for (const auto& item : fs::directory_iterator(options.imagesDir, ec))
            if (item.is_regular_file(ec))
                pending.push_back({item.path(), item.path().filename().string(), std::nullopt});
        if (ec)
            throw Error("cannot list " + options.imagesDir.string() + ": " + ec.message());
        std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) { return a.name < b.name; });
    }

    for (std::size_t n = 0; n < pending.size(); ++n) {
        if (options.limit && reference.images.size() >= options.limit)
            break;
        progress.checkCancelled();
        SourceImage source;
        if (pending[n].entry) {
            const ImageEntry entry = options.dataset->entry(*pending[n].entry);
            source.name = entry.image.fileName;
            source.file = options.imagesDir / entry.image.fileName;
            EvalOptions evalOptions;
            std::size_t skipped = 0;
            for (const auto& a : entry.annotations) {
                InstanceRow row;
                std::optional<Rle> rle;
                if (!describeAnnotation(a, entry, *options.dataset, evalOptions, row, rle).empty()) {
                    ++skipped;
                    continue;
                }
                source.instances.emplace_back(boxFromBbox(*row.bbox), std::move(*rle));
            }
            if (skipped)
                reference.warnings.push_back(source.name + ": " + std::to_string(skipped)
                                             + " instance(s) skipped (crowd, empty or malformed), as birkhoff eval does");
            if (!entry.imageListed)
                continue;  // annotations of an image id the file does not list: nothing to read
            if (!fs::is_regular_file(source.file, ec)) {
                reference.warnings.push_back("no such image file: " + source.file.string());
                continue;
            }
            source.rgb = readEvalImage(source.file);
            if (!source.rgb.empty() && (source.rgb.cols != entry.image.width || source.rgb.rows != entry.image.height)) {
                reference.warnings.push_back(source.file.string() + " is " + std::to_string(source.rgb.cols) + "x"
                                             + std::to_string(source.rgb.rows) + ", the annotations say "
                                             + std::to_string(entry.image.width) + "x"
                                             + std::to_string(entry.image.height) + "; skipped");
                continue;
            }
        } else {
            source.file = pending[n].file;
            source.name = pending[n].name;
            source.rgb = readEvalImage(source.file);
        }
        if (source.rgb.empty()) {
            reference.warnings.push_back("OpenCV cannot decode " + source.file.string() + "; skipped");
            continue;
        }
        progress.report(static_cast<double>(n) / static_cast<double>(pending.size()),
                        "reference: image " + std::to_string(n + 1) + "/" + std::to_string(pending.size()) + " "
                            + source.name);
        reference.images.push_back(referenceImage(original, source, options, progress));
    }
    if (reference.images.empty())
        throw Error((options.dataset ? "none of the images of " + options.dataset->source().string() + " in "
                                           + options.imagesDir.string() + " can be read"
                                     : "the folder " + options.imagesDir.string() + " holds no readable image")
                    + (reference.warnings.empty() ? std::string() : " (first problem: " + reference.warnings.front() + ")"));
    if (reference.promptCount() == 0)
        throw Error("no prompt: the original model's masks are empty at every grid point and there is no annotation");
    reference.seconds = secondsSince(start);
    return reference;
}

AgreementStats agreementStats(std::vector<double> values)
{
    AgreementStats stats;
    stats.count = values.size();
    if (values.empty())
        return stats;
    std::sort(values.begin(), values.end());
    double sum = 0;
    std::size_t high = 0;
    for (const double v : values) {
        sum += v;
        high += v >= 0.9 ? 1 : 0;
    }
    stats.mean = sum / static_cast<double>(values.size());
    stats.median = percentile(values, 0.5);
    stats.p5 = percentile(values, 0.05);
    stats.fractionAbove09 = static_cast<double>(high) / static_cast<double>(values.size());
    return stats;
}

AgreementResult measureAgreement(const AgreementReference& reference, PromptableModel& compressed,
                                 const Progress& progress)
{
    const auto start = Clock::now();
    AgreementResult result;
    std::vector<double> all;
    std::vector<double> bySource[kPromptSourceCount];
    std::vector<double> gtOriginal, gtCompressed;
    for (std::size_t n = 0; n < reference.images.size(); ++n) {
        progress.checkCancelled();
        const ReferenceImage& image = reference.images[n];
        progress.report(static_cast<double>(n) / static_cast<double>(reference.images.size()),
                        "image " + std::to_string(n + 1) + "/" + std::to_string(reference.images.size()) + " "
                            + image.name);
        const cv::Mat rgb = readEvalImage(image.file);
        if (rgb.cols != image.width || rgb.rows != image.height)
            throw Error("cannot read " + image.file.string() + " again as the " + std::to_string(image.width) + "x"
                        + std::to_string(image.height) + " image the reference was built on");
        compressed.setImage(rgb);
        ImageAgreement agreement;
        agreement.name = image.name;
        for (const ReferencePrompt& p : image.prompts) {
            progress.checkCancelled();
            const cv::Mat mask = compressed.predict(p.prompt, p.rule).mask;
            if (mask.cols != image.width || mask.rows != image.height)
                throw Error("the compressed model returned a " + std::to_string(mask.cols) + "x"
                            + std::to_string(mask.rows) + " mask for " + image.file.string());
            const double iou = maskOverlap(decodeRle(p.original), mask).iou();
            agreement.ious.push_back(iou);
            all.push_back(iou);
            bySource[static_cast<int>(p.source)].push_back(iou);
            if (p.source == PromptSource::GtBox) {
                gtOriginal.push_back(p.originalGtIou);
                gtCompressed.push_back(maskOverlap(mask, decodeRle(*p.groundTruth)).iou());
            }
        }
        agreement.all = agreementStats(agreement.ious);
        result.images.push_back(std::move(agreement));
    }
    result.overall = agreementStats(all);
    for (int s = 0; s < kPromptSourceCount; ++s)
        if (!bySource[s].empty())
            result.bySource.emplace_back(static_cast<PromptSource>(s), agreementStats(bySource[s]));
    if (!gtCompressed.empty()) {
        result.miouOriginal = agreementStats(gtOriginal).mean;
        result.miouCompressed = agreementStats(gtCompressed).mean;
    }
    result.seconds = secondsSince(start);
    progress.report(1.0, "agreement measured");
    return result;
}

nlohmann::json agreementStatsToJson(const AgreementStats& stats)
{
    return {{"count", stats.count},
            {"mean", stats.mean},
            {"median", stats.median},
            {"p5", stats.p5},
            {"fraction_iou_ge_0.9", stats.fractionAbove09}};
}

nlohmann::json agreementToJson(const AgreementReference& reference, const AgreementResult& result)
{
    nlohmann::json out = {{"grid", reference.grid},
                          {"prompts", agreementPromptsName(reference.prompts)},
                          {"annotations", reference.annotations},
                          {"overall", agreementStatsToJson(result.overall)}};
    nlohmann::json bySource = nlohmann::json::object();
    for (const auto& [source, stats] : result.bySource)
        bySource[promptSourceName(source)] = agreementStatsToJson(stats);
    out["by_source"] = std::move(bySource);
    if (result.miouCompressed) {
        out["miou_original"] = *result.miouOriginal;
        out["miou_compressed"] = *result.miouCompressed;
    }
    nlohmann::json images = nlohmann::json::array();
    for (std::size_t i = 0; i < result.images.size(); ++i) {
        nlohmann::json image = agreementStatsToJson(result.images[i].all);
        image["file"] = result.images[i].name;
        image["empty_grid_masks"] = reference.images[i].emptyGridMasks;
        images.push_back(std::move(image));
    }
    out["images"] = std::move(images);
    out["warnings"] = reference.warnings;
    out["seconds"] = {{"reference", reference.seconds}, {"compressed", result.seconds}};
    return out;
}

std::string agreementToText(const AgreementReference& reference, const AgreementResult& result)
{
    std::ostringstream out;
    char line[256];
    const auto row = [&](const std::string& name, const AgreementStats& s) {
        std::snprintf(line, sizeof line, "%-28s %7zu %8.4f %8.4f %8.4f %9.4f\n", name.c_str(), s.count, s.mean, s.median,
                      s.p5, s.fractionAbove09);
        out << line;
    };
    out << "mask agreement (IoU original vs compressed), grid " << reference.grid << "x" << reference.grid << ", prompts "
        << agreementPromptsName(reference.prompts) << (reference.annotations ? " + ground truth" : "") << "\n";
    std::snprintf(line, sizeof line, "%-28s %7s %8s %8s %8s %9s\n", "", "prompts", "mean", "median", "p5", "IoU>=0.9");
    out << line;
    row("overall", result.overall);
    for (const auto& [source, stats] : result.bySource)
        row("  " + promptSourceName(source), stats);
    for (const auto& image : result.images)
        row("  " + image.name, image.all);
    if (result.miouCompressed) {
        std::snprintf(line, sizeof line, "gt-box mIoU vs ground truth: original %.4f, compressed %.4f\n",
                      *result.miouOriginal, *result.miouCompressed);
        out << line;
    }
    return out.str();
}

AgreementModels loadAgreementModels(const fs::path& original, const fs::path& compressed, const Progress& progress)
{
    const auto load = [&](const fs::path& path) {
        std::error_code ec;
        if (!fs::is_regular_file(path, ec))
            throw Error("model file " + path.string() + " does not exist");
        return models::loadSamModel(path, {}, progress);
    };
    const std::shared_ptr<models::SamModel> a = load(original);
    const std::shared_ptr<models::SamModel> b = load(compressed);
    const std::string names = original.string() + " (" + a->info.family + ") and " + compressed.string() + " ("
                              + b->info.family + ")";
    if (a->info.family != b->info.family)
        throw Error("the models are of different families: " + names
                    + "; agreement compares a model with a compressed copy of it");
    std::map<std::string, at::Tensor> shapesA;
    for (const auto& [name, tensor] : a->stateDict())
        shapesA.emplace(name, tensor);
    std::size_t matched = 0;
    for (const auto& [name, tensor] : b->stateDict()) {
        const auto it = shapesA.find(name);
        if (it == shapesA.end())
            throw Error("the models have different layouts: " + names + "; tensor " + name + " is only in the second");
        ++matched;
        if (!isReleasedWeight(it->second) && !isReleasedWeight(tensor) && !it->second.sizes().equals(tensor.sizes()))
            throw Error("the models have different layouts: " + names + "; tensor " + name + " is "
                        + shapeText(it->second) + " in the first and " + shapeText(tensor) + " in the second");
    }
    if (matched != shapesA.size())
        throw Error("the models have different layouts: " + names + "; the first has tensors the second lacks");
    AgreementModels out;
    out.originalDescription = a->info.format + " " + a->info.family;
    out.compressedDescription = b->info.format + " " + b->info.family;
    out.original = makeSamEvalModel(a);
    out.compressed = makeSamEvalModel(b);
    return out;
}

}  // namespace birkhoff::eval
