// The rate-distortion frontier of one checkpoint: codecs x settings (Birkhoff, and the rtn / hqq
// baselines of core/codec/baseline_quant.h), each compressed in memory exactly as its file would
// be, sized by its real file size, run (Birkhoff on HyperLinear, baselines dequantized as their
// files load) and measured with the mask agreement of core/eval/agreement.h against one
// reference prompt set. Results go to OUT/frontier.json, OUT/frontier.csv and OUT/frontier.png,
// all rewritten atomically after every point, so an interrupted sweep keeps every finished
// point and `resume` continues it.
#pragma once

#include "core/eval/agreement.h"
#include "core/io/checkpoint.h"
#include "core/util/progress.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::eval {

/// One point of the sweep, parsed from its spec:
///   rtn:BITS:GROUP and hqq:BITS:GROUP   GROUP a positive size or "pc" (per output channel);
///   birkhoff[:OPTION]...                OPTION l=L, U=U1+U2..., M=M, auto-l or ratio=R
///                                       (the compressor's --target-ratio); no option: paper defaults;
///   birkhoff-rd[:OPTION]...             the rate-distortion codec (--rd): step=S, ratio=R or M=M.
struct FrontierPoint {
    std::string codec;     ///< "birkhoff", "birkhoff-rd", "rtn" or "hqq"
    std::string spec;      ///< canonical spec, the point's identity in resumed files
    std::string settings;  ///< human-readable settings ("int4 g64", "l=0.1 U=1225,1600 M=3", "target ratio 6")
};

/// Parses one spec. @throws Error naming the spec and what is wrong (bits outside 2..8 included).
FrontierPoint parseFrontierPoint(const std::string& spec);

/// The default sweep: 3 paper-lattice Birkhoff settings (paper defaults, auto l, target ratio 6;
/// the paper's lattice cannot reach 8x on SAM), 4 rate-distortion ones (target ratios 6, 8, 10,
/// 12), 5 rtn (int8 per channel, int6 g64, int4 g64, int4 g32, int3 g32) and 4 hqq (int4 g64,
/// int4 g32, int3 g64, int3 g32) points.
std::vector<std::string> defaultFrontierSpecs();

/// One measured point.
struct FrontierRow {
    std::string codec;
    std::string spec;
    std::string settings;
    std::uint64_t fileBytes = 0;  ///< exact size of the file this point writes
    double ratio = 0;             ///< original checkpoint file size / fileBytes
    double bitsPerWeight = 0;     ///< 8 fileBytes / checkpoint elements
    double weightMae = 0;         ///< mean |w - restored w| over all floating-point checkpoint elements
    AgreementStats agreement;  ///< over every prompt
    /// The same per prompt source ("grid-point", "grid-box", "gt-box", "gt-point"), sources present.
    std::vector<std::pair<std::string, AgreementStats>> bySource;
    std::optional<double> miouOriginal;  ///< gt-box prompts (annotations only)
    std::optional<double> miouCompressed;
    double compressSeconds = 0;
    double measureSeconds = 0;
    std::vector<std::string> notes;  ///< fallbacks and what the codec said
};

struct FrontierOptions {
    std::filesystem::path model;
    AgreementOptions agreement;
    std::string promptSetName;       ///< the images folder or annotations file, recorded for resume
    std::vector<FrontierPoint> points;
    std::filesystem::path outputDir;  ///< created if missing
    bool resume = false;              ///< keep the finished points of OUT/frontier.json
    bool overwrite = false;           ///< replace an existing OUT/frontier.json
};

struct FrontierResult {
    std::vector<FrontierRow> rows;  ///< in the order of options.points
    std::size_t resumed = 0;        ///< rows taken from the existing file
    AgreementReference reference;
};

/// Compresses one point in memory exactly as its file would be (the checkpoint at `modelPath`,
/// its config.json overrides or null) and measures it against `reference` built from the
/// original model: what runFrontier does per point, for callers with their own loop (the
/// studio's Frontier tab). Progress: compressing in the first half, measuring in the second.
/// @throws Error for a point the codec refuses (an unreachable target ratio included);
///   CancelledError.
FrontierRow measureFrontierPoint(const FrontierPoint& point, const io::Checkpoint& checkpoint,
                                 const std::filesystem::path& modelPath, const nlohmann::json* configOverrides,
                                 const AgreementReference& reference, const Progress& progress = {});

/// Runs the sweep. `onRow` (optional) is called after each measured point.
/// @throws Error for an existing output without resume/overwrite, an output of another run on
///         resume (model, prompt set, grid), bad checkpoints, or I/O failures; CancelledError
///         (every finished point stays in the output folder).
FrontierResult runFrontier(const FrontierOptions& options, const Progress& progress = {},
                           const std::function<void(const FrontierRow&)>& onRow = {});

/// The three output files of a frontier in `dir`.
std::filesystem::path frontierJsonPath(const std::filesystem::path& dir);
std::filesystem::path frontierCsvPath(const std::filesystem::path& dir);
std::filesystem::path frontierPlotPath(const std::filesystem::path& dir);

nlohmann::json frontierRowToJson(const FrontierRow& row);
/// @throws Error naming the missing or mistyped field.
FrontierRow frontierRowFromJson(const nlohmann::json& json);
/// The CSV text (header + one line per row).
std::string frontierCsv(const std::vector<FrontierRow>& rows);
/// Mean agreement over the box prompts of a row (gt-box and grid-box together), if it has any.
std::optional<double> boxPromptMean(const FrontierRow& row);
/// A fixed-width table of the rows for the terminal (with a "boxes" column: boxPromptMean).
std::string frontierTable(const std::vector<FrontierRow>& rows);

/// The frontier plot as a BGR image: compression ratio on x, mean agreement on y, one polyline
/// per codec (points sorted by ratio), a legend and `title`.
cv::Mat renderFrontierPlot(const std::vector<FrontierRow>& rows, const std::string& title);

}  // namespace birkhoff::eval
