// Small configurations of every SAM family (built by the tests, in the official
// key layout, with tiny widths so a whole model runs in milliseconds), the config.json each
// needs for what the shapes cannot tell, and the official key-list comparison helpers.
#pragma once

#include "core/models/sam_config.h"

#include <nlohmann/json.hpp>

#include <QString>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace birkhoff::test {

/// One family's test configuration.
struct FamilyCase {
    std::string name;            ///< "sam2", "sam_hq", ...
    models::SamConfig config;    ///< what the test builds
    nlohmann::json configJson;   ///< config.json written beside the checkpoint (settings shapes cannot tell)
    QString keyList;             ///< the family's sam-keys tsv (file name) the key layout is checked against
    /// Key patterns (numbers replaced by '#') the model has but the tsv lacks, with the reason
    /// (e.g. timm's squeeze-excite modules, absent from the EdgeSAM list).
    std::map<std::string, std::string> patternsMissingFromKeyList;
};

FamilyCase samVitCase();     ///< SAM v1 ViT (reference for the others)
FamilyCase mobileSamCase();  ///< MobileSAM / TinySAM (TinyViT)
FamilyCase sam2Case();
FamilyCase samHqVitCase();
FamilyCase samHqTinyCase();
FamilyCase efficientSamCase();
FamilyCase edgeSamCase();
FamilyCase slimSamCase();
FamilyCase medSamCase();
FamilyCase efficientVitSamCase();

/// All of the above.
std::vector<FamilyCase> allFamilyCases();

/// A state-dict key with every integer segment replaced by '#'.
std::string keyPattern(const std::string& key);

/// The key patterns of a sam-keys tsv (empty when the file is absent).
std::set<std::string> keyListPatterns(const QString& fileName);

}  // namespace birkhoff::test
