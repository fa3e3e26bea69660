#include "event/debezium_default.h"

#include <cctype>

#include "event/pg_type_oids.h"

namespace cdc::event {
namespace {

bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

// A function call at the start of the expression: an optional '(', a name of [A-Za-z0-9_.], '(' and a ')'
// somewhere after it. What Debezium's FUNCTION_DEFAULT_PATTERN finds (`now()`, `nextval('s'::regclass)`,
// `CURRENT_TIMESTAMP(3)`), but not `(1 + 2)` or `'x'::text`.
bool IsFunctionCall(std::string_view e) {
  size_t i = 0;
  if (i < e.size() && e[i] == '(') ++i;
  size_t name = i;
  while (i < e.size() && IsIdentChar(e[i])) ++i;
  if (i == name || i >= e.size() || e[i] != '(') return false;
  return e.find(')', i + 1) != std::string_view::npos;
}

bool IsCurrentDateTime(std::string_view e) {
  std::string lower;
  for (char c : e) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower == "current_timestamp" || lower == "current_time" || lower == "current_date" || lower == "localtime" ||
         lower == "localtimestamp";
}

// Debezium's extractDefault(value): the text inside the first '...' (matched lazily), the expression itself when
// it has no quote, nullopt for `NULL::type`.
std::optional<std::string> Extract(std::string_view e) {
  size_t q = e.find('\'');
  if (q == std::string_view::npos) {
    if (e.substr(0, 6) == "NULL::") return std::nullopt;
    return std::string(e);
  }
  size_t end = e.find('\'', q + 1);
  if (end == std::string_view::npos) return std::nullopt;  // no closing quote: Debezium's matcher fails
  return std::string(e.substr(q + 1, end - q - 1));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Java's Integer.parseInt & co. on the text: an optional sign and digits.
bool IsJavaInteger(std::string_view t) {
  size_t i = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  if (i == t.size()) return false;
  for (; i < t.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(t[i]))) return false;
  }
  return true;
}

// new BigDecimal(text) for what PostgreSQL prints: sign, digits, optional fraction (no NaN/Infinity).
bool IsPlainDecimal(std::string_view t) {
  size_t i = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  bool digits = false, dot = false;
  for (; i < t.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(t[i]))) digits = true;
    else if (t[i] == '.' && !dot) dot = true;
    else return false;
  }
  return digits;
}

// 8-4-4-4-12 hex digits, what UUID.fromString accepts in PostgreSQL's output form.
bool IsUuid(std::string_view t) {
  if (t.size() != 36) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? t[i] != '-' : !std::isxdigit(static_cast<unsigned char>(t[i]))) return false;
  }
  return true;
}

// The enum label of `'label'::type` when `type` is the column's enum type (Debezium's extractEnumDefault: the
// cast must name the type, unqualified as pg_get_expr prints a type on the search path, or qualified).
std::optional<std::string> EnumDefault(const Column& c, std::string_view e) {
  std::string_view qualified = c.type_name;  // "schema.name"
  size_t dot = qualified.rfind('.');
  std::string_view unqualified = dot == std::string_view::npos ? qualified : qualified.substr(dot + 1);
  for (std::string_view type : {unqualified, qualified}) {
    if (type.empty()) continue;
    std::string suffix = "::" + std::string(type);
    if (e.size() <= suffix.size() || e.substr(e.size() - suffix.size()) != suffix) continue;
    std::string_view lit = e.substr(0, e.size() - suffix.size());
    if (lit.size() >= 2 && lit.front() == '\'' && lit.back() == '\'') return std::string(lit.substr(1, lit.size() - 2));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> DebeziumDefaultText(const Column& c) {
  if (!c.default_expr) return std::nullopt;
  std::string_view e = Trim(*c.default_expr);
  if (c.type_oid >= kFirstNonBuiltinTypeOid) {
    if (c.user_type && c.user_type->kind == UserType::Kind::kEnum && !c.user_type->array) return EnumDefault(c, e);
    return std::nullopt;  // domains, arrays, extension types: Debezium has no parser for their type name
  }
  // The placeholder Debezium puts in for a generated value, per type (nullopt: no parser for the type).
  std::optional<std::string> placeholder;
  switch (c.type_oid) {
    case kInt2Oid: case kInt4Oid: case kInt8Oid: placeholder = "0"; break;
    case kNumericOid: case kFloat4Oid: case kFloat8Oid: placeholder = "0.0"; break;
    case kBoolOid: placeholder = "false"; break;
    case kTextOid: case kVarcharOid: case kBpcharOid: case kXmlOid: placeholder = ""; break;
    case kJsonOid: case kJsonbOid: placeholder = "{}"; break;
    case kUuidOid: placeholder = "00000000-0000-0000-0000-000000000000"; break;
    case kDateOid: placeholder = "1970-01-01"; break;
    case kTimeOid: placeholder = "00:00:00"; break;
    case kTimestampOid: placeholder = "1970-01-01 00:00:00"; break;
    case kTimestamptzOid: placeholder = "1970-01-01 00:00:00+00"; break;
    case kIntervalOid: placeholder = "00:00:00"; break;  // PGInterval("epoch") reads as a zero interval
    case kBitOid: placeholder = "00"; break;
    case kVarbitOid: placeholder = "0"; break;
    default: return std::nullopt;
  }
  std::optional<std::string> v;
  if (IsFunctionCall(e) || IsCurrentDateTime(e)) {
    v = placeholder;
  } else {
    v = Extract(e);
  }
  if (!v) return std::nullopt;
  // Parsed as Debezium's mapper for the type parses it; what fails to parse is no default.
  switch (c.type_oid) {
    case kInt2Oid: case kInt4Oid: case kInt8Oid: {
      std::string_view t = Trim(*v);
      if (!IsJavaInteger(t)) return std::nullopt;
      return std::string(t[0] == '+' ? t.substr(1) : t);
    }
    case kNumericOid: {
      std::string_view t = Trim(*v);
      if (!IsPlainDecimal(t)) return std::nullopt;
      return std::string(t);
    }
    case kFloat4Oid: case kFloat8Oid: return std::string(Trim(*v));  // the encoder checks the number
    case kBoolOid: {
      // Boolean.parseBoolean: "true" in any case is true, anything else false.
      std::string lower;
      for (char ch : *v) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
      return std::string(lower == "true" ? "t" : "f");
    }
    case kUuidOid:
      if (!IsUuid(Trim(*v))) return std::nullopt;
      return std::string(Trim(*v));
    case kBitOid:
      // A one-character bit string is Debezium's boolean; the placeholder "00" on a bit(1) column is a string
      // Debezium's boolean converter cannot take: no default.
      if (c.type_modifier == 1 && v->size() != 1) return std::nullopt;
      return v;
    default: return v;
  }
}

}  // namespace cdc::event
