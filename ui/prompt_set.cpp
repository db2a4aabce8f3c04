// Prompt points and box shared by both panes (see prompt_set.h).
#include "ui/prompt_set.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

namespace birkhoff::ui {

QString PromptSet::describe() const
{
    if (isEmpty())
        return QStringLiteral("no prompts");
    int negatives = 0;
    for (const PromptPoint& p : points)
        negatives += p.label == 0 ? 1 : 0;
    QString text;
    if (!points.isEmpty()) {
        text = points.size() == 1 ? QStringLiteral("1 point") : QStringLiteral("%1 points").arg(points.size());
        if (negatives > 0)
            text += QStringLiteral(" (%1 negative)").arg(negatives);
    }
    if (box)
        text += text.isEmpty() ? QStringLiteral("box") : QStringLiteral(", box");
    return text;
}

QByteArray PromptSet::toJson() const
{
    QJsonArray pointArray;
    for (const PromptPoint& p : points)
        pointArray.append(QJsonArray{p.position.x(), p.position.y(), p.label});
    QJsonObject root{{QStringLiteral("points"), pointArray}};
    if (box)
        root.insert(QStringLiteral("box"), QJsonArray{box->left(), box->top(), box->right(), box->bottom()});
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

std::optional<PromptSet> PromptSet::fromJson(const QByteArray& json, QString* error)
{
    const auto fail = [error](const QString& message) -> std::optional<PromptSet> {
        if (error)
            *error = message;
        return std::nullopt;
    };
    QJsonParseError parse{};
    const QJsonDocument document = QJsonDocument::fromJson(json, &parse);
    if (parse.error != QJsonParseError::NoError)
        return fail(QStringLiteral("not JSON: %1 at offset %2").arg(parse.errorString()).arg(parse.offset));
    if (!document.isObject())
        return fail(QStringLiteral("a prompt set is a JSON object with \"points\" and optionally \"box\""));
    const QJsonObject root = document.object();
    const auto coordinate = [](const QJsonValue& v, double& out) {
        out = v.toDouble(std::nan(""));
        return v.isDouble() && std::isfinite(out) && out >= 0 && out <= 1e6;
    };
    PromptSet set;
    const QJsonValue pointsValue = root.value(QStringLiteral("points"));
    if (!pointsValue.isUndefined() && !pointsValue.isArray())
        return fail(QStringLiteral("\"points\" must be an array of [x, y, label]"));
    const QJsonArray pointArray = pointsValue.toArray();
    if (pointArray.size() > kMaxSavedPoints)
        return fail(QStringLiteral("%1 points; at most %2 are read").arg(pointArray.size()).arg(kMaxSavedPoints));
    for (qsizetype i = 0; i < pointArray.size(); ++i) {
        const QJsonArray p = pointArray[i].toArray();
        double x = 0;
        double y = 0;
        if (p.size() != 3 || !coordinate(p[0], x) || !coordinate(p[1], y))
            return fail(QStringLiteral("point %1 is not [x, y, label] with pixel coordinates in [0, 1e6]").arg(i + 1));
        const QJsonValue label = p[2];
        if (!label.isDouble() || (label.toDouble() != 0.0 && label.toDouble() != 1.0))
            return fail(QStringLiteral("point %1 has label %2; labels are 1 (positive) or 0 (negative)")
                            .arg(i + 1)
                            .arg(label.isDouble() ? QString::number(label.toDouble()) : QStringLiteral("that is not a number")));
        set.points.append(PromptPoint{QPointF(x, y), label.toInt()});
    }
    const QJsonValue boxValue = root.value(QStringLiteral("box"));
    if (!boxValue.isUndefined() && !boxValue.isNull()) {
        const QJsonArray b = boxValue.toArray();
        double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
        if (b.size() != 4 || !coordinate(b[0], x0) || !coordinate(b[1], y0) || !coordinate(b[2], x1) ||
            !coordinate(b[3], y1))
            return fail(QStringLiteral("\"box\" is not [x0, y0, x1, y1] with pixel coordinates in [0, 1e6]"));
        const QRectF box = QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized();
        if (box.width() <= 0 || box.height() <= 0)
            return fail(QStringLiteral("\"box\" is empty"));
        set.box = box;
    }
    return set;
}

}  // namespace birkhoff::ui
