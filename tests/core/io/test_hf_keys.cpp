// Hugging Face transformers key names -> original names: a hand-written table of known pairs
// (SamModel and Sam2Model), and round trips: every key of SAM ViT-B and SAM 2.1 Hiera-T renamed
// the way transformers' converters do it (re-implemented here from their published rule lists),
// saved as safetensors and loaded back through loadCheckpoint, comes back with the original
// names, order and values and is detected as its family.
#include "core/io/checkpoint.h"
#include "core/io/hf_keys.h"
#include "core/models/family.h"
#include "core/util/error.h"
#include "tests/core/models/sam_keys.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <ATen/ATen.h>

#include <filesystem>
#include <regex>

namespace fs = std::filesystem;
using namespace birkhoff::io;

namespace {

// transformers' SamModel name -> segment-anything name.
const std::pair<const char*, const char*> kSamPairs[] = {
    {"vision_encoder.pos_embed", "image_encoder.pos_embed"},
    {"vision_encoder.patch_embed.projection.weight", "image_encoder.patch_embed.proj.weight"},
    {"vision_encoder.patch_embed.projection.bias", "image_encoder.patch_embed.proj.bias"},
    {"vision_encoder.layers.0.layer_norm1.weight", "image_encoder.blocks.0.norm1.weight"},
    {"vision_encoder.layers.11.layer_norm2.bias", "image_encoder.blocks.11.norm2.bias"},
    {"vision_encoder.layers.2.attn.rel_pos_h", "image_encoder.blocks.2.attn.rel_pos_h"},
    {"vision_encoder.layers.5.attn.qkv.weight", "image_encoder.blocks.5.attn.qkv.weight"},
    {"vision_encoder.layers.5.attn.proj.bias", "image_encoder.blocks.5.attn.proj.bias"},
    {"vision_encoder.layers.7.mlp.lin1.weight", "image_encoder.blocks.7.mlp.lin1.weight"},
    {"vision_encoder.neck.conv1.weight", "image_encoder.neck.0.weight"},
    {"vision_encoder.neck.layer_norm1.bias", "image_encoder.neck.1.bias"},
    {"vision_encoder.neck.conv2.weight", "image_encoder.neck.2.weight"},
    {"vision_encoder.neck.layer_norm2.weight", "image_encoder.neck.3.weight"},
    {"prompt_encoder.shared_embedding.positional_embedding", "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"},
    {"shared_image_embedding.positional_embedding", "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"},
    {"prompt_encoder.point_embed.1.weight", "prompt_encoder.point_embeddings.1.weight"},
    {"prompt_encoder.not_a_point_embed.weight", "prompt_encoder.not_a_point_embed.weight"},
    {"prompt_encoder.mask_embed.conv1.weight", "prompt_encoder.mask_downscaling.0.weight"},
    {"prompt_encoder.mask_embed.layer_norm1.weight", "prompt_encoder.mask_downscaling.1.weight"},
    {"prompt_encoder.mask_embed.conv2.bias", "prompt_encoder.mask_downscaling.3.bias"},
    {"prompt_encoder.mask_embed.layer_norm2.bias", "prompt_encoder.mask_downscaling.4.bias"},
    {"prompt_encoder.mask_embed.conv3.weight", "prompt_encoder.mask_downscaling.6.weight"},
    {"prompt_encoder.no_mask_embed.weight", "prompt_encoder.no_mask_embed.weight"},
    {"mask_decoder.transformer.layers.0.self_attn.q_proj.weight", "mask_decoder.transformer.layers.0.self_attn.q_proj.weight"},
    {"mask_decoder.transformer.layers.1.layer_norm3.weight", "mask_decoder.transformer.layers.1.norm3.weight"},
    {"mask_decoder.transformer.layers.0.mlp.lin2.bias", "mask_decoder.transformer.layers.0.mlp.lin2.bias"},
    {"mask_decoder.transformer.layer_norm_final_attn.bias", "mask_decoder.transformer.norm_final_attn.bias"},
    {"mask_decoder.upscale_conv1.weight", "mask_decoder.output_upscaling.0.weight"},
    {"mask_decoder.upscale_layer_norm.bias", "mask_decoder.output_upscaling.1.bias"},
    {"mask_decoder.upscale_conv2.weight", "mask_decoder.output_upscaling.3.weight"},
    {"mask_decoder.output_hypernetworks_mlps.3.proj_in.weight", "mask_decoder.output_hypernetworks_mlps.3.layers.0.weight"},
    {"mask_decoder.output_hypernetworks_mlps.0.layers.0.bias", "mask_decoder.output_hypernetworks_mlps.0.layers.1.bias"},
    {"mask_decoder.output_hypernetworks_mlps.2.proj_out.weight", "mask_decoder.output_hypernetworks_mlps.2.layers.2.weight"},
    {"mask_decoder.iou_prediction_head.proj_in.weight", "mask_decoder.iou_prediction_head.layers.0.weight"},
    {"mask_decoder.iou_prediction_head.layers.0.bias", "mask_decoder.iou_prediction_head.layers.1.bias"},
    {"mask_decoder.iou_prediction_head.proj_out.bias", "mask_decoder.iou_prediction_head.layers.2.bias"},
    {"mask_decoder.iou_token.weight", "mask_decoder.iou_token.weight"},
};

// transformers' Sam2Model name -> sam2 name.
const std::pair<const char*, const char*> kSam2Pairs[] = {
    {"vision_encoder.backbone.pos_embed", "image_encoder.trunk.pos_embed"},
    {"vision_encoder.backbone.pos_embed_window", "image_encoder.trunk.pos_embed_window"},
    {"vision_encoder.backbone.patch_embed.projection.weight", "image_encoder.trunk.patch_embed.proj.weight"},
    {"vision_encoder.backbone.blocks.0.layer_norm1.weight", "image_encoder.trunk.blocks.0.norm1.weight"},
    {"vision_encoder.backbone.blocks.3.attn.qkv.weight", "image_encoder.trunk.blocks.3.attn.qkv.weight"},
    {"vision_encoder.backbone.blocks.3.proj.bias", "image_encoder.trunk.blocks.3.proj.bias"},
    {"vision_encoder.backbone.blocks.5.mlp.proj_in.weight", "image_encoder.trunk.blocks.5.mlp.layers.0.weight"},
    {"vision_encoder.backbone.blocks.5.mlp.proj_out.bias", "image_encoder.trunk.blocks.5.mlp.layers.1.bias"},
    {"vision_encoder.neck.convs.2.weight", "image_encoder.neck.convs.2.conv.weight"},
    {"prompt_encoder.shared_embedding.positional_embedding", "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"},
    {"prompt_encoder.mask_embed.conv3.bias", "sam_prompt_encoder.mask_downscaling.6.bias"},
    {"prompt_encoder.no_mask_embed.weight", "sam_prompt_encoder.no_mask_embed.weight"},
    {"mask_decoder.conv_s0.weight", "sam_mask_decoder.conv_s0.weight"},
    {"mask_decoder.obj_score_token.weight", "sam_mask_decoder.obj_score_token.weight"},
    {"mask_decoder.transformer.layers.1.cross_attn_image_to_token.o_proj.weight", "sam_mask_decoder.transformer.layers.1.cross_attn_image_to_token.out_proj.weight"},
    {"mask_decoder.transformer.layers.0.mlp.proj_in.weight", "sam_mask_decoder.transformer.layers.0.mlp.layers.0.weight"},
    {"mask_decoder.transformer.layers.0.mlp.proj_out.bias", "sam_mask_decoder.transformer.layers.0.mlp.layers.1.bias"},
    {"mask_decoder.transformer.layer_norm_final_attn.weight", "sam_mask_decoder.transformer.norm_final_attn.weight"},
    {"mask_decoder.pred_obj_score_head.proj_in.weight", "sam_mask_decoder.pred_obj_score_head.layers.0.weight"},
    {"mask_decoder.pred_obj_score_head.layers.0.weight", "sam_mask_decoder.pred_obj_score_head.layers.1.weight"},
    {"mask_decoder.upscale_conv2.bias", "sam_mask_decoder.output_upscaling.3.bias"},
    {"mask_decoder.output_hypernetworks_mlps.1.proj_out.weight", "sam_mask_decoder.output_hypernetworks_mlps.1.layers.2.weight"},
    {"memory_attention.layers.2.cross_attn_image.o_proj.bias", "memory_attention.layers.2.cross_attn_image.out_proj.bias"},
    {"memory_attention.layers.0.layer_norm2.weight", "memory_attention.layers.0.norm2.weight"},
    {"memory_attention.layer_norm.bias", "memory_attention.norm.bias"},
    {"memory_encoder.memory_fuser.layers.1.depthwise_conv.weight", "memory_encoder.fuser.layers.1.dwconv.weight"},
    {"memory_encoder.memory_fuser.layers.0.pointwise_conv2.bias", "memory_encoder.fuser.layers.0.pwconv2.bias"},
    {"memory_encoder.memory_fuser.layers.0.scale", "memory_encoder.fuser.layers.0.gamma"},
    {"memory_encoder.memory_fuser.layers.1.layer_norm.weight", "memory_encoder.fuser.layers.1.norm.weight"},
    {"memory_encoder.projection.weight", "memory_encoder.out_proj.weight"},
    {"memory_encoder.feature_projection.bias", "memory_encoder.pix_feat_proj.bias"},
    {"memory_encoder.mask_downsampler.encoder.4.weight", "memory_encoder.mask_downsampler.encoder.4.weight"},
    {"memory_encoder.mask_downsampler.layers.2.conv.weight", "memory_encoder.mask_downsampler.encoder.6.weight"},
    {"memory_encoder.mask_downsampler.layers.3.layer_norm.bias", "memory_encoder.mask_downsampler.encoder.10.bias"},
    {"memory_encoder.mask_downsampler.final_conv.weight", "memory_encoder.mask_downsampler.encoder.12.weight"},
    {"memory_temporal_positional_encoding", "maskmem_tpos_enc"},
    {"no_memory_embedding", "no_mem_embed"},
    {"no_memory_positional_encoding", "no_mem_pos_enc"},
    {"occlusion_spatial_embedding_parameter", "no_obj_embed_spatial"},
    {"no_object_pointer", "no_obj_ptr"},
    {"object_pointer_proj.proj_in.weight", "obj_ptr_proj.layers.0.weight"},
    {"object_pointer_proj.layers.0.bias", "obj_ptr_proj.layers.1.bias"},
    {"temporal_positional_encoding_projection_layer.weight", "obj_ptr_tpos_proj.weight"},
    {"mask_downsample.weight", "mask_downsample.weight"},
};

void replaceAll(std::string& s, const std::string& from, const std::string& to)
{
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
}

// Python's "if a in key: key = key.replace(a, b)" for each rule in order.
std::string applySubstringRules(std::string key, const std::vector<std::pair<std::string, std::string>>& rules)
{
    for (const auto& [from, to] : rules)
        if (key.find(from) != std::string::npos)
            replaceAll(key, from, to);
    return key;
}

// The 3-layer MLP renaming transformers applies after its substring rules.
std::string threeLayer(std::string key, const std::string& layer)
{
    if (layer == "0")
        replaceAll(key, "layers.0", "proj_in");
    else if (layer == "1")
        replaceAll(key, "layers.1", "layers.0");
    else if (layer == "2")
        replaceAll(key, "layers.2", "proj_out");
    return key;
}

// convert_sam_to_hf.py's renaming of one key.
std::string samToHuggingFace(const std::string& original)
{
    static const std::vector<std::pair<std::string, std::string>> rules = {
        {"iou_prediction_head.layers.0", "iou_prediction_head.proj_in"},
        {"iou_prediction_head.layers.1", "iou_prediction_head.layers.0"},
        {"iou_prediction_head.layers.2", "iou_prediction_head.proj_out"},
        {"mask_decoder.output_upscaling.0", "mask_decoder.upscale_conv1"},
        {"mask_decoder.output_upscaling.1", "mask_decoder.upscale_layer_norm"},
        {"mask_decoder.output_upscaling.3", "mask_decoder.upscale_conv2"},
        {"mask_downscaling.0", "mask_embed.conv1"},
        {"mask_downscaling.1", "mask_embed.layer_norm1"},
        {"mask_downscaling.3", "mask_embed.conv2"},
        {"mask_downscaling.4", "mask_embed.layer_norm2"},
        {"mask_downscaling.6", "mask_embed.conv3"},
        {"point_embeddings", "point_embed"},
        {"pe_layer.positional_encoding_gaussian_matrix", "shared_embedding.positional_embedding"},
        {"image_encoder", "vision_encoder"},
        {"neck.0", "neck.conv1"},
        {"neck.1", "neck.layer_norm1"},
        {"neck.2", "neck.conv2"},
        {"neck.3", "neck.layer_norm2"},
        {"patch_embed.proj", "patch_embed.projection"},
        {".norm", ".layer_norm"},
        {"blocks", "layers"},
    };
    std::string key = applySubstringRules(original, rules);
    std::smatch m;
    static const std::regex hyper(".*.output_hypernetworks_mlps.(\\d+).layers.(\\d+).*");
    if (std::regex_match(key, m, hyper))
        key = threeLayer(key, m[2]);
    return key;
}

// convert_sam2_to_hf.py's renaming of one key.
std::string sam2ToHuggingFace(const std::string& original)
{
    static const std::vector<std::pair<std::string, std::string>> rules = {
        {"iou_prediction_head.layers.0", "iou_prediction_head.proj_in"},
        {"iou_prediction_head.layers.1", "iou_prediction_head.layers.0"},
        {"iou_prediction_head.layers.2", "iou_prediction_head.proj_out"},
        {"mask_decoder.output_upscaling.0", "mask_decoder.upscale_conv1"},
        {"mask_decoder.output_upscaling.1", "mask_decoder.upscale_layer_norm"},
        {"mask_decoder.output_upscaling.3", "mask_decoder.upscale_conv2"},
        {"mask_downscaling.0", "mask_embed.conv1"},
        {"mask_downscaling.1", "mask_embed.layer_norm1"},
        {"mask_downscaling.3", "mask_embed.conv2"},
        {"mask_downscaling.4", "mask_embed.layer_norm2"},
        {"mask_downscaling.6", "mask_embed.conv3"},
        {"dwconv", "depthwise_conv"},
        {"pwconv", "pointwise_conv"},
        {"fuser", "memory_fuser"},
        {"point_embeddings", "point_embed"},
        {"pe_layer.positional_encoding_gaussian_matrix", "shared_embedding.positional_embedding"},
        {"obj_ptr_tpos_proj", "temporal_positional_encoding_projection_layer"},
        {"no_obj_embed_spatial", "occlusion_spatial_embedding_parameter"},
        {"sam_prompt_encoder", "prompt_encoder"},
        {"sam_mask_decoder", "mask_decoder"},
        {"maskmem_tpos_enc", "memory_temporal_positional_encoding"},
        {"gamma", "scale"},
        {"image_encoder.neck", "vision_encoder.neck"},
        {"image_encoder", "vision_encoder.backbone"},
        {"neck.0", "neck.conv1"},
        {"neck.1", "neck.layer_norm1"},
        {"neck.2", "neck.conv2"},
        {"neck.3", "neck.layer_norm2"},
        {"pix_feat_proj", "feature_projection"},
        {"patch_embed.proj", "patch_embed.projection"},
        {"no_mem_embed", "no_memory_embedding"},
        {"no_mem_pos_enc", "no_memory_positional_encoding"},
        {"obj_ptr", "object_pointer"},
        {".norm", ".layer_norm"},
        {"trunk.", ""},
        {"out_proj", "o_proj"},
    };
    std::string key = applySubstringRules(original, rules);
    std::smatch m;
    static const std::regex visionMlp("vision_encoder.backbone.blocks.(\\d+).mlp.layers.(\\d+).*");
    static const std::regex decoderMlp("mask_decoder.transformer.layers.(\\d+).mlp.layers.(\\d+).*");
    static const std::regex scoreHead("mask_decoder.pred_obj_score_head.layers.(\\d+).*");
    static const std::regex hyper(".*.output_hypernetworks_mlps.(\\d+).layers.(\\d+).*");
    static const std::regex neck("vision_encoder.neck.convs.(\\d+).conv.*");
    static const std::regex memoryProjection("memory_encoder.o_proj.*");
    static const std::regex pointer("object_pointer_proj.layers.(\\d+).*");
    if (std::regex_match(key, m, visionMlp)) {
        if (m[2] == "0")
            replaceAll(key, "layers.0", "proj_in");
        else if (m[2] == "1")
            replaceAll(key, "layers.1", "proj_out");
    }
    if (std::regex_match(key, m, decoderMlp)) {
        if (m[2] == "0")
            replaceAll(key, "mlp.layers.0", "mlp.proj_in");
        else if (m[2] == "1")
            replaceAll(key, "mlp.layers.1", "mlp.proj_out");
    }
    if (std::regex_match(key, m, scoreHead))
        key = threeLayer(key, m[1]);
    if (std::regex_match(key, m, hyper))
        key = threeLayer(key, m[2]);
    if (std::regex_match(key, neck))
        replaceAll(key, ".conv.", ".");
    if (std::regex_match(key, memoryProjection))
        replaceAll(key, ".o_proj.", ".projection.");
    if (std::regex_match(key, m, pointer))
        key = threeLayer(key, m[1]);
    return key;
}

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "hf";
    fs::create_directories(dir);
    return dir / name;
}

}  // namespace

class TestHfKeys : public QObject {
    Q_OBJECT
private slots:
    void knownSamPairs()
    {
        QVERIFY(std::size(kSamPairs) >= 30);
        for (const auto& [hf, original] : kSamPairs)
            QCOMPARE(QString::fromStdString(samKeyFromHuggingFace(hf)), QString::fromLatin1(original));
    }

    void knownSam2Pairs()
    {
        QVERIFY(std::size(kSam2Pairs) >= 30);
        for (const auto& [hf, original] : kSam2Pairs)
            QCOMPARE(QString::fromStdString(sam2KeyFromHuggingFace(hf)), QString::fromLatin1(original));
    }

    void theConverterReimplementationAgreesWithTheTable()
    {
        for (const auto& [hf, original] : kSamPairs)
            if (std::string(hf) != "shared_image_embedding.positional_embedding")
                QCOMPARE(QString::fromStdString(samToHuggingFace(original)), QString::fromLatin1(hf));
        for (const auto& [hf, original] : kSam2Pairs)
            if (std::string(hf).find("mask_downsampler.") == std::string::npos)
                QCOMPARE(QString::fromStdString(sam2ToHuggingFace(original)), QString::fromLatin1(hf));
    }

    void namingIsDetected()
    {
        StateDict original;
        original.insert("image_encoder.pos_embed", at::zeros({1}));
        QCOMPARE(detectHuggingFaceNaming(original), HfNaming::None);
        QVERIFY(mapHuggingFaceKeys(original).empty());
        StateDict sam;
        sam.insert("vision_encoder.layers.0.attn.qkv.weight", at::zeros({1}));
        QCOMPARE(detectHuggingFaceNaming(sam), HfNaming::Sam);
        StateDict sam2;
        sam2.insert("vision_encoder.backbone.pos_embed", at::zeros({1}));
        QCOMPARE(detectHuggingFaceNaming(sam2), HfNaming::Sam2);
    }

    void samVitBRoundTripsThroughHuggingFaceNames()
    {
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/sam1_vit_b.tsv");
        const StateDict sd = birkhoff::test::syntheticStateDict(birkhoff::test::readSamKeys(QStringLiteral("sam1_vit_b.tsv")));
        StateDict hf;
        for (const auto& e : sd)
            hf.insert(samToHuggingFace(e.name), e.tensor);
        hf.insert("shared_image_embedding.positional_embedding",
                  sd.at("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix").clone());
        QCOMPARE(hf.size(), sd.size() + 1);
        const auto notes = mapHuggingFaceKeys(hf);
        QCOMPARE(hf.names(), sd.names());
        for (const auto& e : sd)
            QVERIFY2(hf.at(e.name).is_same(e.tensor) || at::equal(hf.at(e.name), e.tensor), e.name.c_str());
        QVERIFY(QString::fromStdString(notes.at(0)).contains(QStringLiteral("SamModel")));
        QVERIFY(QString::fromStdString(notes.at(1)).contains(QStringLiteral("shared_image_embedding")));
        const auto family = birkhoff::models::detectFamily(hf);
        QCOMPARE(family.id, birkhoff::models::FamilyId::SamVit);
        QCOMPARE(QString::fromStdString(family.variant), QStringLiteral("ViT-B"));
    }

    void huggingFaceSafetensorsLoadWithOriginalNames()
    {
        // SlimSAM-77 is published in transformers format (Zigeng/SlimSAM-uniform-77); 39 MB here.
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/slimsam_vit_p77.tsv");
        const StateDict sd = birkhoff::test::syntheticStateDict(birkhoff::test::readSamKeys(QStringLiteral("slimsam_vit_p77.tsv")));
        StateDict hf;
        hf.insert("shared_image_embedding.positional_embedding",
                  sd.at("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"));
        for (const auto& e : sd)
            hf.insert(samToHuggingFace(e.name), e.tensor);
        const fs::path path = scratch("slimsam77_hf.safetensors");
        saveCheckpoint(path, hf);
        const Checkpoint back = loadCheckpoint(path);
        QCOMPARE(back.format, CheckpointFormat::Safetensors);
        std::vector<std::string> want = sd.names();
        want.erase(std::find(want.begin(), want.end(), "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"));
        want.insert(want.begin(), "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix");
        QCOMPARE(back.tensors.names(), want);
        for (const auto& e : sd)
            QVERIFY2(at::equal(back.tensors.at(e.name), e.tensor), e.name.c_str());
        const auto family = birkhoff::models::detectFamily(back.tensors);
        QCOMPARE(family.id, birkhoff::models::FamilyId::SlimSam);
        QCOMPARE(QString::fromStdString(family.variant), QStringLiteral("77"));
    }

    void sam21RoundTripsThroughHuggingFaceNames()
    {
        BIRKHOFF_REQUIRE_SHARED("docs/sam-keys/sam2.1_t.tsv");
        const StateDict sd = birkhoff::test::syntheticStateDict(birkhoff::test::readSamKeys(QStringLiteral("sam2.1_t.tsv")));
        // transformers stacks the four point embeddings into one [4, 256] tensor.
        StateDict hf;
        std::vector<at::Tensor> points;
        for (const auto& e : sd) {
            const std::string name = sam2ToHuggingFace(e.name);
            if (name.rfind("prompt_encoder.point_embed.", 0) == 0) {
                points.push_back(e.tensor);
                if (points.size() == 4)
                    hf.insert("prompt_encoder.point_embed.weight", at::cat(points, 0));
                continue;
            }
            hf.insert(name, e.tensor);
        }
        hf.insert("shared_image_embedding.positional_embedding",
                  sd.at("sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"));
        StateDict mapped = hf;
        const auto notes = mapHuggingFaceKeys(mapped);
        QVERIFY(!notes.empty() && notes[0].find("Sam2Model") != std::string::npos);
        std::vector<std::string> want = sd.names();
        std::vector<std::string> got = mapped.names();
        std::sort(want.begin(), want.end());
        std::sort(got.begin(), got.end());
        QCOMPARE(got, want);
        for (const auto& e : sd)
            QVERIFY2(at::equal(mapped.at(e.name), e.tensor), e.name.c_str());
        const auto family = birkhoff::models::detectFamily(mapped);
        QCOMPARE(family.id, birkhoff::models::FamilyId::Sam21);
        QCOMPARE(QString::fromStdString(family.variant), QStringLiteral("Hiera-T"));
    }

    void conflictingDuplicatesAreRefused()
    {
        StateDict hf;
        hf.insert("vision_encoder.layers.0.attn.qkv.weight", at::ones({2}));
        hf.insert("prompt_encoder.shared_embedding.positional_embedding", at::ones({2, 3}));
        hf.insert("shared_image_embedding.positional_embedding", at::zeros({2, 3}));
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, mapHuggingFaceKeys(hf));
    }
};

BIRKHOFF_REGISTER_TEST(TestHfKeys);
#include "test_hf_keys.moc"
