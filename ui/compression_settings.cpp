// The compression hyperparameters as edited in the studio (see compression_settings.h).
#include "ui/compression_settings.h"

#include <QCryptographicHash>
#include <QRegularExpression>
#include <QStringList>

#include <cmath>

namespace birkhoff::ui {

bool CompressionSettings::operator==(const CompressionSettings& other) const
{
    if (rdTargetRatio || other.rdTargetRatio)
        return rdTargetRatio == other.rdTargetRatio;
    return l == other.l && uList == other.uList && maxRings == other.maxRings && overrides == other.overrides &&
           latticeMode == other.latticeMode &&
           (latticeMode == LatticeMode::GlobalL || latticeMode == LatticeMode::AutoL || target == other.target);
}

QString CompressionSettings::summary() const
{
    if (rdTargetRatio)
        return QStringLiteral("RD ratio %1").arg(*rdTargetRatio, 0, 'g', 4);
    QString text = QStringLiteral("l=%1 U=%2 M=%3").arg(l, 0, 'g', 6).arg(formatUList(uList)).arg(maxRings);
    if (!overrides.isEmpty())
        text += QStringLiteral(" +%1 override%2").arg(overrides.size()).arg(overrides.size() == 1 ? QString() : QStringLiteral("s"));
    switch (latticeMode) {
    case LatticeMode::GlobalL: break;
    case LatticeMode::AutoL: text += QStringLiteral(" auto l"); break;
    case LatticeMode::TargetMae: text += QStringLiteral(" target MAE %1").arg(target, 0, 'g', 4); break;
    case LatticeMode::TargetRatio: text += QStringLiteral(" target ratio %1").arg(target, 0, 'g', 4); break;
    }
    return text;
}

QString CompressionSettings::fileNameTag() const
{
    if (rdTargetRatio)
        return QStringLiteral("rd%1x").arg(*rdTargetRatio, 0, 'g', 4);
    QString tag = QStringLiteral("l%1-U%2-M%3")
                      .arg(l, 0, 'g', 6)
                      .arg(formatUList(uList).replace(QLatin1Char(','), QLatin1Char('_')))
                      .arg(maxRings);
    if (!overrides.isEmpty())
        tag += QStringLiteral("-%1override%2").arg(overrides.size()).arg(overrides.size() == 1 ? QString() : QStringLiteral("s"));
    switch (latticeMode) {
    case LatticeMode::GlobalL: break;
    case LatticeMode::AutoL: tag += QStringLiteral("-autol"); break;
    case LatticeMode::TargetMae: tag += QStringLiteral("-mae%1").arg(target, 0, 'g', 4); break;
    case LatticeMode::TargetRatio: tag += QStringLiteral("-ratio%1x").arg(target, 0, 'g', 4); break;
    }
    return tag;
}

QByteArray CompressionSettings::digest() const
{
    QCryptographicHash hash(QCryptographicHash::Sha1);
    if (rdTargetRatio) {
        hash.addData(QByteArrayLiteral("rd|") + QByteArray::number(*rdTargetRatio, 'g', 17));
        return hash.result().toHex().left(16);
    }
    hash.addData(QByteArray::number(l, 'g', 17));
    hash.addData(QByteArrayLiteral("|"));
    hash.addData(formatUList(uList).toUtf8());
    hash.addData(QByteArrayLiteral("|") + QByteArray::number(maxRings));
    if (latticeMode != LatticeMode::GlobalL)
        hash.addData(QByteArrayLiteral("|mode") + QByteArray::number(static_cast<int>(latticeMode)) + ':' +
                     QByteArray::number(latticeMode == LatticeMode::AutoL ? 0.0 : target, 'g', 17));
    for (auto it = overrides.cbegin(); it != overrides.cend(); ++it) {
        hash.addData(QByteArrayLiteral("|") + it.key().toUtf8());
        hash.addData(it.value().keepRaw ? QByteArrayLiteral(":raw") : QByteArrayLiteral(":enc"));
        if (it.value().l)
            hash.addData(QByteArrayLiteral(":l=") + QByteArray::number(*it.value().l, 'g', 17));
    }
    return hash.result().toHex().left(16);
}

std::optional<QVector<quint32>> parseUList(const QString& text, QString* error)
{
    static const QRegularExpression separators(QStringLiteral("[,;\\s]+"));
    const QStringList parts = text.split(separators, Qt::SkipEmptyParts);
    if (parts.isEmpty()) {
        if (error)
            *error = QStringLiteral("enter at least one U value (a perfect square such as 1225)");
        return std::nullopt;
    }
    QVector<quint32> values;
    for (const QString& part : parts) {
        bool ok = false;
        const qulonglong value = part.toULongLong(&ok);
        const auto root = static_cast<qulonglong>(std::llround(std::sqrt(static_cast<double>(value))));
        if (!ok || value < 4 || value > 65536 || root * root != value) {
            if (error)
                *error = QStringLiteral("U = '%1' is not a perfect square between 4 and 65536 "
                                        "(e.g. 1225 = 35x35, 1600 = 40x40)")
                             .arg(part);
            return std::nullopt;
        }
        if (!values.contains(static_cast<quint32>(value)))
            values.append(static_cast<quint32>(value));
    }
    return values;
}

QString formatUList(const QVector<quint32>& uList)
{
    QStringList parts;
    for (quint32 u : uList)
        parts.append(QString::number(u));
    return parts.join(QLatin1Char(','));
}

unsigned indexBits(quint32 U, int K)
{
    const quint64 maxIndex = static_cast<quint64>(U) * static_cast<quint64>(K + 1) - 1;
    unsigned bits = 0;
    for (quint64 v = maxIndex; v != 0; v >>= 1)
        ++bits;
    return bits == 0 ? 1 : bits;
}

QString bitsSummary(const QVector<quint32>& uList, int maxRings)
{
    QStringList lines;
    for (quint32 u : uList) {
        const auto side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(u))));
        const unsigned low = indexBits(u, 0);
        const unsigned high = indexBits(u, maxRings);
        const QString bitsRange = low == high ? QString::number(low) : QStringLiteral("%1-%2").arg(low).arg(high);
        const QString weightRange = low == high ? QString::number(low / 2.0)
                                                : QStringLiteral("%1-%2").arg(low / 2.0).arg(high / 2.0);
        lines.append(QStringLiteral("U=%1 (%2x%2): %3 bits/index = %4 bits/weight (K=0..%5)")
                         .arg(u)
                         .arg(side)
                         .arg(bitsRange, weightRange)
                         .arg(maxRings));
    }
    return lines.join(QLatin1Char('\n'));
}

}  // namespace birkhoff::ui
