// `birkhoff-studio`: the desktop application. Parses the command line, sets up the runtime and
// shows the main window (ui/).
#include "ui/main_window.h"

#include "core/util/runtime.h"

#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv)
{
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
    parser.addOption({QStringLiteral("verbose"), QStringLiteral("Print threads, BLAS and devices in use.")});
    parser.process(app);

    birkhoff::configureThreads();
    if (parser.isSet(QStringLiteral("verbose")))
        std::fputs(birkhoff::runtimeReport().c_str(), stderr);

    birkhoff::ui::MainWindow window;
    window.show();
    return QApplication::exec();
}
