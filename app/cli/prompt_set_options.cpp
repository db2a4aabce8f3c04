// The prompt-set options of `birkhoff agreement` and `birkhoff frontier` (see prompt_set_options.h).
#include "cli/prompt_set_options.h"

#include "core/util/error.h"

#include <filesystem>

namespace birkhoff::cli {

namespace fs = std::filesystem;

PromptSetOptions::PromptSetOptions(QCommandLineParser& parser, const QString& annotationsHelp)
    : images_(QStringLiteral("images"),
              QStringLiteral("Folder of images (with --annotations: the images' folder, default the annotations' folder)."),
              QStringLiteral("DIR")),
      annotations_(QStringLiteral("annotations"), annotationsHelp, QStringLiteral("ANN")),
      grid_(QStringLiteral("grid"),
            QStringLiteral("Grid points per side, 1..%1 (default %2).")
                .arg(eval::kMaxAgreementGrid)
                .arg(eval::kDefaultAgreementGrid),
            QStringLiteral("G"), QString::number(eval::kDefaultAgreementGrid)),
      prompt_(QStringLiteral("prompt"), QStringLiteral("Grid prompts: points, boxes or both (default both)."),
              QStringLiteral("P"), QStringLiteral("both")),
      limit_(QStringLiteral("limit"), QStringLiteral("Use at most N images."), QStringLiteral("N"))
{
    parser.addOptions({images_, annotations_, grid_, prompt_, limit_});
}

QString PromptSetOptions::read(const QCommandLineParser& parser, eval::AgreementOptions& options) const
{
    if (!parser.isSet(images_) && !parser.isSet(annotations_))
        return QStringLiteral("give a folder of images with --images DIR or a dataset with --annotations ANN");
    bool ok = false;
    options.grid = parser.value(grid_).toInt(&ok);
    if (!ok || options.grid < 1 || options.grid > eval::kMaxAgreementGrid)
        return QStringLiteral("--grid must be an integer from 1 to %1 (got '%2')")
            .arg(eval::kMaxAgreementGrid)
            .arg(parser.value(grid_));
    try {
        options.prompts = eval::parseAgreementPrompts(parser.value(prompt_).toStdString());
    } catch (const Error& e) {
        return QString::fromUtf8(e.what());
    }
    if (parser.isSet(limit_)) {
        const qlonglong n = parser.value(limit_).toLongLong(&ok);
        if (!ok || n <= 0)
            return QStringLiteral("--limit must be a positive integer");
        options.limit = static_cast<std::size_t>(n);
    }
    return {};
}

std::string PromptSetOptions::open(const QCommandLineParser& parser, eval::AgreementOptions& options,
                                   std::optional<eval::Dataset>& dataset) const
{
    if (!parser.isSet(annotations_)) {
        options.imagesDir = parser.value(images_).toStdString();
        return options.imagesDir.string();
    }
    const fs::path annotationsPath = parser.value(annotations_).toStdString();
    dataset = eval::Dataset::open(annotationsPath);
    options.dataset = &*dataset;
    options.imagesDir = parser.isSet(images_)               ? fs::path(parser.value(images_).toStdString())
                        : fs::is_directory(annotationsPath) ? annotationsPath
                                                            : annotationsPath.parent_path();
    return annotationsPath.string();
}

}  // namespace birkhoff::cli
