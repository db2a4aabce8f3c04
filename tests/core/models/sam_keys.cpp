// Synthetic state dicts from the SAM key tables.
#include "tests/core/models/sam_keys.h"

#include "tests/support/test_data.h"

#include <QDir>
#include <QFile>

#include <ATen/ATen.h>

namespace birkhoff::test {

QString samKeysDir()
{
    return sharedPath(QStringLiteral("docs/sam-keys"));
}

QStringList samKeyFiles()
{
    return QDir(samKeysDir()).entryList({QStringLiteral("*.tsv")}, QDir::Files, QDir::Name);
}

std::vector<SamKeyRow> readSamKeys(const QString& fileName)
{
    std::vector<SamKeyRow> rows;
    QFile f(samKeysDir() + QLatin1Char('/') + fileName);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return rows;
    while (!f.atEnd()) {
        const QString line = QString::fromUtf8(f.readLine()).trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')))
            continue;
        const QStringList cols = line.split(QLatin1Char('\t'));
        if (cols.size() < 4)
            continue;
        SamKeyRow row;
        row.key = cols[0].toStdString();
        QString shape = cols[1];
        shape.remove(QLatin1Char('[')).remove(QLatin1Char(']'));
        for (const QString& d : shape.split(QLatin1Char(','), Qt::SkipEmptyParts))
            row.shape.push_back(d.trimmed().toLongLong());
        row.buffer = cols[2] == QStringLiteral("buffer");
        row.moduleClass = cols[3].toStdString();
        rows.push_back(std::move(row));
    }
    return rows;
}

io::StateDict syntheticStateDict(const std::vector<SamKeyRow>& rows)
{
    io::StateDict sd;
    for (const auto& row : rows) {
        std::int64_t numel = 1;
        for (const auto d : row.shape)
            numel *= d;
        sd.insert(row.key, numel <= (1 << 16) ? at::randn(row.shape) : at::randn({1}).expand(row.shape));
    }
    return sd;
}

}  // namespace birkhoff::test
