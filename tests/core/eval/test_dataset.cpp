// Dataset readers on real data (../shared/data/coco-mini): every RLE decodes pixel-exactly to its
// panoptic PNG segment, areas and bboxes agree, RLE strings re-encode byte-identically, centre
// points equal the reference's; plus SA-1B files and folders, orphan annotations, malformed
// files and shards.
#include "core/eval/dataset.h"
#include "core/eval/prompts.h"
#include "core/util/error.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace birkhoff::eval;
using nlohmann::json;

namespace {

const char* kAnnotations = "data/coco-mini/annotations.json";

fs::path shared(const char* relative)
{
    return fs::path(birkhoff::test::sharedPath(QString::fromUtf8(relative)).toStdString());
}

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "dataset";
    fs::create_directories(dir);
    return dir / name;
}

void writeText(const fs::path& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary);
    out << text;
}

json readJson(const fs::path& path)
{
    std::ifstream in(path);
    return json::parse(in);
}

/// The reference CSV as one map column -> value per row.
std::vector<std::map<std::string, std::string>> readReferenceCsv(const fs::path& path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    std::vector<std::string> header;
    std::stringstream hs(line);
    for (std::string cell; std::getline(hs, cell, ',');)
        header.push_back(cell);
    std::vector<std::map<std::string, std::string>> rows;
    while (std::getline(in, line)) {
        std::stringstream ls(line);
        std::map<std::string, std::string> row;
        std::size_t k = 0;
        for (std::string cell; std::getline(ls, cell, ',') && k < header.size(); ++k)
            row[header[k]] = cell;
        rows.push_back(row);
    }
    return rows;
}

}  // namespace

class TestDataset : public QObject {
    Q_OBJECT
private slots:
    void cocoMiniStructure()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        const Dataset d = Dataset::open(shared(kAnnotations));
        QVERIFY(d.format() == DatasetFormat::CocoInstances);
        QCOMPARE(d.size(), std::size_t{2});
        QCOMPARE(d.categories().size(), std::size_t{133});
        const ImageEntry first = d.entry(0), second = d.entry(1);
        QCOMPARE(first.image.id, std::int64_t{142238});
        QCOMPARE(second.image.id, std::int64_t{439180});
        QCOMPARE(first.image.width, 640);
        QCOMPARE(first.image.height, 427);
        QCOMPARE(first.annotations.size() + second.annotations.size(), std::size_t{50});
        int crowd = 0;
        for (const auto* e : {&first, &second})
            for (const auto& a : e->annotations) {
                crowd += a.isCrowd ? 1 : 0;
                QVERIFY(a.segmentation.kind == Segmentation::Kind::CompressedRle);
            }
        QCOMPARE(crowd, 3);
        QCOMPARE(QString::fromStdString(d.category(1)->name), QStringLiteral("person"));
        QCOMPARE(d.category(1)->isThing, 1);
        QCOMPARE(d.category(first.annotations.back().categoryId) != nullptr, true);
    }

    void rleMatchesPanopticPngsPixelExactly()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/panoptic");
        const json root = readJson(shared(kAnnotations));
        std::map<std::int64_t, json> raw;
        for (const auto& a : root["annotations"])
            raw[a["id"].get<std::int64_t>()] = a;
        const Dataset d = Dataset::open(shared(kAnnotations));
        int checked = 0;
        for (std::size_t i = 0; i < d.size(); ++i) {
            const ImageEntry e = d.entry(i);
            const std::string stem = e.image.fileName.substr(0, e.image.fileName.rfind('.'));
            const cv::Mat png = cv::imread((shared("data/coco-mini/panoptic") / (stem + ".png")).string(),
                                           cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
            QVERIFY(!png.empty());
            QCOMPARE(png.rows, e.image.height);
            QCOMPARE(png.cols, e.image.width);
            for (const auto& a : e.annotations) {
                const json& r = raw.at(a.id);
                const std::int64_t segment = r["panoptic_segment_id"].get<std::int64_t>();
                cv::Mat expected(png.rows, png.cols, CV_8UC1);
                for (int y = 0; y < png.rows; ++y)
                    for (int x = 0; x < png.cols; ++x) {
                        const cv::Vec3b bgr = png.at<cv::Vec3b>(y, x);
                        const std::int64_t id = bgr[2] + 256 * bgr[1] + 65536 * bgr[0];
                        expected.at<std::uint8_t>(y, x) = id == segment ? 1 : 0;
                    }
                const Rle rle = annotationRle(a, e.image.height, e.image.width);
                const cv::Mat mask = decodeRle(rle);
                QVERIFY2(cv::countNonZero(mask != expected) == 0, qPrintable(QStringLiteral("annotation %1").arg(a.id)));
                QCOMPARE(rleArea(rle), static_cast<std::uint64_t>(cv::countNonZero(expected)));
                QCOMPARE(rleArea(rle), r["area"].get<std::uint64_t>());
                QVERIFY(a.bbox.has_value());
                QCOMPARE(rleBbox(rle), *a.bbox);
                const cv::Rect tight = cv::boundingRect(expected);
                QCOMPARE((*a.bbox)[0], double(tight.x));
                QCOMPARE((*a.bbox)[2], double(tight.width));
                QCOMPARE((*a.bbox)[3], double(tight.height));
                // pycocotools' encoding of the decoded mask is the file's string, byte for byte.
                QCOMPARE(rleToString(encodeRle(mask)), r["segmentation"]["counts"].get<std::string>());
                ++checked;
            }
        }
        QCOMPARE(checked, 50);
    }

    void centrePointsMatchReference()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/reference/per_instance.csv");
        const auto reference = readReferenceCsv(shared("data/coco-mini/reference/per_instance.csv"));
        QCOMPARE(reference.size(), std::size_t{47});
        const Dataset d = Dataset::open(shared(kAnnotations));
        std::map<std::int64_t, std::pair<Annotation, ImageInfo>> byId;
        for (std::size_t i = 0; i < d.size(); ++i) {
            const ImageEntry e = d.entry(i);
            for (const auto& a : e.annotations)
                byId[a.id] = {a, e.image};
        }
        for (const auto& row : reference) {
            const auto& [a, image] = byId.at(std::stoll(row.at("ann_id")));
            const MaskCenter c = maskCenter(decodeRle(annotationRle(a, image.height, image.width)));
            QCOMPARE(c.x, std::stoi(row.at("point_x")));
            QCOMPARE(c.y, std::stoi(row.at("point_y")));
            QCOMPARE(c.ties, std::stoll(row.at("point_ties")));
            QVERIFY(std::fabs(std::sqrt(double(c.squaredDistance)) - std::stod(row.at("point_dist"))) < 1e-5);
            const auto box = boxFromBbox(*a.bbox);
            QCOMPARE(box[0], std::stod(row.at("box_x0")));
            QCOMPARE(box[3], std::stod(row.at("box_y1")));
        }
    }

    void polygonAndUncompressedAnnotations()
    {
        const fs::path file = scratch("shapes.json");
        writeText(file, R"({"images": [{"id": 7, "file_name": "a.jpg", "width": 25, "height": 25}],
            "categories": [{"id": 3, "name": "thing"}],
            "annotations": [
              {"id": 1, "image_id": 7, "category_id": 3, "iscrowd": 0, "bbox": [10, 10, 10, 10],
               "segmentation": [[10, 10, 10, 20, 20, 20, 20, 10]]},
              {"id": 2, "image_id": 7, "category_id": 3, "iscrowd": 1, "bbox": [5, 5, 5, 5],
               "segmentation": {"size": [25, 25], "counts": [130, 5, 20, 5, 20, 5, 20, 5, 20, 5, 390]}},
              {"id": 3, "image_id": 7, "category_id": 3, "bbox": [0, 0, 1, 1], "segmentation": []},
              {"id": 4, "image_id": 7, "category_id": 3, "bbox": [0, 0, 1, 1],
               "segmentation": {"size": [20, 25], "counts": "0ac0"}},
              {"id": 5, "image_id": 7, "category_id": 9, "bbox": [1, 2], "segmentation": "nonsense"},
              {"id": 6, "image_id": 99, "category_id": 3, "bbox": [0, 0, 2, 2], "segmentation": [[0, 0, 2, 0, 2, 2]]}
            ]})");
        const Dataset d = Dataset::open(file);
        QCOMPARE(d.size(), std::size_t{2});  // image 7, then the unlisted image 99
        const ImageEntry e = d.entry(0);
        QVERIFY(e.imageListed);
        QCOMPARE(e.annotations.size(), std::size_t{5});
        QCOMPARE(QString::fromStdString(rleToString(annotationRle(e.annotations[0], 25, 25))),
                 QStringLiteral("T8:?00000000000000000c3"));
        QVERIFY(e.annotations[1].isCrowd);
        QCOMPARE(rleArea(annotationRle(e.annotations[1], 25, 25)), std::uint64_t{25});
        QVERIFY(!e.annotations[0].isCrowd);
        QVERIFY(e.annotations[2].segmentation.kind == Segmentation::Kind::None);
        QCOMPARE(rleArea(annotationRle(e.annotations[2], 25, 25)), std::uint64_t{0});
        try {
            annotationRle(e.annotations[3], 25, 25);
            QFAIL("no error for an RLE of the wrong size");
        } catch (const birkhoff::Error& err) {
            QVERIFY2(QString::fromUtf8(err.what()).contains(QStringLiteral("20x25")), err.what());
        }
        QVERIFY(e.annotations[4].segmentation.kind == Segmentation::Kind::Invalid);
        QVERIFY(!e.annotations[4].bboxProblem.empty());
        QVERIFY(d.category(9) == nullptr);
        const ImageEntry orphan = d.entry(1);
        QVERIFY(!orphan.imageListed);
        QCOMPARE(orphan.image.id, std::int64_t{99});
        QCOMPARE(orphan.annotations.size(), std::size_t{1});
    }

    void malformedJsonNamesFileAndPosition()
    {
        const fs::path file = scratch("broken.json");
        writeText(file, "{\"images\": [],\n \"annotations\": [,]}");
        try {
            Dataset::open(file);
            QFAIL("no error");
        } catch (const birkhoff::Error& e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(QStringLiteral("broken.json")), e.what());
            QVERIFY2(message.contains(QStringLiteral("line 2")), e.what());
            QVERIFY2(message.contains(QStringLiteral("column 18")), e.what());
        }
    }

    void structuralErrorsAreClear_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");
        QTest::newRow("results-file") << QStringLiteral("[{\"image_id\": 1}]") << QStringLiteral("results file");
        QTest::newRow("no-images") << QStringLiteral("{\"annotations\": []}") << QStringLiteral("\"images\"");
        QTest::newRow("dup-image") << QStringLiteral(
            "{\"images\": [{\"id\": 1, \"file_name\": \"a\", \"width\": 2, \"height\": 2}, "
            "{\"id\": 1, \"file_name\": \"b\", \"width\": 2, \"height\": 2}], \"annotations\": []}")
                                   << QStringLiteral("duplicate image id 1");
        QTest::newRow("dup-annotation") << QStringLiteral(
            "{\"images\": [], \"annotations\": [{\"id\": 4, \"image_id\": 1}, {\"id\": 4, \"image_id\": 1}]}")
                                        << QStringLiteral("annotations[1]: duplicate annotation id 4");
        QTest::newRow("no-file-name") << QStringLiteral(
            "{\"images\": [{\"id\": 1, \"width\": 2, \"height\": 2}], \"annotations\": []}")
                                      << QStringLiteral("images[0]: missing \"file_name\"");
        QTest::newRow("bad-id") << QStringLiteral("{\"images\": [], \"annotations\": [{\"id\": \"x\", \"image_id\": 1}]}")
                                << QStringLiteral("\"id\" must be an integer");
    }
    void structuralErrorsAreClear()
    {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        const fs::path file = scratch("structure.json");
        writeText(file, text.toStdString());
        try {
            Dataset::open(file);
            QFAIL("no error");
        } catch (const birkhoff::Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(expected), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, Dataset::open(scratch("does-not-exist.json")));
    }

    void sa1bFilesAndFolders()
    {
        const fs::path dir = scratch("sa1b");
        fs::create_directories(dir);
        writeText(dir / "sa_2.json", R"({"image": {"image_id": 2, "width": 25, "height": 25, "file_name": "sa_2.jpg"},
            "annotations": [{"id": 10, "segmentation": {"size": [25, 25], "counts": "R45d00000000b;"},
                             "bbox": [5, 5, 4, 4], "area": 25, "predicted_iou": 0.9}]})");
        writeText(dir / "sa_1.json", R"({"image": {"image_id": 1, "width": 25, "height": 25, "file_name": "sa_1.jpg"},
            "annotations": []})");
        writeText(dir / "sa_3.json", R"({"image": {"image_id": 3, "width": 25)");
        const Dataset folder = Dataset::open(dir);
        QVERIFY(folder.format() == DatasetFormat::Sa1bImages);
        QCOMPARE(folder.size(), std::size_t{3});
        QCOMPARE(folder.entry(0).image.id, std::int64_t{1});
        const ImageEntry two = folder.entry(1);
        QCOMPARE(two.image.id, std::int64_t{2});
        QCOMPARE(two.annotations.size(), std::size_t{1});
        QCOMPARE(two.annotations[0].imageId, std::int64_t{2});
        QCOMPARE(two.annotations[0].categoryId, std::int64_t{-1});
        QCOMPARE(rleArea(annotationRle(two.annotations[0], 25, 25)), std::uint64_t{25});
        const ImageEntry broken = folder.entry(2);
        QVERIFY2(QString::fromStdString(broken.loadProblem).contains(QStringLiteral("sa_3.json")),
                 broken.loadProblem.c_str());
        QVERIFY(broken.annotations.empty());
        const Dataset single = Dataset::open(dir / "sa_2.json");
        QVERIFY(single.format() == DatasetFormat::Sa1bImages);
        QCOMPARE(single.size(), std::size_t{1});
        QCOMPARE(single.entry(0).image.fileName, std::string("sa_2.jpg"));
    }

    void shards()
    {
        const Shard s = parseShard("3/8");
        QCOMPARE(s.index, std::size_t{3});
        QCOMPARE(s.count, std::size_t{8});
        QVERIFY(s.contains(3) && s.contains(11) && !s.contains(4));
        QCOMPARE(QString::fromStdString(s.text()), QStringLiteral("3/8"));
        for (const char* bad : {"8/8", "1", "/2", "a/2", "1/0", "-1/3", "1/2/3"})
            QVERIFY_THROWS_EXCEPTION(birkhoff::Error, parseShard(bad));
        // Every position is in exactly one shard.
        for (std::size_t p = 0; p < 50; ++p) {
            int owners = 0;
            for (std::size_t i = 0; i < 4; ++i)
                owners += Shard{i, 4}.contains(p) ? 1 : 0;
            QCOMPARE(owners, 1);
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestDataset);
#include "test_dataset.moc"
