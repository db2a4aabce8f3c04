// The image workspace's building blocks without a model: mouse input on a pane becomes prompt
// requests (left = positive, right or Shift = negative, drag = box, click on a point = remove),
// the wheel zooms both panes through the shared view, prompt edits undo and redo, and masks
// become overlays (fill, difference in three colours, IoU).
#include "tests/support/test_registry.h"
#include "ui/image_pane.h"
#include "ui/mask_overlay.h"
#include "ui/mask_prediction.h"
#include "ui/prompt_document.h"
#include "ui/view_transform.h"

#include <QSignalSpy>
#include <QTest>
#include <QWheelEvent>

using namespace birkhoff::ui;

namespace {

QImage testImage()
{
    QImage image(200, 100, QImage::Format_RGB888);
    image.fill(QColor(90, 120, 150));
    return image;
}

QImage rectMask(const QRect& rect, const QSize& size = QSize(200, 100))
{
    QImage mask(size, QImage::Format_Grayscale8);
    mask.fill(0);
    for (int y = rect.top(); y <= rect.bottom(); ++y)
        for (int x = rect.left(); x <= rect.right(); ++x)
            mask.scanLine(y)[x] = 255;
    return mask;
}

}  // namespace

class TestImagePane : public QObject {
    Q_OBJECT
private slots:
    void clicksBecomePrompts()
    {
        ViewTransform view;
        ImagePane pane(QStringLiteral("Original"), Qt::red, &view);
        pane.resize(416, 216);  // image fits at scale 2 with the 8-pixel margins
        pane.setImage(testImage());
        view.fit(QSizeF(200, 100));
        pane.setState(PaneState::Ready);
        pane.show();
        QVERIFY(QTest::qWaitForWindowExposed(&pane));
        QCOMPARE(pane.scale(), 2.0);
        const QPointF imagePoint(50, 25);
        const QPoint at = pane.imageToWidget(imagePoint).toPoint();
        QCOMPARE(pane.widgetToImage(at), imagePoint);

        QSignalSpy points(&pane, &ImagePane::pointRequested);
        QTest::mouseClick(&pane, Qt::LeftButton, {}, at);
        QTest::mouseClick(&pane, Qt::RightButton, {}, at);
        QTest::mouseClick(&pane, Qt::LeftButton, Qt::ShiftModifier, at);
        QCOMPARE(points.count(), 3);
        QCOMPARE(points[0][0].toPointF(), imagePoint);
        QCOMPARE(points[0][1].toInt(), 1);
        QCOMPARE(points[1][1].toInt(), 0);
        QCOMPARE(points[2][1].toInt(), 0);

        // Outside the image: nothing.
        QTest::mouseClick(&pane, Qt::LeftButton, {}, QPoint(2, 2));
        QCOMPARE(points.count(), 3);

        // A click on an existing point removes it instead of adding one.
        PromptSet prompts;
        prompts.points.append(PromptPoint{imagePoint, 1});
        pane.setPrompts(prompts);
        QSignalSpy removals(&pane, &ImagePane::pointRemovalRequested);
        QTest::mouseClick(&pane, Qt::LeftButton, {}, at + QPoint(3, 0));
        QCOMPARE(removals.count(), 1);
        QCOMPARE(removals[0][0].toInt(), 0);
        QCOMPARE(points.count(), 3);

        // A pane still encoding ignores clicks.
        pane.setState(PaneState::Encoding);
        QTest::mouseClick(&pane, Qt::LeftButton, {}, pane.imageToWidget(QPointF(150, 60)).toPoint());
        QCOMPARE(points.count(), 3);
        QVERIFY(pane.stateText().startsWith(QStringLiteral("encoding image")));
    }

    void dragDrawsABox()
    {
        ViewTransform view;
        ImagePane pane(QStringLiteral("Original"), Qt::red, &view);
        pane.resize(416, 216);
        pane.setImage(testImage());
        view.fit(QSizeF(200, 100));
        pane.setState(PaneState::Ready);
        pane.show();
        QVERIFY(QTest::qWaitForWindowExposed(&pane));
        QSignalSpy boxes(&pane, &ImagePane::boxDragged);
        QSignalSpy points(&pane, &ImagePane::pointRequested);
        const QPoint from = pane.imageToWidget(QPointF(20, 10)).toPoint();
        const QPoint to = pane.imageToWidget(QPointF(120, 80)).toPoint();
        QTest::mousePress(&pane, Qt::LeftButton, {}, from);
        QMouseEvent move(QEvent::MouseMove, QPointF(to), pane.mapToGlobal(QPointF(to)), Qt::NoButton, Qt::LeftButton, {});
        QApplication::sendEvent(&pane, &move);
        QTest::mouseRelease(&pane, Qt::LeftButton, {}, to);
        QVERIFY(boxes.count() >= 2);
        QCOMPARE(boxes.last()[1].toBool(), true);
        QCOMPARE(boxes.last()[0].toRectF(), QRectF(QPointF(20, 10), QPointF(120, 80)));
        QCOMPARE(points.count(), 0);
    }

    void wheelZoomsBothPanesAtTheCursor()
    {
        ViewTransform view;
        ImagePane left(QStringLiteral("Original"), Qt::red, &view);
        ImagePane right(QStringLiteral("Compressed"), Qt::blue, &view);
        for (ImagePane* p : {&left, &right}) {
            p->resize(416, 216);
            p->setImage(testImage());
        }
        view.fit(QSizeF(200, 100));
        const QPointF anchor(150, 30);
        const QPointF anchorWidget = left.imageToWidget(anchor);
        QWheelEvent wheel(anchorWidget, left.mapToGlobal(anchorWidget), QPoint(), QPoint(0, 240), Qt::NoButton, {},
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(&left, &wheel);
        QVERIFY(view.zoom() > 1.5);
        // The image point under the cursor stays under the cursor...
        QVERIFY((left.imageToWidget(anchor) - anchorWidget).manhattanLength() < 0.01);
        // ...and the other pane shows exactly the same region.
        QCOMPARE(right.scale(), left.scale());
        QCOMPARE(right.imageToWidget(anchor), left.imageToWidget(anchor));
        view.fit(QSizeF(200, 100));
        QCOMPARE(view.zoom(), 1.0);
    }

    void promptHistoryUndoes()
    {
        PromptDocument doc;
        QSignalSpy changed(&doc, &PromptDocument::promptsChanged);
        doc.addPoint(QPointF(10, 10), 1);
        doc.addPoint(QPointF(20, 20), 0);
        doc.setBox(QRectF(QPointF(50, 40), QPointF(5, 5)));
        QCOMPARE(doc.prompts().elementCount(), 3);
        QCOMPARE(*doc.prompts().box, QRectF(5, 5, 45, 35));
        QCOMPARE(doc.prompts().describe(), QStringLiteral("2 points (1 negative), box"));
        doc.undoStack()->undo();
        QVERIFY(!doc.prompts().box);
        doc.undoStack()->undo();
        QCOMPARE(doc.prompts().points.size(), 1);
        doc.undoStack()->redo();
        QCOMPARE(doc.prompts().points.size(), 2);
        QCOMPARE(doc.pointNear(QPointF(21, 19), 3), 1);
        QCOMPARE(doc.pointNear(QPointF(40, 40), 3), -1);
        doc.removePoint(0);
        QCOMPARE(doc.prompts().points.size(), 1);
        QCOMPARE(doc.prompts().points[0].label, 0);
        doc.clear();
        QVERIFY(doc.prompts().isEmpty());
        doc.clear();  // no-op: nothing to clear, no undo step
        QCOMPARE(doc.undoStack()->count(), 4);
        doc.undoStack()->undo();
        QCOMPARE(doc.prompts().points.size(), 1);
        doc.reset();
        QVERIFY(doc.prompts().isEmpty());
        QCOMPARE(doc.undoStack()->count(), 0);
        QVERIFY(changed.count() >= 8);
    }

    void overlaysAndIou()
    {
        const QImage a = rectMask(QRect(0, 0, 100, 100));   // 10000 px
        const QImage b = rectMask(QRect(50, 0, 100, 100));  // overlaps 5000 px
        QCOMPARE(maskIou(a, b), 5000.0 / 15000.0);
        QCOMPARE(maskIou(a, a), 1.0);
        QCOMPARE(maskIou(a, QImage()), -1.0);
        const MaskDifference d = maskDifference(a, b);
        QCOMPARE(d.onlyA, 5000);
        QCOMPARE(d.onlyB, 5000);
        QCOMPARE(d.both, 5000);

        const QImage fill = fillOverlay(a, QColor(255, 0, 0), 50);
        QCOMPARE(fill.size(), a.size());
        QCOMPARE(qAlpha(fill.pixel(10, 10)), 127);
        QCOMPARE(qAlpha(fill.pixel(150, 10)), 0);
        const QImage diff = differenceOverlay(a, b, 100);
        QCOMPARE(diff.pixelColor(10, 10).rgb(), QColor(255, 127, 14).rgb());   // only original
        QCOMPARE(diff.pixelColor(120, 10).rgb(), QColor(31, 119, 220).rgb());  // only compressed
        QCOMPARE(diff.pixelColor(70, 10).rgb(), QColor(44, 190, 90).rgb());    // both
        QCOMPARE(qAlpha(diff.pixel(199, 99)), 0);
        QVERIFY(differenceOverlay(a, rectMask(QRect(0, 0, 5, 5), QSize(10, 10)), 50).isNull());
    }
};

BIRKHOFF_REGISTER_TEST(TestImagePane);
#include "test_image_pane.moc"
