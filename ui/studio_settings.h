// Persistent settings of Birkhoff Studio: one typed helper over QSettings, so no string key is
// scattered through the widgets. Each setting is a SettingKey<T> (name + default) declared in
// namespace settings below; tests point the helper at a temporary INI file.
#pragma once

#include <QByteArray>
#include <QSettings>
#include <QString>
#include <QStringList>
#include <QVariant>

#include <memory>

namespace birkhoff::ui {

/// A typed settings key: its QSettings name and the value used when nothing (or something of
/// another type) is stored.
template <typename T>
struct SettingKey {
    const char* name;
    T defaultValue;
};

class StudioSettings {
public:
    /// The user's settings in the platform's location (organisation and application names are
    /// set by main()).
    StudioSettings();
    /// Settings kept in the INI file `iniPath` (tests, portable installs).
    explicit StudioSettings(const QString& iniPath);
    StudioSettings(const StudioSettings&) = delete;
    StudioSettings& operator=(const StudioSettings&) = delete;

    /// The stored value, or key.defaultValue when none is stored or it does not convert to T.
    template <typename T>
    T value(const SettingKey<T>& key) const
    {
        const QVariant stored = settings_->value(QLatin1String(key.name));
        if (!stored.isValid() || !stored.canConvert<T>())
            return key.defaultValue;
        return stored.value<T>();
    }

    template <typename T>
    void setValue(const SettingKey<T>& key, const T& value)
    {
        settings_->setValue(QLatin1String(key.name), QVariant::fromValue(value));
    }

    /// Puts `path` first in the recent-files list `key` (removing duplicates) and keeps at most
    /// kMaxRecentFiles entries.
    void addRecentFile(const SettingKey<QStringList>& key, const QString& path);
    /// Removes `path` from the recent-files list `key` (e.g. after it failed to open).
    void removeRecentFile(const SettingKey<QStringList>& key, const QString& path);

    /// Writes pending changes to storage.
    void sync();
    /// Where the settings live (file path or registry path).
    QString fileName() const;

    static constexpr int kMaxRecentFiles = 10;

private:
    std::unique_ptr<QSettings> settings_;
};

/// Every setting of the studio.
namespace settings {
inline const SettingKey<QStringList> kRecentModels{"files/recentModels", {}};
inline const SettingKey<QStringList> kRecentImages{"files/recentImages", {}};
/// The folder last used for each kind of file (FileKind in main_window.cpp): models are not
/// looked for where images are, nor images in the models folder.
inline const SettingKey<QString> kLastModelDirectory{"files/lastModelDirectory", {}};
inline const SettingKey<QString> kLastCompressedDirectory{"files/lastCompressedDirectory", {}};
inline const SettingKey<QString> kLastImageDirectory{"files/lastImageDirectory", {}};
inline const SettingKey<QString> kLastExportDirectory{"files/lastExportDirectory", {}};
/// False until the first start has offered the default model.
inline const SettingKey<bool> kFirstStartDone{"files/firstStartDone", false};

inline const SettingKey<QByteArray> kWindowGeometry{"window/geometry", {}};
inline const SettingKey<QByteArray> kWindowState{"window/state", {}};

inline const SettingKey<int> kOverlayOpacity{"overlay/opacity", 45};   ///< percent
inline const SettingKey<bool> kOverlayOutline{"overlay/outline", false};
inline const SettingKey<int> kOverlayView{"overlay/view", 0};          ///< OverlayView value
inline const SettingKey<bool> kLivePreview{"overlay/livePreview", true};
inline const SettingKey<bool> kMultimask{"overlay/multimask", true};

inline const SettingKey<double> kCompressionL{"compression/l", 0.1};
inline const SettingKey<QString> kCompressionU{"compression/U", QStringLiteral("1225,1600")};
inline const SettingKey<int> kCompressionM{"compression/M", 3};

inline const SettingKey<QString> kDevice{"runtime/device", QStringLiteral("cpu")};
inline const SettingKey<int> kPlotMetric{"plots/secondMetric", 0};  ///< 0 bits/weight, 1 ratio
}  // namespace settings

}  // namespace birkhoff::ui
