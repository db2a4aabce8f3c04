// Small configurations of the SAM families for the family tests.
#include "tests/core/models/family_test_support.h"

#include "tests/core/models/model_test_support.h"
#include "tests/core/models/sam_keys.h"

namespace birkhoff::test {
namespace {

/// The small SAM head shared by the cases (widths 16, 2 heads, 3 multimask outputs).
void smallHead(models::SamConfig& c)
{
    c.head.promptEmbedDim = 16;
    c.head.maskInChans = 8;
    c.head.transformerMlpDim = 32;
    c.head.transformerNumHeads = 2;
    c.head.iouHeadHiddenDim = 16;
}

}  // namespace

FamilyCase samVitCase()
{
    FamilyCase f;
    f.name = "sam_vit";
    f.config = smallVitConfig();
    f.configJson = {{"transformer_num_heads", 2}};
    f.keyList = QStringLiteral("sam1_vit_b.tsv");
    return f;
}

FamilyCase mobileSamCase()
{
    FamilyCase f;
    f.name = "mobile_sam";
    f.config = smallTinyVitConfig();
    // TinyViT's merge strides follow MobileSAM's width rule (stride 1 into 320/448/576): state
    // the small model's ones.
    f.configJson = {{"transformer_num_heads", 2}, {"image_size", 128}, {"tinyvit_merge_strides", {2, 2, 1}}};
    f.keyList = QStringLiteral("mobilesam_vit_t.tsv");
    return f;
}

FamilyCase sam2Case()
{
    FamilyCase f;
    f.name = "sam2";
    auto& c = f.config;
    c.encoder = models::EncoderKind::Hiera;
    c.decoder = models::DecoderKind::Sam2;
    c.variant = "sam2-small-test";
    c.preprocess.pipeline = models::ImagePipeline::Sam2;
    c.imageSize = 128;
    c.embeddingSize = 8;
    auto& h = c.hiera;
    h.embedDim = 16;
    h.numHeads = 1;
    h.stages = {1, 2, 2, 1};
    h.globalAttBlocks = {4};
    h.windowSpec = {8, 4, 4, 2};
    h.posEmbedBackground = {4, 4};
    h.dModel = 32;
    h.backboneChannels = {128, 64, 32, 16};
    c.head.promptEmbedDim = 32;
    c.head.maskInChans = 8;
    c.head.transformerMlpDim = 64;
    c.head.iouHeadHiddenDim = 32;
    c.head.mlpLayersNames = true;
    // A few video-memory tensors, as real checkpoints hold them (kept, never run).
    c.inactiveTensors = {
        {"maskmem_tpos_enc", {7, 1, 1, 8}},
        {"no_mem_pos_enc", {1, 1, 32}},
        {"no_obj_ptr", {1, 32}},
        {"no_obj_embed_spatial", {1, 8}},
        {"memory_attention.layers.0.self_attn.q_proj.weight", {32, 32}},
        {"memory_attention.layers.0.self_attn.q_proj.bias", {32}},
        {"memory_attention.norm.weight", {32}},
        {"memory_attention.norm.bias", {32}},
        {"memory_encoder.fuser.layers.0.dwconv.weight", {32, 1, 7, 7}},
        {"obj_ptr_proj.layers.0.weight", {32, 32}},
        {"obj_ptr_proj.layers.0.bias", {32}},
        {"obj_ptr_tpos_proj.weight", {8, 32}},
        {"obj_ptr_tpos_proj.bias", {8}},
        {"mask_downsample.weight", {1, 1, 4, 4}},
        {"mask_downsample.bias", {1}},
    };
    f.configJson = {{"model",
                     {{"image_size", 128},
                      {"image_encoder",
                       {{"scalp", 1},
                        {"trunk",
                         {{"embed_dim", 16},
                          {"num_heads", 1},
                          {"stages", {1, 2, 2, 1}},
                          {"global_att_blocks", {4}},
                          {"window_spec", {8, 4, 4, 2}},
                          {"window_pos_embed_bkg_spatial_size", {4, 4}}}},
                        {"neck",
                         {{"d_model", 32},
                          {"backbone_channel_list", {128, 64, 32, 16}},
                          {"fpn_top_down_levels", {2, 3}},
                          {"fpn_interp_model", "nearest"}}}}}}}};
    f.keyList = QStringLiteral("sam2.1_t.tsv");
    return f;
}

FamilyCase samHqVitCase()
{
    FamilyCase f;
    f.name = "sam_hq";
    f.config = smallVitConfig();
    f.config.variant = "sam-hq-small-test";
    f.config.decoder = models::DecoderKind::SamHq;
    f.config.vit.outputEarlyFeatures = true;
    f.config.head.hq.vitDim = f.config.vit.embedDim;
    f.configJson = {{"transformer_num_heads", 2}};
    f.keyList = QStringLiteral("samhq_vit_b.tsv");
    return f;
}

FamilyCase samHqTinyCase()
{
    FamilyCase f;
    f.name = "sam_hq_tiny";
    f.config = smallTinyVitConfig();
    f.config.variant = "sam-hq-tiny-small-test";
    f.config.decoder = models::DecoderKind::SamHq;
    f.config.tinyVit.outputEarlyFeatures = true;
    f.config.head.hq.vitDim = f.config.tinyVit.embedDims[2];  // stage 1's output, after its downsampling
    f.configJson = {{"transformer_num_heads", 2}, {"image_size", 128}, {"tinyvit_merge_strides", {2, 2, 1}}};
    f.keyList = QStringLiteral("samhq_vit_tiny.tsv");
    return f;
}

FamilyCase efficientSamCase()
{
    FamilyCase f;
    f.name = "efficient_sam";
    auto& c = f.config;
    c.encoder = models::EncoderKind::EfficientSamVit;
    c.decoder = models::DecoderKind::EfficientSam;
    c.variant = "efficient-sam-small-test";
    c.preprocess.pipeline = models::ImagePipeline::EfficientSam;
    c.imageSize = 64;
    c.embeddingSize = 8;
    auto& e = c.efficientSamVit;
    e.patchSize = 8;
    e.embedDim = 32;
    e.depth = 2;
    e.numHeads = 2;
    e.mlpDim = 64;
    e.posEmbedGrid = 4;  // resized (bicubic) to the 8x8 token grid, as 14 -> 64 in the official models
    e.neckDim = 16;
    smallHead(c);
    c.head.maskInChans = 0;
    c.head.efficientSam.upscalingDims = {4, 2};
    f.configJson = {{"image_size", 64}, {"encoder_num_heads", 2}, {"transformer_num_heads", 2}};
    f.keyList = QStringLiteral("efficientsam_vitt.tsv");
    return f;
}

FamilyCase edgeSamCase()
{
    FamilyCase f;
    f.name = "edge_sam";
    auto& c = f.config;
    c.encoder = models::EncoderKind::RepVit;
    c.variant = "edge-sam-small-test";
    c.imageSize = 64;
    c.embeddingSize = 4;
    auto& r = c.repVit;
    r.stemHidden = 8;
    r.stemOut = 16;
    r.blocks = {
        {16, 16, 32, 3, 1, 8}, {16, 24, 48, 3, 2, 0}, {24, 24, 48, 3, 1, 8}, {24, 32, 64, 3, 2, 0},
        {32, 32, 64, 3, 1, 8}, {32, 48, 96, 3, 2, 0}, {48, 48, 96, 3, 1, 16},
    };
    r.fuseStage2Block = 4;
    r.fuseStage3Block = 6;
    r.fuseWidth = 16;
    r.outChans = 16;
    smallHead(c);
    f.configJson = {{"image_size", 64}, {"transformer_num_heads", 2}};
    f.keyList = QStringLiteral("edgesam.tsv");
    const std::string why = "timm SqueezeExcite (fc1/fc2 convs) in the blocks with SE: the tsv's shape-only stand-in "
                            "did not construct timm modules (EdgeSAM's README count includes them)";
    for (const char* key : {"image_encoder.features.#.token_mixer.#.fc1.weight", "image_encoder.features.#.token_mixer.#.fc1.bias",
                            "image_encoder.features.#.token_mixer.#.fc2.weight", "image_encoder.features.#.token_mixer.#.fc2.bias"})
        f.patternsMissingFromKeyList[key] = why;
    return f;
}

FamilyCase slimSamCase()
{
    FamilyCase f;
    f.name = "slim_sam";
    f.config = smallVitConfig();
    f.config.variant = "slim-sam-small-test";
    auto& v = f.config.vit;
    v.embedDim = 24;
    v.mlpDim = 40;
    v.blockAttentionDims = {24, 12};  // pruned widths differ block by block
    v.blockMlpDims = {40, 20};
    v.blockNumHeads = {2, 2};         // head dims 12 and 6 (from the rel-pos tables)
    f.configJson = {{"transformer_num_heads", 2}};
    f.keyList = QStringLiteral("slimsam_vit_p77.tsv");
    return f;
}

FamilyCase medSamCase()
{
    FamilyCase f;
    f.name = "medsam";
    f.config = smallVitConfig();
    f.config.variant = "medsam-small-test";
    f.config.preprocess.pipeline = models::ImagePipeline::MedSam;
    f.configJson = {{"transformer_num_heads", 2}, {"preprocessing", "medsam"}};
    f.keyList = QStringLiteral("sam1_vit_b.tsv");
    return f;
}

FamilyCase efficientVitSamCase()
{
    using Kind = models::EfficientVitBlockKind;
    FamilyCase f;
    f.name = "efficientvit_sam";
    auto& c = f.config;
    c.encoder = models::EncoderKind::EfficientVit;
    c.variant = "efficientvit-sam-small-test";
    c.imageSize = 128;         // prompt/mask frame (1024 in the official models)
    c.encoderInputSize = 64;   // encoder input (512 for L0-L2)
    c.embeddingSize = 8;
    auto& e = c.efficientVit;
    e.stemWidth = 8;
    auto block = [](Kind kind, std::int64_t in, std::int64_t out, std::int64_t mid, bool residual, bool fewerNorm) {
        models::EfficientVitBlockConfig b;
        b.kind = kind;
        b.in = in;
        b.out = out;
        b.mid = mid;
        b.residual = residual;
        b.stride = residual ? 1 : 2;
        b.fewerNorm = fewerNorm;
        return b;
    };
    auto attention = [](std::int64_t width, std::int64_t mid, std::int64_t scale) {
        models::EfficientVitBlockConfig b;
        b.kind = Kind::Attention;
        b.in = b.out = width;
        b.mid = mid;
        b.attentionDim = 8;
        b.heads = width / 8;
        b.scales = {scale};
        b.fewerNorm = true;
        return b;
    };
    e.stages = {
        {block(Kind::Res, 8, 8, 8, true, false)},
        {block(Kind::FusedMb, 8, 16, 32, false, false), block(Kind::FusedMb, 16, 16, 32, true, false)},
        {block(Kind::FusedMb, 16, 24, 48, false, false), block(Kind::FusedMb, 24, 24, 48, true, false)},
        {block(Kind::Mb, 24, 32, 96, false, true), attention(32, 64, 3)},   // 4x4 grid: linear attention
        {block(Kind::Mb, 32, 48, 192, false, true), attention(48, 96, 5)},  // 2x2 grid: quadratic form
    };
    e.neckInputStages = {4, 3, 2};
    e.neckInputChannels = {48, 32, 24};
    e.headWidth = 16;
    e.neckDepth = 2;
    e.neckMid = 16;
    e.outChans = 16;
    smallHead(c);
    c.head.layerNormEps = 1e-6;
    f.configJson = {{"image_size", 128}, {"encoder_input_size", 64}, {"transformer_num_heads", 2}};
    f.keyList = QStringLiteral("evitsam_l0.tsv");
    return f;
}

std::vector<FamilyCase> allFamilyCases()
{
    return {samVitCase(),  mobileSamCase(), sam2Case(),    samHqVitCase(), samHqTinyCase(),
            efficientSamCase(), edgeSamCase(), slimSamCase(), medSamCase(),   efficientVitSamCase()};
}

std::string keyPattern(const std::string& key)
{
    std::string out;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = key.find('.', start);
        const std::string segment = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        const bool number = !segment.empty() && segment.find_first_not_of("0123456789") == std::string::npos;
        out += number ? "#" : segment;
        if (dot == std::string::npos)
            return out;
        out += ".";
        start = dot + 1;
    }
}

std::set<std::string> keyListPatterns(const QString& fileName)
{
    std::set<std::string> patterns;
    for (const auto& row : readSamKeys(fileName))
        patterns.insert(keyPattern(row.key));
    return patterns;
}

}  // namespace birkhoff::test
