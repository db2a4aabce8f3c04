// Human-readable numbers (see text_format.h).
#include "ui/text_format.h"

namespace birkhoff::ui {

QString formatByteSize(quint64 bytes)
{
    const double b = static_cast<double>(bytes);
    if (b >= 1024.0 * 1024.0 * 1024.0)
        return QStringLiteral("%1 GiB").arg(b / (1024.0 * 1024.0 * 1024.0), 0, 'f', 2);
    if (b >= 1024.0 * 1024.0)
        return QStringLiteral("%1 MiB").arg(b / (1024.0 * 1024.0), 0, 'f', 1);
    if (b >= 1024.0)
        return QStringLiteral("%1 KiB").arg(b / 1024.0, 0, 'f', 1);
    return QStringLiteral("%1 B").arg(bytes);
}

QString formatCount(qint64 count)
{
    const double c = static_cast<double>(count);
    if (c >= 1e9)
        return QStringLiteral("%1 G").arg(c / 1e9, 0, 'f', 2);
    if (c >= 1e6)
        return QStringLiteral("%1 M").arg(c / 1e6, 0, 'f', 1);
    if (c >= 1e3)
        return QStringLiteral("%1 k").arg(c / 1e3, 0, 'f', 1);
    return QString::number(count);
}

QString formatMilliseconds(double ms)
{
    return ms >= 1000.0 ? QStringLiteral("%1 s").arg(ms / 1000.0, 0, 'f', 2) : QStringLiteral("%1 ms").arg(ms, 0, 'f', 1);
}

QString formatRatio(double ratio)
{
    return QStringLiteral("%1x").arg(ratio, 0, 'f', 2);
}

QString formatPredictedIou(double value)
{
    if (value >= 0.0 && value <= 1.0)
        return QStringLiteral("predicted IoU %1").arg(value, 0, 'f', 3);
    return QStringLiteral("model score %1").arg(value, 0, 'f', 3);
}

}  // namespace birkhoff::ui
