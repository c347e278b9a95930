#include "mlpbench/json_errors.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "mlpbench/errors.h"

namespace mlpbench {
namespace {

using json = nlohmann::json;

// Appends a compact JSON rendering of `v`, stopping early (with "...") once `out` is long or the
// value is deep, so a message never grows without bound or recurses far.
void excerpt_into(const json& v, std::string& out, size_t limit, int depth) {
  if (out.size() > limit) {
    out += "...";
    return;
  }
  if (v.is_number_float() && !std::isfinite(v.get<double>())) {
    const double d = v.get<double>();
    out += std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
    return;
  }
  if (!v.is_structured()) {
    std::string s = json_text(v);
    if (s.size() > limit + 2) s = s.substr(0, limit) + "...";
    out += s;
    return;
  }
  if (depth >= 4 && !v.empty()) {
    out += v.is_object() ? "{...}" : "[...]";
    return;
  }
  out += v.is_object() ? '{' : '[';
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!first) out += ',';
    first = false;
    if (out.size() > limit) {
      out += "...";
      break;
    }
    if (v.is_object()) out += json_text(json(it.key())) + ':';
    excerpt_into(it.value(), out, limit, depth + 1);
  }
  out += v.is_object() ? '}' : ']';
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Edit distance with adjacent transpositions (optimal string alignment), case-insensitive.
size_t edit_distance(const std::string& a_in, const std::string& b_in) {
  const std::string a = lower(a_in), b = lower(b_in);
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

// "[json.exception.parse_error.101] parse error at line 1, column 6: syntax error ..." ->
// "invalid JSON at line 1, column 6: syntax error ..."; `at_end` says the parser stopped at the
// end of the text.
std::string describe_json_error(const json::exception& e, bool at_end) {
  std::string what = e.what();
  const auto bracket = what.find("] ");
  if (what.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos) {
    what = what.substr(bracket + 2);
  }
  const std::string prefix = "parse error ";
  if (what.rfind(prefix, 0) == 0) {
    what = "invalid JSON " + what.substr(prefix.size());
  } else {
    what = "invalid JSON: " + what;
  }
  if (at_end || what.find("unexpected end of input") != std::string::npos) {
    what += " (is the file truncated?)";
  }
  // "last read: ..." quotes the input, which may not be valid UTF-8: keep the message printable.
  std::string printable;
  for (const char c : what) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      printable += c;
    } else {
      static const char kHex[] = "0123456789ABCDEF";
      printable += "\\x";
      printable += kHex[byte >> 4];
      printable += kHex[byte & 15];
    }
  }
  return printable;
}

// nlohmann's number overflow names the literal but not where it is: "invalid JSON: number
// overflow parsing '1e999'" gets " at line L, column C" of the literal's first appearance.
std::string with_position(const std::string& what, const std::string& text) {
  const std::string marker = "parsing '";
  const auto start = what.find(marker);
  const auto end = start == std::string::npos ? start : what.find('\'', start + marker.size());
  if (end == std::string::npos) return what;
  const std::string literal = what.substr(start + marker.size(), end - start - marker.size());
  const auto at = literal.empty() ? std::string::npos : text.find(literal);
  if (at == std::string::npos) return what;
  size_t line = 1, column = 1;
  for (size_t i = 0; i < at; ++i) {
    column = text[i] == '\n' ? 1 : column + 1;
    line += text[i] == '\n';
  }
  const std::string prefix = "invalid JSON";
  const std::string rest = what.rfind(prefix + ": ", 0) == 0 ? what.substr(prefix.size() + 2) : what;
  return prefix + " at line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + rest +
         " (beyond the range of a double)";
}

}  // namespace

std::string json_pointer(const std::string& parent, const std::string& key) {
  std::string out = parent + "/";
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else if (const auto byte = static_cast<unsigned char>(c); byte < 0x20 || byte == 0x7f) {
      // Pointers appear in messages: a NUL would cut the message short, an escape sequence
      // would reach the terminal. Written as JSON writes them.
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string json_pointer(const std::string& parent, size_t index) {
  return parent + "/" + std::to_string(index);
}

std::string json_text(const json& v, int indent) {
  // Strings from a parsed file are valid UTF-8; a json built in code may not be.
  return v.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string json_text_exact(const json& v, int indent) { return v.dump(indent); }

std::string json_excerpt(const json& v) {
  std::string out;
  excerpt_into(v, out, 80, 0);
  return out;
}

std::string closest_match(const std::string& word, const std::vector<std::string>& known) {
  if (word.size() > 64) return "";  // not a typo; keeps the distance table small
  std::string best;
  size_t best_distance = 3;
  for (const auto& k : known) {
    const size_t dist = edit_distance(word, k);
    if (dist < best_distance) {
      best_distance = dist;
      best = k;
    }
  }
  return best;
}

std::string comma_list(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i > 0 ? ", " : "") + words[i];
  return out;
}

std::string quoted_choices(const std::vector<std::string>& choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
    out += json_text(json(choices[i]));
  }
  return out;
}

void JsonChecker::fail(const std::string& pointer, const std::string& what) const {
  throw ConfigError(pointer.empty() ? source + ": " + what : source + ": " + pointer + ": " + what);
}

void JsonChecker::expected(const std::string& pointer, const std::string& what, const json& got) const {
  fail(pointer, "expected " + what + ", got " + json_excerpt(got));
}

void JsonChecker::check_keys(const json& obj, const std::string& pointer,
                             const std::vector<std::string>& known) const {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string hint = closest_match(key, known);
    fail(json_pointer(pointer, key), hint.empty() ? "unknown key (expected one of: " + comma_list(known) + ")"
                                                  : "unknown key (did you mean " + json_text(json(hint)) + "?)");
  }
}

json JsonChecker::parse(const std::string& text, int max_depth, const std::string& what) const {
  if (std::all_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    fail("", "the file is empty (expected " + what + ")");
  }
  // Duplicate keys would otherwise pass silently (the last one wins), so track the keys of each
  // open object, and where we are, while parsing.
  struct Frame {
    bool is_object;
    std::set<std::string> keys;
    std::string key;   // objects: the key being read
    size_t index = 0;  // arrays: the element being read
  };
  std::vector<Frame> frames;
  const auto pointer = [&frames] {
    std::string p;
    for (const auto& f : frames) p = f.is_object ? json_pointer(p, f.key) : json_pointer(p, f.index);
    return p;
  };
  const auto element_done = [&frames] {
    if (!frames.empty() && !frames.back().is_object) ++frames.back().index;
  };
  const json::parser_callback_t callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (frames.size() >= static_cast<size_t>(max_depth)) {
          fail(pointer(), "JSON nested more than " + std::to_string(max_depth) + " levels deep");
        }
        frames.push_back(Frame{event == json::parse_event_t::object_start, {}, {}, 0});
        break;
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) fail(pointer(), "duplicate key");
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };
  try {
    return json::parse(text, callback);
  } catch (const json::parse_error& e) {
    // Past the end means the parser ran out of text.
    fail("", describe_json_error(e, e.byte > text.size()));
  } catch (const json::exception& e) {  // out_of_range for a number like 1e999
    fail("", with_position(describe_json_error(e, false), text));
  }
}

}  // namespace mlpbench
