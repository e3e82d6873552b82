#include "config/detail/yaml.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

namespace leakwatch::config::detail {
namespace {

// The schema as a tree of YAML keys; a node is either a section (children)
// or a leaf.
struct SchemaNode {
  const Leaf* leaf = nullptr;
  std::map<std::string, SchemaNode> children;
};

std::string Where(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  // yaml-cpp counts from 0; editors and compilers count from 1.
  return file + ":" + std::to_string(mark.line + 1) + ":" +
         std::to_string(mark.column + 1);
}

const char* ShapeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "nothing";
  }
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Normalized(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '-', '_');
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

std::string Join(const std::vector<std::string>& items) {
  return fmt::format("{}", fmt::join(items, ", "));
}

Error Invalid(const std::string& where, const std::string& message) {
  return Error{ErrorCode::kInvalid, where + ": " + message};
}

// yaml-cpp reports an unclosed "[" or "{" where it gave up, often lines
// later. Finding the bracket that was never closed points the user at the
// line they need to fix. Skips quoted strings and comments; a best effort,
// used only to improve the message.
std::optional<std::pair<int, int>> UnclosedBracket(std::string_view text,
                                                   std::size_t end, char open) {
  struct Open {
    char ch;
    int line, column;
  };
  std::vector<Open> stack;
  int line = 0, column = 0;
  char quote = 0;
  bool comment = false;
  char previous = '\n';
  for (std::size_t i = 0; i < text.size() && i < end; ++i) {
    const char c = text[i];
    if (c == '\n') {
      comment = false;  // a quoted scalar may span lines: quote stays
      ++line;
      column = 0;
      previous = c;
      continue;
    }
    if (!comment) {
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '#' && (previous == ' ' || previous == '\t' ||
                              previous == '\n' || i == 0)) {
        comment = true;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '[' || c == '{') {
        stack.push_back({c, line, column});
      } else if ((c == ']' || c == '}') && !stack.empty()) {
        stack.pop_back();
      }
    }
    previous = c;
    ++column;
  }
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    if (it->ch == open) return std::pair{it->line, it->column};
  }
  return std::nullopt;
}

Error SyntaxError(std::string_view text, const std::string& file,
                  const YAML::Exception& e) {
  const std::string at = Where(file, e.mark);
  for (auto [fragment, open, what] :
       {std::tuple{"end of sequence flow", '[', "list"},
        std::tuple{"end of map flow", '{', "mapping"}}) {
    if (e.msg.find(fragment) == std::string::npos) continue;
    std::size_t end =
        e.mark.pos < 0 ? text.size() : static_cast<std::size_t>(e.mark.pos);
    if (auto bracket = UnclosedBracket(text, end, open)) {
      return Error{ErrorCode::kInvalid,
                   file + ":" + std::to_string(bracket->first + 1) + ":" +
                       std::to_string(bracket->second + 1) + ": unclosed " +
                       what + ": \"" + std::string(1, open) +
                       "\" is never closed (YAML parser stopped at " + at +
                       ": " + e.msg + ")"};
    }
  }
  return Invalid(at, "YAML syntax error: " + e.msg);
}

class Walker {
 public:
  Walker(const std::string& file, const std::vector<Leaf>& leaves)
      : file_(file), leaves_(leaves) {
    for (const Leaf& leaf : leaves) {
      SchemaNode* node = &root_;
      std::string_view rest = leaf.path;
      while (!rest.empty()) {
        std::size_t dot = rest.find('.');
        node = &node->children[std::string(rest.substr(0, dot))];
        rest = dot == std::string_view::npos ? std::string_view()
                                             : rest.substr(dot + 1);
      }
      node->leaf = &leaf;
    }
  }

  Result<Tree> Walk(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) return Tree{};
    if (!root.IsMap()) {
      return MakeError(ErrorCode::kInvalid,
                       Where(file_, root.Mark()) +
                           ": the top level must be a mapping of sections (" +
                           Join(Keys(root_)) + "), not " + ShapeName(root));
    }
    if (auto e = Section(root, root_, ""); e) return PassOn(*e);
    return std::move(tree_);
  }

 private:
  static std::vector<std::string> Keys(const SchemaNode& node) {
    std::vector<std::string> keys;
    for (const auto& [name, child] : node.children) keys.push_back(name);
    return keys;
  }

  // Why a key is unknown, and what the user probably meant.
  std::string Unknown(const std::string& name, const SchemaNode& section,
                      const std::string& prefix) const {
    std::string message =
        "unknown key " + Quoted(name) +
        (prefix.empty() ? std::string() : " in " + Quoted(prefix));
    if (auto close = ClosestMatch(name, Keys(section))) {
      return message + " (did you mean " + Quoted(*close) + "?)";
    }
    // A flag's spelling ("sample.interval", "web.listen-address") or a key
    // in the wrong section ("interval" at the top).
    const std::string full =
        Normalized(prefix.empty() ? name : prefix + "." + name);
    const std::string bare = Normalized(name);
    for (const Leaf& leaf : leaves_) {
      const std::string normalized = Normalized(leaf.path);
      const std::string last = Normalized(
          std::string_view(leaf.path).substr(leaf.path.rfind('.') + 1));
      if (normalized == full || normalized == bare || last == bare) {
        return message + " (did you mean " + Quoted(NestedSpelling(leaf.path)) +
               "?)";
      }
    }
    if (section.children.empty()) return message;
    return message + " (known keys: " + Join(Keys(section)) + ")";
  }

  std::optional<Error> Section(const YAML::Node& map, const SchemaNode& schema,
                               const std::string& prefix) {
    std::map<std::string, std::string> seen;
    for (const auto& entry : map) {
      const YAML::Node key = entry.first;
      const YAML::Node value = entry.second;
      const std::string key_at = Where(file_, key.Mark());
      if (!key.IsScalar()) {
        return Invalid(key_at, "a key must be a plain name, not " +
                                   std::string(ShapeName(key)));
      }
      const std::string name = key.Scalar();
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      if (auto [first, inserted] = seen.emplace(name, key_at); !inserted) {
        return Invalid(key_at, Quoted(path) + " is given twice (first at " +
                                   first->second + ")");
      }
      auto child = schema.children.find(name);
      if (child == schema.children.end()) {
        return Invalid(key_at, Unknown(name, schema, prefix));
      }
      if (value.IsNull()) continue;
      const std::string value_at =
          value.Mark().is_null() ? key_at : Where(file_, value.Mark());
      if (child->second.leaf == nullptr) {
        if (!value.IsMap()) {
          return Invalid(
              value_at,
              path + ": expected a mapping with keys " +
                  Join(Keys(child->second)) + ", got " + ShapeName(value) +
                  " (write " +
                  NestedSpelling(path + "." + Keys(child->second).front()) +
                  ")");
        }
        if (auto e = Section(value, child->second, path); e) return e;
        continue;
      }
      if (auto e = LeafValue(*child->second.leaf, value, key_at, value_at); e) {
        return e;
      }
    }
    return std::nullopt;
  }

  std::optional<Error> LeafValue(const Leaf& leaf, const YAML::Node& node,
                                 const std::string& key_at,
                                 const std::string& value_at) {
    if (!leaf.forbidden.empty()) {
      return Invalid(key_at, leaf.path + ": " + leaf.forbidden);
    }
    Value value;
    value.where = value_at;
    auto expected = [&](const YAML::Node& got) {
      return Invalid(value_at, leaf.path + ": expected " + leaf.expected +
                                   ", got " + ShapeName(got));
    };
    switch (leaf.shape) {
      case Shape::kScalar:
        if (!node.IsScalar()) return expected(node);
        value.items.push_back({node.Scalar(), value_at});
        break;
      case Shape::kList:
        if (node.IsScalar()) {
          // The same comma-separated string a flag takes.
          const std::string& text = node.Scalar();
          if (Trimmed(text).empty()) break;  // "" is an empty list
          std::size_t start = 0;
          while (start <= text.size()) {
            std::size_t comma = std::min(text.find(',', start), text.size());
            std::string item =
                Trimmed(std::string_view(text).substr(start, comma - start));
            if (item.empty()) {
              return Invalid(value_at,
                             leaf.path + ": empty item in " + Quoted(text));
            }
            value.items.push_back({item, value_at});
            start = comma + 1;
          }
        } else if (node.IsSequence()) {
          for (const YAML::Node& element : node) {
            const std::string at = element.Mark().is_null()
                                       ? value_at
                                       : Where(file_, element.Mark());
            if (element.IsNull()) {
              return Invalid(at, leaf.path + ": empty list item");
            }
            if (!element.IsScalar()) {
              return Invalid(at, leaf.path + ": a list item must be a " +
                                     "single value, got " + ShapeName(element));
            }
            value.items.push_back({element.Scalar(), at});
          }
        } else {
          return expected(node);
        }
        break;
      case Shape::kMap: {
        if (!node.IsMap()) return expected(node);
        std::map<std::string, std::string> seen;
        for (const auto& entry : node) {
          const YAML::Node key_node = entry.first;
          const YAML::Node value_node = entry.second;
          const std::string at = Where(file_, key_node.Mark());
          if (!key_node.IsScalar()) {
            return Invalid(at, leaf.path + ": a key must be a plain name");
          }
          const std::string key = key_node.Scalar();
          if (auto [first, inserted] = seen.emplace(key, at); !inserted) {
            return Invalid(at, leaf.path + ": " + Quoted(key) +
                                   " is given twice (first at " +
                                   first->second + ")");
          }
          if (!value_node.IsScalar()) {
            return Invalid(at, leaf.path + "." + key + ": expected " +
                                   "a single value, got " +
                                   ShapeName(value_node));
          }
          const std::string value_where = value_node.Mark().is_null()
                                              ? at
                                              : Where(file_, value_node.Mark());
          value.keys.push_back({key, at});
          value.items.push_back({value_node.Scalar(), value_where});
        }
        break;
      }
    }
    tree_[leaf.path] = std::move(value);
    return std::nullopt;
  }

  const std::string& file_;
  const std::vector<Leaf>& leaves_;
  SchemaNode root_;
  Tree tree_;
};

}  // namespace

Result<Tree> ReadYaml(std::string_view text, const std::string& file,
                      const std::vector<Leaf>& leaves) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return PassOn(SyntaxError(text, file, e));
  }
  try {
    return Walker(file, leaves).Walk(root);
  } catch (const YAML::Exception& e) {
    // Not expected once the document parsed; kept at the module edge.
    return PassOn(Invalid(Where(file, e.mark), e.msg));
  }
}

Result<std::string> ReadWholeFile(const std::string& path,
                                  std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return MakeError(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     "cannot read " + std::string(what) + " " + Quoted(path) +
                         ": " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return MakeError(ErrorCode::kIo, "cannot read " + std::string(what) + " " +
                                         Quoted(path) + ": read failed");
  }
  return text.str();
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1,
                                          std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);  // transposition
      }
    }
  }
  return d[n][m];
}

std::optional<std::string> ClosestMatch(
    std::string_view word, const std::vector<std::string>& candidates) {
  // A third of the word, at least one and at most three edits: "intervall"
  // finds "interval", "x" finds nothing in particular.
  const std::size_t allowed = std::clamp<std::size_t>(word.size() / 3, 1, 3);
  std::optional<std::string> best;
  std::size_t best_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    std::size_t d = EditDistance(word, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string NestedSpelling(std::string_view path) {
  std::string out;
  int depth = 0;
  while (true) {
    std::size_t dot = path.find('.');
    out += std::string(path.substr(0, dot)) + ": ";
    if (dot == std::string_view::npos) break;
    out += "{";
    ++depth;
    path.remove_prefix(dot + 1);
  }
  out += "...";
  out += std::string(static_cast<std::size_t>(depth), '}');
  return out;
}

}  // namespace leakwatch::config::detail
