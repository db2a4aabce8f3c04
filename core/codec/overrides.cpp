// Per-layer override rules: parsing and glob matching.
#include "core/codec/overrides.h"

#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace birkhoff::codec {

bool globMatch(const std::string& pattern, const std::string& name)
{
    // Iterative wildcard matching with backtracking to the last '*'.
    std::size_t p = 0, n = 0, star = std::string::npos, mark = 0;
    while (n < name.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
            ++p;
            ++n;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = n;
        } else if (star != std::string::npos) {
            p = star + 1;
            n = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

std::vector<OverrideRule> parseOverrides(const std::string& text, const std::string& source)
{
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
        throw Error("overrides '" + source + "' is not valid JSON: " + e.what());
    }
    const nlohmann::json* rules = &j;
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it)
            if (it.key() != "overrides")
                throw Error("overrides '" + source + "': unknown top-level field '" + it.key()
                            + "' (expected \"overrides\")");
        if (!j.contains("overrides"))
            throw Error("overrides '" + source + "': missing \"overrides\" array");
        rules = &j.at("overrides");
    }
    if (!rules->is_array())
        throw Error("overrides '" + source + "': \"overrides\" must be an array of rules");

    std::vector<OverrideRule> out;
    for (std::size_t i = 0; i < rules->size(); ++i) {
        const nlohmann::json& r = (*rules)[i];
        const std::string where = "overrides '" + source + "' rule " + std::to_string(i + 1);
        if (!r.is_object())
            throw Error(where + ": a rule must be an object");
        OverrideRule rule;
        try {
            for (auto it = r.begin(); it != r.end(); ++it) {
                const std::string& key = it.key();
                const nlohmann::json& v = it.value();
                if (key == "pattern") {
                    rule.pattern = v.get<std::string>();
                } else if (key == "l") {
                    if (!v.is_number())
                        throw Error(where + ": \"l\" must be a number");
                    rule.l = v.get<float>();
                } else if (key == "U") {
                    std::vector<std::uint32_t> list;
                    if (v.is_number_unsigned()) {
                        list.push_back(v.get<std::uint32_t>());
                    } else if (v.is_array()) {
                        for (const auto& u : v) {
                            if (!u.is_number_unsigned())
                                throw Error(where + ": \"U\" entries must be positive integers");
                            list.push_back(u.get<std::uint32_t>());
                        }
                    } else {
                        throw Error(where + ": \"U\" must be an integer or an array of integers");
                    }
                    rule.uList = list;
                } else if (key == "M") {
                    if (!v.is_number_unsigned())
                        throw Error(where + ": \"M\" must be a non-negative integer");
                    rule.maxRings = v.get<std::uint32_t>();
                } else if (key == "keep_raw") {
                    rule.keepRaw = v.get<bool>();
                } else {
                    throw Error(where + ": unknown field '" + key + "' (use pattern, l, U, M, keep_raw)");
                }
            }
        } catch (const nlohmann::json::exception& e) {
            throw Error(where + ": wrong value type (" + e.what() + ")");
        }
        if (rule.pattern.empty())
            throw Error(where + ": \"pattern\" is missing or empty");
        TensorSettings probe;
        if (rule.l)
            probe.l = *rule.l;
        if (rule.uList)
            probe.uList = *rule.uList;
        if (rule.maxRings)
            probe.maxRings = *rule.maxRings;
        validateSettings(probe, where + " ('" + rule.pattern + "')");
        out.push_back(std::move(rule));
    }
    return out;
}

std::vector<OverrideRule> readOverrides(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read overrides file '" + path.string() + "'");
    std::ostringstream text;
    text << in.rdbuf();
    return parseOverrides(text.str(), path.string());
}

TensorSettings applyOverrides(const TensorSettings& base, const std::vector<OverrideRule>& rules,
                              const std::string& name, std::vector<bool>* matched)
{
    TensorSettings s = base;
    if (matched != nullptr)
        matched->assign(rules.size(), false);
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const OverrideRule& r = rules[i];
        if (!globMatch(r.pattern, name))
            continue;
        if (matched != nullptr)
            (*matched)[i] = true;
        if (r.l)
            s.l = *r.l;
        if (r.uList)
            s.uList = *r.uList;
        if (r.maxRings)
            s.maxRings = *r.maxRings;
        if (r.keepRaw)
            s.keepRaw = *r.keepRaw;
    }
    return s;
}

}  // namespace birkhoff::codec
