// Plots and the per-layer table fed by a synthetic report: bars in model order coloured by path
// on a log MAE axis with the threshold lines, hover text, metric switch, selection, override
// requests; the frontier (Pareto front, click restores settings); the table model (checked by
// QAbstractItemModelTester), CSV; PNG / PDF export.
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/synthetic_report.h"
#include "ui/frontier_plot.h"
#include "ui/layer_bar_plot.h"
#include "ui/layer_table_model.h"
#include "ui/layer_table_view.h"
#include "ui/plot_export.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QWheelEvent>
#include <QFile>
#include <QImage>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>

#include <cmath>

using namespace birkhoff::ui;
using birkhoff::test::syntheticReport;

class TestPlots : public QObject {
    Q_OBJECT
private slots:
    void maeBarsFollowTheReport()
    {
        LayerBarPlot plot(LayerBarPlot::Metric::Mae);
        plot.resize(600, 300);
        plot.setReport(syntheticReport());
        const QVector<double> values = plot.plottedValues();
        QCOMPARE(values.size(), 5);
        QCOMPARE(values[0], 2e-4);
        QCOMPARE(values[1], 4e-4);
        QVERIFY(std::isnan(values[2]));  // raw: no error bar on the log axis
        QCOMPARE(plot.yAxis->scaleType(), QCPAxis::stLogarithmic);
        // Bars sit in model order on the x axis, one QCPBars per path.
        auto* hyper = qobject_cast<QCPBars*>(plot.plottable(0));
        QVERIFY(hyper);
        QCOMPARE(hyper->data()->size(), 2);
        QCOMPARE(hyper->data()->at(1)->key, 1.0);
        // Threshold lines at the codec's MAE limits are inside the visible range.
        QVERIFY(plot.yAxis->range().contains(LayerBarPlot::kMaeStop));
        QVERIFY(plot.yAxis->range().contains(LayerBarPlot::kMaeRawFallback));
        // Changed data changes the plot.
        plot.setReport(syntheticReport(3.0));
        QCOMPARE(plot.plottedValues()[0], 6e-4);
    }

    void tooltipNamesTheLayer()
    {
        LayerBarPlot plot(LayerBarPlot::Metric::Mae);
        plot.setReport(syntheticReport());
        const QString tip = plot.tooltipForRow(1);
        for (const char* part : {"blocks.0.mlp.lin1.weight", "256x64", "U = 1600", "K = 2", "MAE 4.000e-04", "12 bits/index"})
            QVERIFY2(tip.contains(QLatin1String(part)), qPrintable(tip));
        QVERIFY(plot.tooltipForRow(2).contains(QStringLiteral("stored raw")));
        QVERIFY(plot.tooltipForRow(7).isEmpty());
    }

    void metricSwitchAndClicks()
    {
        LayerBarPlot plot(LayerBarPlot::Metric::BitsPerWeight);
        plot.resize(600, 300);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        plot.setReport(syntheticReport());
        QCOMPARE(plot.plottedValues()[2], 32.0);
        plot.setMetric(LayerBarPlot::Metric::Ratio);
        QCOMPARE(plot.plottedValues()[2], 1.0);
        QVERIFY(plot.plottedValues()[0] > 5.0);
        plot.replot();
        QSignalSpy clicked(&plot, &LayerBarPlot::layerClicked);
        QSignalSpy menu(&plot, &LayerBarPlot::layerContextMenuRequested);
        const QPoint bar(static_cast<int>(plot.xAxis->coordToPixel(1)), static_cast<int>(plot.yAxis->coordToPixel(1.0)));
        QCOMPARE(plot.rowAt(bar), 1);
        QTest::mouseClick(&plot, Qt::LeftButton, {}, bar);
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked.first().first().toString(), QStringLiteral("blocks.0.mlp.lin1.weight"));
        emit plot.customContextMenuRequested(bar);
        QCOMPARE(menu.count(), 1);
        QCOMPARE(menu.first().first().toString(), QStringLiteral("blocks.0.mlp.lin1.weight"));
    }

    void blockTicksZoomPanAndCsv()
    {
        QCOMPARE(LayerBarPlot::blockOf(QStringLiteral("image_encoder.layers.1.blocks.0.attn.qkv.weight")),
                 QStringLiteral("image_encoder.layers.1"));
        QCOMPARE(LayerBarPlot::blockOf(QStringLiteral("image_encoder.blocks.11.mlp.lin2.weight")),
                 QStringLiteral("image_encoder.blocks.11"));
        QCOMPARE(LayerBarPlot::blockOf(QStringLiteral("image_encoder.patch_embed.proj.weight")),
                 QStringLiteral("image_encoder.patch_embed"));
        QCOMPARE(LayerBarPlot::blockOf(QStringLiteral("mask_decoder.iou_token.weight")), QStringLiteral("mask_decoder.iou_token"));
        QCOMPARE(LayerBarPlot::blockOf(QStringLiteral("image_encoder.patch_embed.seq.0.c.weight")),
                 QStringLiteral("image_encoder.patch_embed"));
        QCOMPARE(LayerBarPlot::blockOf(QStringLiteral("image_encoder.neck.2.weight")), QStringLiteral("image_encoder.neck"));
        QCOMPARE(LayerBarPlot::blockOf(QStringLiteral("image_encoder.trunk.blocks.5.attn.qkv.weight")),
                 QStringLiteral("image_encoder.trunk.blocks.5"));
        QCOMPARE(LayerBarPlot::blockLabel(QStringLiteral("image_encoder.blocks.3"), true), QStringLiteral("enc b3"));
        QCOMPARE(LayerBarPlot::blockLabel(QStringLiteral("image_encoder.blocks.3"), false), QStringLiteral("b3"));
        QCOMPARE(LayerBarPlot::blockLabel(QStringLiteral("mask_decoder.transformer.layers.0"), true), QStringLiteral("dec l0"));
        QCOMPARE(LayerBarPlot::blockLabel(QStringLiteral("image_encoder.neck"), false), QStringLiteral("neck"));

        LayerBarPlot plot(LayerBarPlot::Metric::BitsPerWeight);
        plot.resize(600, 300);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        const LayerReport report = syntheticReport();
        plot.setReport(report);
        plot.replot();
        // One tick per block start, labelled.
        auto ticker = plot.xAxis->ticker().dynamicCast<QCPAxisTickerText>();
        QVERIFY(ticker);
        QVERIFY(!ticker->ticks().isEmpty());
        QCOMPARE(ticker->ticks().firstKey(), 0.0);

        // The wheel zooms the layer axis; a double click shows every layer again.
        const QCPRange all = plot.xAxis->range();
        const QPointF centre(plot.axisRect()->rect().center());
        QWheelEvent wheel(centre, plot.mapToGlobal(centre), QPoint(), QPoint(0, 240), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(&plot, &wheel);
        QVERIFY2(plot.xAxis->range().size() < all.size() * 0.9,
                 qPrintable(QStringLiteral("%1 -> %2").arg(all.size()).arg(plot.xAxis->range().size())));
        plot.showAllLayers();
        QCOMPARE(plot.xAxis->range().lower, all.lower);
        QCOMPARE(plot.xAxis->range().upper, all.upper);

        // A drag pans instead of selecting the bar it started on.
        plot.replot();
        QSignalSpy clicked(&plot, &LayerBarPlot::layerClicked);
        const QPoint bar(static_cast<int>(plot.xAxis->coordToPixel(1)), static_cast<int>(plot.yAxis->coordToPixel(1.0)));
        QTest::mousePress(&plot, Qt::LeftButton, {}, bar);
        QTest::mouseMove(&plot, bar + QPoint(60, 0));
        QTest::mouseRelease(&plot, Qt::LeftButton, {}, bar + QPoint(60, 0));
        QCOMPARE(clicked.count(), 0);

        const QStringList csv = plot.toCsv().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(csv.first(), QStringLiteral("layer,path,bits_per_weight"));
        QCOMPARE(csv.size(), report.rows.size() + 1);
        QCOMPARE(csv[3], QStringLiteral("blocks.0.mlp.lin2.weight,%1,32").arg(layerPathName(LayerPath::Raw)));
    }

    void frontierKeepsBestAndRestoresSettings()
    {
        FrontierPlot plot;
        plot.resize(500, 300);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        CompressionSettings a;
        CompressionSettings b;
        b.l = 0.05;
        CompressionSettings c;
        c.maxRings = 1;
        plot.addPoint({a, 4e-4, 5.0, true});
        plot.addPoint({b, 2e-4, 4.5, true});
        plot.addPoint({c, 5e-4, 4.0, true});   // dominated by a (worse MAE, lower ratio)
        plot.addPoint({a, 4.2e-4, 5.1, false}); // the finished compression replaces a's estimate
        plot.addPoint({a, 1.0, 1.0, true});     // ...and is not replaced by a later estimate
        QCOMPARE(plot.points().size(), 3);
        QCOMPARE(plot.points()[0].estimate, false);
        QCOMPARE(plot.points()[0].ratio, 5.1);
        QCOMPARE(plot.paretoFront(), (QVector<int>{1, 0}));
        plot.setCurrentSettings(b);
        plot.replot();
        QSignalSpy chosen(&plot, &FrontierPlot::settingsChosen);
        const QPoint at(static_cast<int>(plot.xAxis->coordToPixel(2e-4)), static_cast<int>(plot.yAxis->coordToPixel(4.5)));
        QCOMPARE(plot.pointAt(at), 1);
        QTest::mouseClick(&plot, Qt::LeftButton, {}, at);
        QCOMPARE(chosen.count(), 1);
        QCOMPARE(chosen.first().first().value<CompressionSettings>(), b);
        const QStringList csv = plot.toCsv().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(csv.size(), 4);
        QCOMPARE(csv[1], QStringLiteral("\"l=0.1 U=1225,1600 M=3\",0.00042,5.1,compressed,1"));
        QCOMPARE(csv[3], QStringLiteral("\"l=0.1 U=1225,1600 M=1\",0.0005,4,estimate,0"));
        plot.clearPoints();
        QVERIFY(plot.points().isEmpty());
    }

    void tableModelIsConsistent()
    {
        LayerTableModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setReport(syntheticReport());
        QCOMPARE(model.rowCount(), 5);
        QCOMPARE(model.index(0, LayerTableModel::Shape).data().toString(), QStringLiteral("192x64"));
        QCOMPARE(model.index(1, LayerTableModel::U).data().toUInt(), 1600u);
        QVERIFY(!model.index(2, LayerTableModel::U).data().isValid());
        QCOMPARE(model.index(2, LayerTableModel::Path).data().toString(), QStringLiteral("raw"));
        QCOMPARE(model.index(1, LayerTableModel::Mae).data(LayerTableModel::SortRole).toDouble(), 4e-4);
        model.setReport(syntheticReport(2.0));
        QCOMPARE(model.index(1, LayerTableModel::Mae).data(LayerTableModel::SortRole).toDouble(), 8e-4);
    }

    void tableViewSelectsAndSorts()
    {
        LayerTableView view;
        view.setReport(syntheticReport());
        QSignalSpy selected(&view, &LayerTableView::layerSelected);
        view.selectLayer(QStringLiteral("blocks.0.mlp.lin2.weight"));
        QCOMPARE(view.selectedLayer(), QStringLiteral("blocks.0.mlp.lin2.weight"));
        QCOMPARE(selected.count(), 1);
        view.table()->sortByColumn(LayerTableModel::Mae, Qt::DescendingOrder);
        QCOMPARE(view.table()->model()->index(0, LayerTableModel::Name).data().toString(),
                 QStringLiteral("blocks.0.mlp.lin1.weight"));
    }

    void csvHasEveryRow()
    {
        const QString csv = syntheticReport().toCsv();
        const QStringList lines = csv.trimmed().split(QLatin1Char('\n'));
        QCOMPARE(lines.size(), 6);
        QVERIFY(lines[0].startsWith(QStringLiteral("name,shape,path,l,U,K,bits_per_index")));
        QVERIFY2(lines[2].startsWith(QStringLiteral("blocks.0.mlp.lin1.weight,256x64,hyper,0.1,1600,2,12,")), qPrintable(lines[2]));
        QVERIFY(lines[3].contains(QStringLiteral(",raw,,,,")));
    }

    void exportsPngAndPdf()
    {
        LayerBarPlot plot(LayerBarPlot::Metric::Mae);
        plot.resize(640, 320);
        plot.setReport(syntheticReport());
        const QString dir = birkhoff::test::scratchDir();
        QString error;
        QVERIFY2(exportPlot(plot, dir + QStringLiteral("/mae.png"), &error), qPrintable(error));
        QVERIFY2(exportPlot(plot, dir + QStringLiteral("/mae.pdf"), &error), qPrintable(error));
        const QImage png(dir + QStringLiteral("/mae.png"));
        QCOMPARE(png.size(), QSize(1280, 640));
        QFile pdf(dir + QStringLiteral("/mae.pdf"));
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        QVERIFY(pdf.read(5) == QByteArrayLiteral("%PDF-"));
        QVERIFY(!exportPlot(plot, QStringLiteral("/nonexistent-dir/x.png"), &error));
        QVERIFY(error.contains(QStringLiteral("/nonexistent-dir/x.png")));
        QVERIFY(writeTextFileAtomically(dir + QStringLiteral("/t.csv"), syntheticReport().toCsv(), &error));
    }
};

BIRKHOFF_REGISTER_TEST(TestPlots);
#include "test_plots.moc"
