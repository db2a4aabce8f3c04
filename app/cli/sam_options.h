// Command-line pieces shared by the SAM sub-commands (segment, compare, bench model): the
// --model/--config options with the default-model fallback, and prompt options
// (--point x,y[,label] repeated, --box x0,y0,x1,y1, --multimask, --single-mask-rule).
#pragma once

// LibTorch headers must come before Qt's (Qt's "slots" macro breaks them).
#include "core/models/model_file.h"
#include "core/predict/predictor.h"

#include <QCommandLineParser>
#include <QString>

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <memory>
#include <optional>

namespace birkhoff::cli {

/// Adds --model M and --config FILE.
void addModelOptions(QCommandLineParser& parser);
/// Adds --point, --box, --multimask, --single-mask-rule and --hq-token-only.
void addPromptOptions(QCommandLineParser& parser);

/// --model, or the installed default model. @throws Error when neither exists.
std::filesystem::path modelPathOption(const QCommandLineParser& parser);

/// Opens a model file for the CLI (original checkpoints: .pth/.pt or safetensors, or compressed
/// files; config.json beside it or `configPath`) with its runnable model, and prints the
/// loader's notes (what it renamed, ignored or assumed) on stderr, one "note: FILE: ..." line
/// each. @throws Error from the loader, or naming the file when its layout cannot run.
models::ModelFile openRunnableModelFile(const std::filesystem::path& path,
                                        const std::optional<std::filesystem::path>& configPath);

/// Loads a model file for the CLI (original checkpoints: .pth/.pt or safetensors; config.json
/// beside it or `configPath`) and prints the loader's notes (what it renamed, ignored or
/// assumed) on stderr, one "note: FILE: ..." line each. @throws Error from the loader.
std::shared_ptr<models::SamModel> loadModelFile(const std::filesystem::path& path,
                                                const std::optional<std::filesystem::path>& configPath);

/// The prompt and mask-output choice from the prompt options; `output` stays empty when neither
/// --multimask nor --single-mask-rule is given (the model's family then decides, see
/// maskOutputFor). Returns false and sets `error` for malformed values (a usage error); range
/// checks against the image happen in predict().
bool parsePromptOptions(const QCommandLineParser& parser, predict::Prompt& prompt,
                        std::optional<predict::MaskOutput>& output, QString& error);

/// The chosen mask output, or the family default of `model` (predict::defaultSingleMaskOutput).
predict::MaskOutput maskOutputFor(const std::optional<predict::MaskOutput>& chosen, const models::SamModel& model);

/// JSON description of a prompt (original-image pixels).
nlohmann::json promptJson(const predict::Prompt& prompt);

/// Index of the mask to report as "the" answer: best predicted IoU among the returned masks.
std::size_t chosenMask(const predict::Prediction& prediction);

}  // namespace birkhoff::cli
