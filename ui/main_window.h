// The main window of Birkhoff Studio.
#pragma once

#include <QMainWindow>

class QLabel;

namespace birkhoff::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

private:
    void showAbout();
    QLabel* runtimeLabel_ = nullptr;
};

}  // namespace birkhoff::ui
