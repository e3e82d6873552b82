// Reading a YAML file against a schema of known keys, with errors that
// name file:line:column: both the main configuration (--config.file) and
// the web configuration (--web.config.file) go through here.
//
// yaml-cpp stays inside config/yaml.cc; this header speaks strings.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace leakwatch::config::detail {

enum class Shape {
  kScalar,  // one value
  kList,    // a YAML list, or the same items as one comma-separated string
  kMap,     // a mapping of free-form keys to single values
};

// One key a file may hold, as a dotted path of YAML keys
// ("web.listen_address" is web: {listen_address: ...}).
struct Leaf {
  std::string path;
  Shape shape = Shape::kScalar;
  // What a value looks like, for type errors ("a duration such as 5s").
  std::string expected;
  // Non-empty: the key is known but may not appear in this file; says why.
  std::string forbidden;
};

// A value or list item as written, and where: "file:line:column".
struct Item {
  std::string text;
  std::string where;
};

struct Value {
  std::string where;        // the key's location
  std::vector<Item> items;  // kScalar: one; kList: each item; kMap: values
  std::vector<Item> keys;   // kMap only: the keys, parallel to items
};

// Leaf path -> value, for every leaf the file sets. A null value (a key
// with nothing after the colon) counts as not set, so a section whose
// keys are all commented out is simply empty.
using Tree = std::map<std::string, Value>;

// Parses YAML text against the leaves. Syntax errors, unknown keys (with
// a "did you mean" hint), keys given twice, and values of the wrong shape
// are kInvalid errors whose message starts with "file:line:column: ".
Result<Tree> ReadYaml(std::string_view text, const std::string& file,
                      const std::vector<Leaf>& leaves);

// The whole file; kIo/kNotFound naming the path and what it was for.
Result<std::string> ReadWholeFile(const std::string& path,
                                  std::string_view what);

// Damerau-Levenshtein (optimal string alignment) distance.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to word, if it is close enough to be a likely
// typo.
std::optional<std::string> ClosestMatch(
    std::string_view word, const std::vector<std::string>& candidates);

// "a.b.c" -> "a: {b: {c: ...}}", the nested spelling of a dotted path.
std::string NestedSpelling(std::string_view path);

}  // namespace leakwatch::config::detail
