// Persistent settings of Birkhoff Studio (see studio_settings.h).
#include "ui/studio_settings.h"

namespace birkhoff::ui {

StudioSettings::StudioSettings() : settings_(std::make_unique<QSettings>()) {}

StudioSettings::StudioSettings(const QString& iniPath)
    : settings_(std::make_unique<QSettings>(iniPath, QSettings::IniFormat))
{
}

void StudioSettings::addRecentFile(const SettingKey<QStringList>& key, const QString& path)
{
    QStringList files = value(key);
    files.removeAll(path);
    files.prepend(path);
    while (files.size() > kMaxRecentFiles)
        files.removeLast();
    setValue(key, files);
}

void StudioSettings::removeRecentFile(const SettingKey<QStringList>& key, const QString& path)
{
    QStringList files = value(key);
    if (files.removeAll(path) > 0)
        setValue(key, files);
}

void StudioSettings::sync()
{
    settings_->sync();
}

QString StudioSettings::fileName() const
{
    return settings_->fileName();
}

}  // namespace birkhoff::ui
