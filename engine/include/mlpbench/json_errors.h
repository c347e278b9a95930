#pragma once
// Reading JSON that a user wrote (or that may be hostile), with messages that say where:
//   <source>: <JSON pointer>: <what>
// JSON pointers (RFC 6901), bounded excerpts of the offending value, "did you mean" for a
// misspelt key or choice, and a strict parser that refuses duplicate keys (which a plain parse
// would let pass, the last one winning) and deep nesting. Errors are ConfigError (exit 2).
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlpbench {

// The pointer of member `key` (escaped: '~' -> "~0", '/' -> "~1"; control characters as \u00XX,
// for messages) or element `index` of `parent`.
std::string json_pointer(const std::string& parent, const std::string& key);
std::string json_pointer(const std::string& parent, size_t index);

// `v` as JSON text, compact or with `indent` spaces, invalid UTF-8 replaced (so a value built
// in code never throws). The engine's one place that prints JSON: each file that calls
// nlohmann's dump() compiles its printer again, which costs seconds under the sanitizers.
std::string json_text(const nlohmann::json& v, int indent = -1);
// The same, but invalid UTF-8 throws nlohmann::json::type_error: for text that must read back
// as the value it was (a checkpoint's metadata, a safetensors header).
std::string json_text_exact(const nlohmann::json& v, int indent = -1);
// A compact excerpt of `v` for a message: cut with "..." past about 80 characters or 4 levels;
// non-finite numbers as NaN / Infinity.
std::string json_excerpt(const nlohmann::json& v);

// The closest of `known` to `word` (case-insensitive edit distance with transpositions) if it
// is within 2 edits, else "".
std::string closest_match(const std::string& word, const std::vector<std::string>& known);
// "a, b, c".
std::string comma_list(const std::vector<std::string>& words);
// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
std::string quoted_choices(const std::vector<std::string>& choices);

// Throws ConfigError messages that start with the source (a file, or a file and a part of it).
struct JsonChecker {
  const std::string& source;

  [[noreturn]] void fail(const std::string& pointer, const std::string& what) const;
  // "expected <what>, got <excerpt of got>".
  [[noreturn]] void expected(const std::string& pointer, const std::string& what, const nlohmann::json& got) const;
  // Refuses a key of `obj` (at `pointer`) that is not in `known`, naming the closest known key
  // or, without one close enough, all of them.
  void check_keys(const nlohmann::json& obj, const std::string& pointer, const std::vector<std::string>& known) const;
  // Parses `text` (`what`: what it should hold, for the message on empty text), refusing empty
  // text, invalid JSON (line and column; "is the file
  // truncated?" when it ends early), numbers out of range, a duplicate key (its pointer) and
  // nesting deeper than `max_depth`.
  nlohmann::json parse(const std::string& text, int max_depth, const std::string& what) const;
};

}  // namespace mlpbench
