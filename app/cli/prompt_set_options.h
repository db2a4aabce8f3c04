// The prompt-set options `birkhoff agreement` and `birkhoff frontier` share (--images,
// --annotations, --grid, --prompt, --limit): declared, validated and opened in one place.
#pragma once

#include "core/eval/agreement.h"
#include "core/eval/dataset.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QString>

#include <optional>
#include <string>

namespace birkhoff::cli {

class PromptSetOptions {
public:
    /// Adds the five options to `parser`; `annotationsHelp` says what the annotations add for the command.
    PromptSetOptions(QCommandLineParser& parser, const QString& annotationsHelp);

    /// Validates the parsed values into `options` (grid, prompt kind, limit). Returns the usage
    /// error to print (neither --images nor --annotations, a grid outside 1..kMaxAgreementGrid,
    /// an unknown prompt kind, a limit that is not a positive integer), or an empty string.
    QString read(const QCommandLineParser& parser, eval::AgreementOptions& options) const;

    /// Opens the dataset (with --annotations) into `dataset` and sets options.dataset and
    /// options.imagesDir (--images, else the annotations' folder). Returns the prompt set's name:
    /// the annotations path or the images folder. @throws Error for an unreadable dataset.
    std::string open(const QCommandLineParser& parser, eval::AgreementOptions& options,
                     std::optional<eval::Dataset>& dataset) const;

private:
    QCommandLineOption images_;
    QCommandLineOption annotations_;
    QCommandLineOption grid_;
    QCommandLineOption prompt_;
    QCommandLineOption limit_;
};

}  // namespace birkhoff::cli
