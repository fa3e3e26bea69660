// LoadViews (plan.h): a views file -> checked, typed, compiled ViewPlans.
//
// The file is split into statements with libpg_query's scanner and each statement is parsed on its
// own (so that a syntax error in one view does not hide the problems of the others). The JSON parse
// tree is analysed into a typed tree (Node) with PostgreSQL's name resolution, operator and type
// rules, checked against the supported subset, and compiled into expr.h's Expr nodes in the shape
// plan.h describes. Every problem is collected with the byte offset of the node that causes it;
// LoadViews turns them into "<file>:<line>:<column>: ..." lines.
#include <pg_query.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "base/closest_name.h"
#include "base/terminal_text.h"
#include "sql/datetime.h"
#include "sql/expr.h"
#include "sql/numeric.h"
#include "sql/plan.h"

namespace cdc::sql {
namespace {

using json = nlohmann::json;
using expr::ArithOp;
using expr::CompareOp;
using expr::ExprPtr;
using expr::TimeUnit;

const Type kBool{TypeId::kBool};
const Type kInt4{TypeId::kInt4};
const Type kInt8{TypeId::kInt8};
const Type kNumeric{TypeId::kNumeric};
const Type kFloat8{TypeId::kFloat8};
const Type kText{TypeId::kText};
const Type kUnknownType{TypeId::kUnknown};

// ---- problems and locations ----------------------------------------------------------------------

struct Problem {
  size_t offset;        // byte offset in the file
  std::string message;  // without the "<file>:<line>:<col>: " prefix
};

// Line and column (1-based; the column counts characters, as PostgreSQL's error cursor does).
std::pair<int, int> LineColumn(std::string_view text, size_t offset) {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  int column = 1;
  for (size_t i = line_start; i < offset && i < text.size(); ++i) {
    column += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
  }
  return {line, column};
}

// Byte offset of the 1-based character position `cursor` in `text`.
size_t CharPositionToOffset(std::string_view text, int cursor) {
  size_t i = 0;
  int chars = 1;
  while (i < text.size() && chars < cursor) {
    ++i;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    ++chars;
  }
  return i;
}

// Offset of the first token of a statement: skips whitespace and comments.
size_t SkipSpaceAndComments(std::string_view text, size_t i) {
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      int depth = 0;  // PostgreSQL's block comments nest
      while (i < text.size()) {
        if (text.compare(i, 2, "/*") == 0) {
          ++depth;
          i += 2;
        } else if (text.compare(i, 2, "*/") == 0) {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
    } else {
      break;
    }
  }
  return i;
}

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         (static_cast<unsigned char>(c) & 0x80) != 0;
}

// The offset of the last whole-word, case-insensitive occurrence of `word` in [from, to), or `fallback`.
size_t KeywordBefore(std::string_view text, size_t from, size_t to, std::string_view word, size_t fallback) {
  if (to > text.size()) to = text.size();
  for (size_t i = to; i-- > from;) {
    if (i + word.size() > to) continue;
    bool match = true;
    for (size_t k = 0; k < word.size() && match; ++k) {
      char c = text[i + k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      match = c == word[k];
    }
    if (!match) continue;
    if (i > 0 && IsWordChar(text[i - 1])) continue;
    if (i + word.size() < text.size() && IsWordChar(text[i + word.size()])) continue;
    return i;
  }
  return fallback;
}

// The smallest "location" in a parse subtree, or -1.
int FirstLocation(const json& n) {
  int best = -1;
  if (n.is_object()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      int l = -1;
      if (it.key() == "location" && it.value().is_number_integer()) {
        l = it.value().get<int>();
      } else {
        l = FirstLocation(it.value());
      }
      if (l >= 0 && (best < 0 || l < best)) best = l;
    }
  } else if (n.is_array()) {
    for (const json& e : n) {
      int l = FirstLocation(e);
      if (l >= 0 && (best < 0 || l < best)) best = l;
    }
  }
  return best;
}

// The parse tree without its "location" fields: what the fingerprint hashes.
json StripLocations(const json& n) {
  if (n.is_object()) {
    json out = json::object();
    for (auto it = n.begin(); it != n.end(); ++it) {
      // Locations move with whitespace and comments; OR REPLACE does not change what a view computes.
      if (it.key() == "location" || it.key() == "stmt_location" || it.key() == "stmt_len" || it.key() == "replace") {
        continue;
      }
      out[it.key()] = StripLocations(it.value());
    }
    return out;
  }
  if (n.is_array()) {
    json out = json::array();
    for (const json& e : n) out.push_back(StripLocations(e));
    return out;
  }
  return n;
}

// FNV-1a, 64 bits: stable across runs and builds (the fingerprint is stored in checkpoints).
uint64_t Fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string Hex64(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i) {
    s[static_cast<size_t>(i)] = kDigits[v & 15];
    v >>= 4;
  }
  return s;
}

// The node's type name in the parse tree ({"ColumnRef": {...}} -> "ColumnRef") and its body.
std::string_view NodeKind(const json& n) {
  if (!n.is_object() || n.empty()) return "";
  return n.begin().key();
}
const json& NodeBody(const json& n) { return n.begin().value(); }

int LocationOf(const json& n) {
  if (!n.is_object() || n.empty()) return -1;
  const json& body = NodeBody(n);
  if (body.is_object()) {
    auto it = body.find("location");
    if (it != body.end() && it->is_number_integer() && it->get<int>() >= 0) return it->get<int>();
  }
  return FirstLocation(n);
}

std::string StringValue(const json& n) {  // {"String": {"sval": "x"}}
  if (NodeKind(n) == "String") return NodeBody(n).value("sval", "");
  return "";
}

std::string Quote(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q.push_back('"');
  q.append(s.data(), s.size());
  q.push_back('"');
  return q;
}

// ---- the typed tree ------------------------------------------------------------------------------

enum class NodeType : uint8_t {
  kColumn, kConst, kArith, kDateArith, kNeg, kCompare, kAnd, kOr, kNot, kIsNull, kIn, kLike, kCase,
  kCoalesce, kNullIf, kCast, kConcat, kLower, kUpper, kLength, kSubstr, kDateTrunc, kExtract, kAgg,
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  NodeType kind;
  Type type;
  int loc = -1;
  std::vector<NodePtr> kids;
  int op = 0;         // ArithOp, CompareOp, TimeUnit, AggregateKind
  bool flag = false;  // negated (IS NOT NULL, NOT IN, NOT LIKE), ILIKE's case folding, date_part's double
  bool flag2 = false;
  Datum value;        // kConst
  int table = -1;     // kColumn: 0 or 1
  int column = -1;    // kColumn: index in the catalog table
  int varchar_length = 0;  // kCast to varchar(n)
  int agg_index = -1;      // kAgg: index in the plan's aggregates
};

NodePtr MakeNode(NodeType kind, Type type, int loc) {
  auto n = std::make_unique<Node>();
  n->kind = kind;
  n->type = type;
  n->loc = loc;
  return n;
}

bool SameValue(const Datum& a, const Datum& b) {
  if (a.kind != b.kind) return false;
  if (a.is_null()) return true;
  if (a.kind == Datum::Kind::kNumeric && a.scale != b.scale) return false;  // 1.5 and 1.50 print differently
  return Compare(a, b) == 0;
}

// Structural equality, ignoring locations: how GROUP BY expressions are matched in the SELECT list.
bool Same(const Node& a, const Node& b) {
  if (a.kind != b.kind || !(a.type == b.type) || a.op != b.op || a.flag != b.flag || a.flag2 != b.flag2 ||
      a.table != b.table || a.column != b.column || a.varchar_length != b.varchar_length ||
      a.kids.size() != b.kids.size()) {
    return false;
  }
  if (a.kind == NodeType::kConst && !SameValue(a.value, b.value)) return false;
  for (size_t i = 0; i < a.kids.size(); ++i) {
    if ((a.kids[i] == nullptr) != (b.kids[i] == nullptr)) return false;
    if (a.kids[i] && !Same(*a.kids[i], *b.kids[i])) return false;
  }
  return true;
}

bool ContainsAggregate(const Node& n) {
  if (n.kind == NodeType::kAgg) return true;
  for (const NodePtr& k : n.kids) {
    if (k && ContainsAggregate(*k)) return true;
  }
  return false;
}

// ---- types ---------------------------------------------------------------------------------------

bool IsNumberType(TypeId t) {
  return t == TypeId::kInt2 || t == TypeId::kInt4 || t == TypeId::kInt8 || t == TypeId::kNumeric ||
         t == TypeId::kFloat4 || t == TypeId::kFloat8;
}
bool IsDateTimeType(TypeId t) { return t == TypeId::kDate || t == TypeId::kTimestamp || t == TypeId::kTimestampTz; }

// Position in PostgreSQL's implicit-cast chains (int2 -> int4 -> int8 -> numeric -> float4 -> float8,
// date -> timestamp -> timestamptz).
int Rank(TypeId t) {
  switch (t) {
    case TypeId::kInt2: return 1;
    case TypeId::kInt4: return 2;
    case TypeId::kInt8: return 3;
    case TypeId::kNumeric: return 4;
    case TypeId::kFloat4: return 5;
    case TypeId::kFloat8: return 6;
    case TypeId::kDate: return 1;
    case TypeId::kTimestamp: return 2;
    case TypeId::kTimestampTz: return 3;
    default: return 0;
  }
}

enum class Category { kUnknown, kBool, kNumber, kText, kDateTime };
Category CategoryOf(TypeId t) {
  if (t == TypeId::kUnknown) return Category::kUnknown;
  if (t == TypeId::kBool) return Category::kBool;
  if (IsNumberType(t)) return Category::kNumber;
  if (t == TypeId::kText) return Category::kText;
  return Category::kDateTime;
}

bool CanCoerceImplicitly(TypeId from, TypeId to) {
  if (from == to || from == TypeId::kUnknown) return true;
  Category c = CategoryOf(from);
  return c == CategoryOf(to) && (c == Category::kNumber || c == Category::kDateTime) && Rank(from) < Rank(to);
}

// The type of a binary arithmetic or comparison operator over two numbers (PostgreSQL's operators:
// int2 op int4 -> int4, int op numeric -> numeric, anything op float8 -> float8, float4 op float4 ->
// float4, float4 op a non-float4 -> float8).
TypeId ArithmeticType(TypeId a, TypeId b) {
  if (a == TypeId::kFloat4 && b == TypeId::kFloat4) return TypeId::kFloat4;
  if (a == TypeId::kFloat4 || a == TypeId::kFloat8 || b == TypeId::kFloat4 || b == TypeId::kFloat8) return TypeId::kFloat8;
  return Rank(a) >= Rank(b) ? a : b;
}

struct ColumnType {
  bool supported = false;
  Type type;
  int varchar_length = 0;
  std::string name;  // for messages: "bytea"
};

std::string BuiltinTypeName(uint32_t oid) {
  switch (oid) {
    case 17: return "bytea";
    case 18: return "\"char\"";
    case 26: return "oid";
    case 114: return "json";
    case 142: return "xml";
    case 600: return "point";
    case 650: return "cidr";
    case 790: return "money";
    case 829: return "macaddr";
    case 869: return "inet";
    case 1083: return "time without time zone";
    case 1186: return "interval";
    case 1266: return "time with time zone";
    case 1560: return "bit";
    case 1562: return "bit varying";
    case 3802: return "jsonb";
    case 3614: return "tsvector";
    default: break;
  }
  if (oid >= 1000 && oid < 1300) return "an array type (oid " + std::to_string(oid) + ")";
  return "type oid " + std::to_string(oid);
}

ColumnType MapColumnType(uint32_t oid, int32_t typmod, const std::optional<event::UserType>& user, const std::string& user_name) {
  ColumnType ct;
  ct.supported = true;
  switch (oid) {
    case 16: ct.type = {TypeId::kBool}; return ct;
    case 21: ct.type = {TypeId::kInt2}; return ct;
    case 23: ct.type = {TypeId::kInt4}; return ct;
    case 20: ct.type = {TypeId::kInt8}; return ct;
    case 1700:
      ct.type = {TypeId::kNumeric};
      if (typmod >= 4) {
        ct.type.precision = static_cast<int16_t>(((typmod - 4) >> 16) & 0xffff);
        ct.type.scale = static_cast<int16_t>((typmod - 4) & 0xffff);
        if (ct.type.precision > 38) {  // wider than views compute exactly: treat as unconstrained
          ct.type.precision = -1;
          ct.type.scale = -1;
        }
      }
      return ct;
    case 700: ct.type = {TypeId::kFloat4}; return ct;
    case 701: ct.type = {TypeId::kFloat8}; return ct;
    case 25:
    case 1043:
    case 1042:
    case 19:
    case 2950: ct.type = {TypeId::kText}; return ct;
    case 1082: ct.type = {TypeId::kDate}; return ct;
    case 1114: ct.type = {TypeId::kTimestamp}; return ct;
    case 1184: ct.type = {TypeId::kTimestampTz}; return ct;
    default: break;
  }
  if (user && !user->array) {
    if (user->kind == event::UserType::Kind::kEnum) {
      ct.type = {TypeId::kText};
      return ct;
    }
    if (user->kind == event::UserType::Kind::kDomain && user->base_type_oid < event::kFirstNonBuiltinTypeOid) {
      ColumnType base = MapColumnType(user->base_type_oid, user->base_type_modifier, std::nullopt, "");
      if (base.supported) return base;
      base.name = user_name.empty() ? base.name : user_name + " (a domain over " + base.name + ")";
      return base;
    }
  }
  ct.supported = false;
  ct.name = oid >= event::kFirstNonBuiltinTypeOid ? (user_name.empty() ? "type oid " + std::to_string(oid) : user_name)
                                                  : BuiltinTypeName(oid);
  return ct;
}

// ---- the planner of one view -------------------------------------------------------------------

struct RangeEntry {
  std::string ref_name;   // the name columns are qualified with (alias, else table name)
  std::string key;        // "public.orders"
  std::string table;      // "orders"
  bool has_alias = false;
  const event::TableSchema* schema = nullptr;
  int loc = -1;
};

enum class Clause { kSelect, kWhere, kGroupBy, kHaving, kJoin };

const char* ClauseName(Clause c) {
  switch (c) {
    case Clause::kSelect: return "SELECT";
    case Clause::kWhere: return "WHERE";
    case Clause::kGroupBy: return "GROUP BY";
    case Clause::kHaving: return "HAVING";
    case Clause::kJoin: return "JOIN conditions";
  }
  return "";
}

struct Ctx {
  Clause clause = Clause::kSelect;
  bool in_aggregate = false;
};

class ViewPlanner {
 public:
  ViewPlanner(const Catalog& catalog, std::string_view file_text, size_t base, std::string view_name,
              std::vector<Problem>* problems)
      : catalog_(catalog), text_(file_text), base_(base), name_(std::move(view_name)), problems_(problems) {}

  // Plans the ViewStmt body `stmt` into `plan`; false (with problems recorded) when it cannot.
  bool Plan(const json& stmt, size_t stmt_end, ViewPlan* plan);

 private:
  void Error(int loc, const std::string& what, const std::string& hint) {
    ++errors_;
    Problem p{base_ + static_cast<size_t>(loc < 0 ? 0 : loc),
              "view " + Quote(name_) + ": " + what + (hint.empty() ? "" : " (" + hint + ")")};
    // A node analysed twice (GROUP BY naming an output column) reports its problem once.
    for (const Problem& q : *problems_) {
      if (q.offset == p.offset && q.message == p.message) return;
    }
    problems_->push_back(std::move(p));
  }
  void Unsupported(int loc, const std::string& what, const std::string& hint) {
    Error(loc, what + " is not supported in views", hint);
  }
  int FindKeyword(int before, std::string_view word, int fallback) const {
    size_t lo = base_ + (stmt_start_ > 0 ? static_cast<size_t>(stmt_start_) : 0);
    size_t hi = base_ + static_cast<size_t>(before < 0 ? 0 : before);
    size_t at = KeywordBefore(text_, lo, hi, word, std::string::npos);
    return at == std::string::npos ? fallback : static_cast<int>(at - base_);
  }

  bool CheckSelectShape(const json& select, int view_loc);
  void ReportStructuralProblems(const json& n);
  bool PlanFrom(const json& select, int view_loc);
  bool AddTable(const json& range_var);
  void PlanJoinCondition(const json& quals, int join_loc);

  NodePtr Analyze(const json& n, Ctx ctx);
  NodePtr AnalyzeColumnRef(const json& body);
  NodePtr AnalyzeConst(const json& body);
  int64_t IntConstValue(const json& body) const;
  NodePtr AnalyzeAExpr(const json& body, Ctx ctx);
  NodePtr AnalyzeFuncCall(const json& body, Ctx ctx);
  NodePtr AnalyzeAggregate(const std::string& fname, const json& body, Ctx ctx);
  NodePtr AnalyzeTypeCast(const json& body, Ctx ctx);
  NodePtr AnalyzeCase(const json& body, Ctx ctx);
  NodePtr AnalyzeBool(const json& body, Ctx ctx);

  // Implicit coercion to `to` (literals are folded); null and an error when not allowed.
  NodePtr Coerce(NodePtr n, const Type& to, const std::string& context);
  NodePtr ExplicitCast(NodePtr n, const Type& to, int varchar_length, int loc);
  NodePtr RequireBool(NodePtr n, const std::string& what);
  // select_common_type over `nodes` (all coerced to it); false on a mismatch (error reported).
  bool CommonType(std::vector<NodePtr>* nodes, const std::string& construct, Type* out);
  NodePtr Comparison(CompareOp op, NodePtr a, NodePtr b, int loc, const std::string& opname);
  NodePtr Arithmetic(ArithOp op, NodePtr a, NodePtr b, int loc, const std::string& opname);
  bool ParseTypeName(const json& type_name, Type* type, int* varchar_length);

  bool GroupCheck(NodePtr* n, std::vector<NodePtr>* keys);
  int InputPosition(int table, int column) const;
  ExprPtr CompileInput(const Node& n) const;
  ExprPtr CompileGroup(const Node& n, const std::vector<NodePtr>& keys) const;
  ExprPtr Compile(const Node& n, const std::vector<NodePtr>* keys) const;

  std::string OutputName(const json& res_target) const;

  const Catalog& catalog_;
  std::string_view text_;  // the whole file
  size_t base_;            // offset of this statement's text in the file: node locations add to it
  std::string name_;
  std::vector<Problem>* problems_;
  int errors_ = 0;
  int stmt_start_ = 0;

  std::vector<RangeEntry> tables_;
  std::optional<JoinSpec> join_;
  std::pair<NodePtr, NodePtr> join_keys_;
  std::vector<NodePtr> aggregates_;  // kAgg nodes, distinct by Same()
  std::set<std::pair<int, int>> used_columns_;
  std::vector<std::pair<int, int>> layout_;  // input row position -> (table, column)
};

// ---- FROM ----------------------------------------------------------------------------------------

bool ViewPlanner::AddTable(const json& rv) {
  const json& b = NodeBody(rv);
  RangeEntry e;
  e.loc = b.value("location", -1);
  std::string schema = b.value("schemaname", "");
  e.table = b.value("relname", "");
  if (b.contains("catalogname")) {
    Error(e.loc, "a table name with a database qualifier", "write schema.table");
    return false;
  }
  e.key = (schema.empty() ? "public" : schema) + "." + e.table;
  auto it = catalog_.find(e.key);
  if (it == catalog_.end()) {
    std::vector<std::string> candidates;
    std::string captured;
    for (const auto& [key, t] : catalog_) {
      candidates.push_back(schema.empty() && t.schema == "public" ? t.table : key);
      captured += (captured.empty() ? "" : ", ") + key;
    }
    std::string written = schema.empty() ? e.table : e.key;
    std::string closest = ClosestName(written, candidates);
    std::string hint = closest.empty() ? "" : "did you mean " + Quote(closest) + "? ";
    hint += captured.empty() ? "no table is captured" : "captured tables: " + captured;
    Error(e.loc, "relation " + Quote(written) + " is not a captured table", hint);
    return false;
  }
  e.schema = &it->second;
  if (b.contains("alias")) {
    e.ref_name = b["alias"].value("aliasname", "");
    e.has_alias = true;
    if (b["alias"].contains("colnames")) {
      Error(e.loc, "column aliases in FROM (t(a, b))", "alias the columns in the SELECT list instead");
      return false;
    }
  } else {
    e.ref_name = e.table;
  }
  for (const RangeEntry& other : tables_) {
    if (other.ref_name == e.ref_name) {
      Error(e.loc, "table name " + Quote(e.ref_name) + " specified more than once", "give one of them an alias");
      return false;
    }
  }
  tables_.push_back(std::move(e));
  return true;
}

bool ViewPlanner::PlanFrom(const json& select, int view_loc) {
  if (!select.contains("fromClause")) {
    Unsupported(view_loc, "a SELECT without FROM", "a view reads one captured table, or two joined: SELECT ... FROM orders");
    return false;
  }
  const json& from = select["fromClause"];
  if (from.size() > 1) {
    Unsupported(LocationOf(from[1]), "a comma-separated FROM list (a cross join)",
                "join two tables with FROM a JOIN b ON a.x = b.y");
    return false;
  }
  const json& item = from[0];
  std::string_view kind = NodeKind(item);
  auto refuse_item = [&](const json& n) {
    std::string_view k = NodeKind(n);
    int loc = LocationOf(n);
    if (k == "RangeSubselect") {
      int paren = loc;
      // The subquery's own nodes start after "(SELECT": point at the parenthesis.
      for (int i = loc; i > stmt_start_; --i) {
        if (text_[base_ + static_cast<size_t>(i) - 1] == '(') {
          paren = i - 1;
          break;
        }
      }
      Unsupported(paren, "a subquery in FROM", "a view reads captured tables directly; define the inner query as the view");
    } else if (k == "RangeFunction") {
      Unsupported(loc, "a function in FROM", "a view reads captured tables only");
    } else if (k == "JoinExpr") {
      Unsupported(LocationOf(NodeBody(n)["rarg"]), "a join of three or more tables",
                  "a view joins at most two captured tables");
    } else {
      Unsupported(loc, "this FROM item", "a view reads one captured table, or two joined");
    }
  };
  if (kind == "RangeVar") return AddTable(item);
  if (kind != "JoinExpr") {
    refuse_item(item);
    return false;
  }
  const json& j = NodeBody(item);
  const json& larg = j["larg"];
  const json& rarg = j["rarg"];
  if (NodeKind(larg) == "JoinExpr") {
    int third = LocationOf(rarg);
    Unsupported(FindKeyword(third, "join", third), "a join of three or more tables", "a view joins at most two captured tables");
    return false;
  }
  if (NodeKind(larg) != "RangeVar") {
    refuse_item(larg);
    return false;
  }
  if (NodeKind(rarg) != "RangeVar") {
    if (NodeKind(rarg) == "JoinExpr") {
      Unsupported(LocationOf(NodeBody(rarg)["rarg"]), "a join of three or more tables",
                  "a view joins at most two captured tables");
    } else {
      refuse_item(rarg);
    }
    return false;
  }
  int rloc = LocationOf(rarg);
  std::string jt = j.value("jointype", "");
  int join_kw = FindKeyword(rloc, "join", rloc);
  if (j.value("isNatural", false)) {
    Unsupported(FindKeyword(rloc, "natural", join_kw), "NATURAL JOIN", "write JOIN ... ON a.x = b.y");
    return false;
  }
  if (jt == "JOIN_RIGHT") {
    Unsupported(FindKeyword(rloc, "right", join_kw), "RIGHT JOIN", "swap the tables and write LEFT JOIN");
    return false;
  }
  if (jt == "JOIN_FULL") {
    Unsupported(FindKeyword(rloc, "full", join_kw), "FULL JOIN", "only INNER and LEFT joins are maintained");
    return false;
  }
  if (jt != "JOIN_INNER" && jt != "JOIN_LEFT") {
    Unsupported(join_kw, "this kind of join", "only INNER and LEFT joins are maintained");
    return false;
  }
  if (j.contains("usingClause")) {
    // The USING list carries no location: the keyword follows the right table.
    size_t from = base_ + static_cast<size_t>(rloc);
    size_t to = text_.find('(', from);
    size_t at = KeywordBefore(text_, from, to == std::string_view::npos ? text_.size() : to, "using", std::string::npos);
    Unsupported(at == std::string::npos ? rloc : static_cast<int>(at - base_), "JOIN ... USING", "write JOIN ... ON a.x = b.y");
    return false;
  }
  if (!j.contains("quals")) {
    Unsupported(FindKeyword(rloc, "cross", join_kw), "CROSS JOIN", "join on one column pair: JOIN b ON a.x = b.y");
    return false;
  }
  bool ok = AddTable(larg);
  ok = AddTable(rarg) && ok;
  if (!ok) return false;
  join_ = JoinSpec{};
  join_->kind = jt == "JOIN_LEFT" ? JoinSpec::Kind::kLeft : JoinSpec::Kind::kInner;
  PlanJoinCondition(j["quals"], rloc);
  return errors_ == 0;
}

void ViewPlanner::PlanJoinCondition(const json& quals, int join_loc) {
  const std::string hint = "a view joins on one equality of a column of each table: ON a.x = b.y";
  int loc = LocationOf(quals);
  if (NodeKind(quals) != "A_Expr" || NodeBody(quals).value("kind", "") != "AEXPR_OP" ||
      NodeBody(quals)["name"].size() != 1 || StringValue(NodeBody(quals)["name"][0]) != "=" ||
      !NodeBody(quals).contains("lexpr")) {
    Unsupported(loc < 0 ? join_loc : loc, "this join condition", hint);
    return;
  }
  const json& b = NodeBody(quals);
  Ctx ctx;
  ctx.clause = Clause::kJoin;
  if (NodeKind(b["lexpr"]) != "ColumnRef" || NodeKind(b["rexpr"]) != "ColumnRef") {
    Unsupported(loc, "a join condition that is not column = column", hint);
    return;
  }
  NodePtr l = Analyze(b["lexpr"], ctx);
  NodePtr r = Analyze(b["rexpr"], ctx);
  if (!l || !r) return;
  if (l->table == r->table) {
    Unsupported(loc, "a join condition between columns of the same table", hint);
    return;
  }
  if (l->table == 1) std::swap(l, r);
  TypeId lt = l->type.id, rt = r->type.id;
  // The engine matches keys by Datum equality and hash: numbers of the int/numeric family meet
  // (Hash is consistent across them), floats meet floats, every other type only itself.
  bool ok = lt == rt || (CategoryOf(lt) == Category::kNumber && CategoryOf(rt) == Category::kNumber &&
                         (lt == TypeId::kFloat4 || lt == TypeId::kFloat8) == (rt == TypeId::kFloat4 || rt == TypeId::kFloat8));
  if (!ok) {
    Error(loc, "join columns of types " + TypeName(l->type) + " and " + TypeName(r->type) + " cannot be compared",
          "join on columns of the same type");
    return;
  }
  join_keys_ = {std::move(l), std::move(r)};
}

// ---- expressions ----------------------------------------------------------------------------------

NodePtr ViewPlanner::AnalyzeColumnRef(const json& body) {
  int loc = body.value("location", -1);
  const json& fields = body["fields"];
  for (const json& f : fields) {
    if (NodeKind(f) == "A_Star") {
      Unsupported(loc, "* in an expression", "name the columns");
      return nullptr;
    }
  }
  std::string qualifier, column;
  if (fields.size() == 1) {
    column = StringValue(fields[0]);
  } else if (fields.size() == 2) {
    qualifier = StringValue(fields[0]);
    column = StringValue(fields[1]);
  } else if (fields.size() == 3) {
    std::string schema = StringValue(fields[0]);
    qualifier = StringValue(fields[1]);
    column = StringValue(fields[2]);
    bool found = false;
    for (const RangeEntry& e : tables_) {
      if (!e.has_alias && e.table == qualifier && e.key == schema + "." + qualifier) found = true;
    }
    if (!found) {
      Error(loc, "missing FROM-clause entry for table " + Quote(schema + "." + qualifier), "qualify columns with the table's name or alias");
      return nullptr;
    }
  } else {
    Unsupported(loc, "this column reference", "write column or table.column");
    return nullptr;
  }
  int table = -1, col = -1;
  std::vector<std::string> candidates;
  for (size_t t = 0; t < tables_.size(); ++t) {
    const RangeEntry& e = tables_[t];
    if (!qualifier.empty() && e.ref_name != qualifier) continue;
    for (size_t c = 0; c < e.schema->columns.size(); ++c) {
      const std::string& cname = e.schema->columns[c].name;
      candidates.push_back(qualifier.empty() && tables_.size() > 1 ? e.ref_name + "." + cname : cname);
      if (cname != column) continue;
      if (table >= 0) {
        Error(loc, "column reference " + Quote(column) + " is ambiguous",
              "qualify it: " + tables_[0].ref_name + "." + column + " or " + tables_[1].ref_name + "." + column);
        return nullptr;
      }
      table = static_cast<int>(t);
      col = static_cast<int>(c);
    }
  }
  if (!qualifier.empty() && candidates.empty()) {
    for (const RangeEntry& e : tables_) {
      if (e.has_alias && e.table == qualifier) {
        Error(loc, "invalid reference to FROM-clause entry for table " + Quote(qualifier),
              "use the table's alias " + Quote(e.ref_name));
        return nullptr;
      }
    }
    std::vector<std::string> names;
    for (const RangeEntry& e : tables_) names.push_back(e.ref_name);
    std::string closest = ClosestName(qualifier, names);
    Error(loc, "missing FROM-clause entry for table " + Quote(qualifier),
          closest.empty() ? "qualify columns with a table named in FROM" : "did you mean " + Quote(closest) + "?");
    return nullptr;
  }
  if (table < 0) {
    std::string written = qualifier.empty() ? column : qualifier + "." + column;
    std::string closest = ClosestName(qualifier.empty() && tables_.size() > 1 ? column : column, candidates);
    if (closest.empty() && tables_.size() > 1 && qualifier.empty()) {
      std::vector<std::string> bare;
      for (const RangeEntry& e : tables_) {
        for (const auto& c : e.schema->columns) bare.push_back(c.name);
      }
      closest = ClosestName(column, bare);
    }
    std::string in = tables_.size() == 1 || !qualifier.empty()
                         ? (qualifier.empty() ? tables_[0].key : tables_[static_cast<size_t>(0)].key)
                         : tables_[0].key + " or " + tables_[1].key;
    if (!qualifier.empty()) {
      for (const RangeEntry& e : tables_) {
        if (e.ref_name == qualifier) in = e.key;
      }
    }
    Error(loc, "column " + Quote(written) + " does not exist",
          closest.empty() ? "no such column in " + in : "did you mean " + Quote(closest) + "?");
    return nullptr;
  }
  const event::Column& c = tables_[static_cast<size_t>(table)].schema->columns[static_cast<size_t>(col)];
  ColumnType ct = MapColumnType(c.type_oid, c.type_modifier, c.user_type, c.type_name);
  if (!ct.supported) {
    Unsupported(loc, "column " + Quote(column) + " of type " + ct.name,
                "views read boolean, integer, numeric, real/double, text/varchar/char/uuid/enum, date and timestamp "
                "columns; cast it in the source or leave it out");
    return nullptr;
  }
  NodePtr n = MakeNode(NodeType::kColumn, ct.type, loc);
  n->table = table;
  n->column = col;
  used_columns_.insert({table, col});
  return n;
}

// The value of an integer A_Const. libpg_query 15's JSON output writes a negative "ival" as an empty
// object (a constant PostgreSQL's grammar folded from "-7" loses its value), so the literal is read
// back from the statement text at the node's location.
int64_t ViewPlanner::IntConstValue(const json& body) const {
  const json& ival = body["ival"];
  if (ival.contains("ival")) return ival["ival"].get<int64_t>();
  int loc = body.value("location", -1);
  if (loc < 0) return 0;
  size_t i = base_ + static_cast<size_t>(loc);
  bool negative = false;
  if (i < text_.size() && text_[i] == '-') {
    negative = true;
    ++i;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) ++i;
  }
  int64_t v = 0;
  while (i < text_.size() && text_[i] >= '0' && text_[i] <= '9') v = v * 10 + (text_[i++] - '0');
  return negative ? -v : v;
}

NodePtr ViewPlanner::AnalyzeConst(const json& body) {
  int loc = body.value("location", -1);
  if (body.value("isnull", false)) {
    NodePtr n = MakeNode(NodeType::kConst, kUnknownType, loc);
    return n;
  }
  if (body.contains("ival")) {
    NodePtr n = MakeNode(NodeType::kConst, kInt4, loc);
    n->value = Datum::Int(IntConstValue(body));
    return n;
  }
  if (body.contains("fval")) {
    std::string s = body["fval"].value("fval", "");
    bool integral = s.find_first_of(".eE") == std::string::npos;
    if (integral) {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && p == s.data() + s.size()) {
        // PostgreSQL's make_const: an integer that fits int4 is integer (-2147483648 arrives here).
        NodePtr n = MakeNode(NodeType::kConst, v >= INT32_MIN && v <= INT32_MAX ? kInt4 : kInt8, loc);
        n->value = Datum::Int(v);
        return n;
      }
    }
    __int128 v = 0;
    int16_t scale = 0;
    Status st = numeric::Parse(s, &v, &scale);
    if (!st.ok()) {
      Error(loc, st.message(), "views compute numeric with at most 38 significant digits");
      return nullptr;
    }
    NodePtr n = MakeNode(NodeType::kConst, kNumeric, loc);
    n->value = Datum::Numeric(v, scale);
    return n;
  }
  if (body.contains("boolval")) {
    NodePtr n = MakeNode(NodeType::kConst, kBool, loc);
    n->value = Datum::Bool(body["boolval"].value("boolval", false));
    return n;
  }
  if (body.contains("sval")) {
    NodePtr n = MakeNode(NodeType::kConst, kUnknownType, loc);
    n->value = Datum::Text(body["sval"].value("sval", ""));
    return n;
  }
  if (body.contains("bsval")) {
    Unsupported(loc, "a bit-string constant", "use an integer or text constant");
    return nullptr;
  }
  // An empty A_Const is an integer 0 or an empty string whose value field JSON omitted.
  NodePtr n = MakeNode(NodeType::kConst, kInt4, loc);
  n->value = Datum::Int(0);
  return n;
}

NodePtr ViewPlanner::Coerce(NodePtr n, const Type& to, const std::string& context) {
  if (!n) return nullptr;
  if (n->type.id == to.id && (to.id != TypeId::kNumeric || to.precision < 0 || n->type == to)) return n;
  if (n->kind == NodeType::kConst && (n->type.id == TypeId::kUnknown || CanCoerceImplicitly(n->type.id, to.id))) {
    // Literals are converted once, here, not per row (an unknown literal is parsed as the type).
    if (to.id == TypeId::kUnknown) return n;
    Datum folded;
    Status st = expr::CastDatum(n->value, n->type, to, 0, &folded);
    if (!st.ok()) {
      Error(n->loc, st.message(), "write a valid " + TypeName(to) + " literal");
      return nullptr;
    }
    n->value = std::move(folded);
    n->type = to;
    return n;
  }
  if (!CanCoerceImplicitly(n->type.id, to.id)) {
    Error(n->loc, context + ": " + TypeName(n->type) + " cannot be used as " + TypeName(to),
          "add an explicit cast, e.g. CAST(x AS " + TypeName(to) + ")");
    return nullptr;
  }
  NodePtr c = MakeNode(NodeType::kCast, to, n->loc);
  c->kids.push_back(std::move(n));
  return c;
}

NodePtr ViewPlanner::RequireBool(NodePtr n, const std::string& what) {
  if (!n) return nullptr;
  if (n->type.id == TypeId::kBool) return n;
  if (n->type.id == TypeId::kUnknown) return Coerce(std::move(n), kBool, what);
  Error(n->loc, "argument of " + what + " must be type boolean, not type " + TypeName(n->type),
        "write a comparison, e.g. x <> 0");
  return nullptr;
}

bool ViewPlanner::CommonType(std::vector<NodePtr>* nodes, const std::string& construct, Type* out) {
  const Node* first = nullptr;
  Type common = kUnknownType;
  bool same_typmod = true;
  for (const NodePtr& n : *nodes) {
    if (!n || n->type.id == TypeId::kUnknown) continue;
    if (!first) {
      first = n.get();
      common = n->type;
      continue;
    }
    if (CategoryOf(n->type.id) != CategoryOf(common.id)) {
      Error(n->loc, construct + " types " + TypeName(common) + " and " + TypeName(n->type) + " cannot be matched",
            "cast them to one type");
      return false;
    }
    if (n->type.id == common.id) {
      same_typmod = same_typmod && n->type == common;
    } else if (Rank(n->type.id) > Rank(common.id)) {
      common = n->type;
      same_typmod = false;
    } else {
      same_typmod = false;
    }
  }
  if (common.id == TypeId::kUnknown) common = kText;
  if (common.id == TypeId::kNumeric && !same_typmod) common = kNumeric;
  for (NodePtr& n : *nodes) {
    if (!n) continue;
    n = Coerce(std::move(n), common, construct);
    if (!n) return false;
  }
  *out = common;
  return true;
}

// The type both sides of a comparison are coerced to; false when PostgreSQL has no such operator.
bool ComparisonType(const Type& ta, const Type& tb, Type* common) {
  if (ta.id == TypeId::kUnknown && tb.id == TypeId::kUnknown) {
    *common = kText;
  } else if (ta.id == TypeId::kUnknown) {
    *common = tb;
  } else if (tb.id == TypeId::kUnknown) {
    *common = ta;
  } else if (CategoryOf(ta.id) != CategoryOf(tb.id)) {
    return false;
  } else if (CategoryOf(ta.id) == Category::kNumber) {
    *common = {ArithmeticType(ta.id, tb.id)};
  } else {
    *common = Rank(ta.id) >= Rank(tb.id) ? ta : tb;
  }
  if (common->id == TypeId::kNumeric) *common = kNumeric;  // compare by value, whatever the typmods
  return true;
}

NodePtr ViewPlanner::Comparison(CompareOp op, NodePtr a, NodePtr b, int loc, const std::string& opname) {
  if (!a || !b) return nullptr;
  Type common;
  if (!ComparisonType(a->type, b->type, &common)) {
    Error(loc, "operator does not exist: " + TypeName(a->type) + " " + opname + " " + TypeName(b->type),
          "cast one side to the other's type");
    return nullptr;
  }
  a = Coerce(std::move(a), common, "operator " + opname);
  b = Coerce(std::move(b), common, "operator " + opname);
  if (!a || !b) return nullptr;
  NodePtr n = MakeNode(NodeType::kCompare, kBool, loc);
  n->op = static_cast<int>(op);
  n->kids.push_back(std::move(a));
  n->kids.push_back(std::move(b));
  return n;
}

NodePtr ViewPlanner::Arithmetic(ArithOp op, NodePtr a, NodePtr b, int loc, const std::string& opname) {
  if (!a || !b) return nullptr;
  // An unknown literal takes the other side's type (PostgreSQL's operator resolution).
  if (a->type.id == TypeId::kUnknown && b->type.id != TypeId::kUnknown) {
    a = Coerce(std::move(a), b->type.id == TypeId::kDate ? kInt4 : Type{b->type.id}, "operator " + opname);
  } else if (b->type.id == TypeId::kUnknown && a->type.id != TypeId::kUnknown) {
    b = Coerce(std::move(b), a->type.id == TypeId::kDate && op != ArithOp::kSub ? kInt4 : Type{a->type.id}, "operator " + opname);
  }
  if (!a || !b) return nullptr;
  TypeId ta = a->type.id, tb = b->type.id;
  // date + integer, integer + date, date - integer, date - date.
  if ((ta == TypeId::kDate || tb == TypeId::kDate) && (op == ArithOp::kAdd || op == ArithOp::kSub)) {
    bool ok = false;
    if (ta == TypeId::kDate && (tb == TypeId::kInt2 || tb == TypeId::kInt4)) ok = true;
    if (op == ArithOp::kAdd && tb == TypeId::kDate && (ta == TypeId::kInt2 || ta == TypeId::kInt4)) {
      std::swap(a, b);
      ok = true;
    }
    if (op == ArithOp::kSub && ta == TypeId::kDate && tb == TypeId::kDate) ok = true;
    if (ok) {
      if (b->type.id == TypeId::kInt2) b = Coerce(std::move(b), kInt4, "operator " + opname);
      NodePtr n = MakeNode(NodeType::kDateArith, b->type.id == TypeId::kDate ? kInt4 : Type{TypeId::kDate}, loc);
      n->op = static_cast<int>(op);
      n->kids.push_back(std::move(a));
      n->kids.push_back(std::move(b));
      return n;
    }
  }
  if (!IsNumberType(ta) || !IsNumberType(tb) || (ta == TypeId::kUnknown && tb == TypeId::kUnknown)) {
    Error(loc, "operator does not exist: " + TypeName(a->type) + " " + opname + " " + TypeName(b->type),
          ta == TypeId::kText || tb == TypeId::kText ? "cast the text to a number, e.g. x::numeric"
                                                     : "arithmetic works on numbers (and date +/- integer)");
    return nullptr;
  }
  Type result{ArithmeticType(ta, tb)};
  if (op == ArithOp::kMod && (result.id == TypeId::kFloat4 || result.id == TypeId::kFloat8)) {
    Error(loc, "operator does not exist: " + TypeName(a->type) + " % " + TypeName(b->type), "cast to numeric first");
    return nullptr;
  }
  a = Coerce(std::move(a), result, "operator " + opname);
  b = Coerce(std::move(b), result, "operator " + opname);
  if (!a || !b) return nullptr;
  NodePtr n = MakeNode(NodeType::kArith, result, loc);
  n->op = static_cast<int>(op);
  n->kids.push_back(std::move(a));
  n->kids.push_back(std::move(b));
  return n;
}

bool ViewPlanner::ParseTypeName(const json& tn, Type* type, int* varchar_length) {
  int loc = tn.value("location", -1);
  std::string name;
  const json& names = tn["names"];
  if (names.size() == 2 && StringValue(names[0]) == "pg_catalog") {
    name = StringValue(names[1]);
  } else if (names.size() == 1) {
    name = StringValue(names[0]);
  } else {
    Unsupported(loc, "this type", "cast to boolean, smallint, integer, bigint, numeric, real, double precision, text, varchar, date, timestamp or timestamptz");
    return false;
  }
  if (tn.contains("arrayBounds")) {
    Unsupported(loc, "an array type", "views compute scalar values");
    return false;
  }
  std::vector<int64_t> mods;
  if (tn.contains("typmods")) {
    for (const json& m : tn["typmods"]) {
      if (NodeKind(m) != "A_Const" || !NodeBody(m).contains("ival")) {
        Error(loc, "type modifiers must be integer constants", "e.g. numeric(10,2)");
        return false;
      }
      mods.push_back(NodeBody(m)["ival"].value("ival", 0));
    }
  }
  *varchar_length = 0;
  auto no_mods = [&](Type t) {
    if (!mods.empty()) {
      Error(loc, "type modifier is not allowed for type " + Quote(name), "remove the (...)");
      return false;
    }
    *type = t;
    return true;
  };
  if (name == "bool" || name == "boolean") return no_mods(kBool);
  if (name == "int2" || name == "smallint") return no_mods({TypeId::kInt2});
  if (name == "int4" || name == "int" || name == "integer") return no_mods(kInt4);
  if (name == "int8" || name == "bigint") return no_mods(kInt8);
  if (name == "float4" || name == "real") return no_mods({TypeId::kFloat4});
  if (name == "float8") return no_mods(kFloat8);
  if (name == "float") {  // float(p): 1..24 real, 25..53 double
    if (mods.size() == 1) {
      *type = mods[0] <= 24 ? Type{TypeId::kFloat4} : kFloat8;
      return true;
    }
    return no_mods(kFloat8);
  }
  if (name == "text") return no_mods(kText);
  if (name == "varchar" || name == "bpchar" || name == "name") {
    if (name == "bpchar" && !mods.empty()) {
      Unsupported(loc, "a cast to char(n)", "cast to varchar(n) or text");
      return false;
    }
    if (mods.size() == 1) *varchar_length = static_cast<int>(mods[0]);
    *type = kText;
    return true;
  }
  if (name == "date") return no_mods({TypeId::kDate});
  if (name == "timestamp") {
    if (!mods.empty()) {
      Unsupported(loc, "timestamp(p)", "cast to timestamp and use date_trunc for a coarser precision");
      return false;
    }
    *type = {TypeId::kTimestamp};
    return true;
  }
  if (name == "timestamptz") {
    if (!mods.empty()) {
      Unsupported(loc, "timestamptz(p)", "cast to timestamptz and use date_trunc for a coarser precision");
      return false;
    }
    *type = {TypeId::kTimestampTz};
    return true;
  }
  if (name == "numeric" || name == "decimal") {
    *type = kNumeric;
    if (mods.empty()) return true;
    int64_t p = mods[0], s = mods.size() > 1 ? mods[1] : 0;
    if (mods.size() > 2 || p < 1 || p > 38 || s < 0 || s > p) {
      Unsupported(loc, "numeric(" + std::to_string(p) + (mods.size() > 1 ? "," + std::to_string(s) : "") + ")",
                  "views compute numeric(p,s) with 1 <= p <= 38 and 0 <= s <= p");
      return false;
    }
    type->precision = static_cast<int16_t>(p);
    type->scale = static_cast<int16_t>(s);
    return true;
  }
  Unsupported(loc, "type " + Quote(name),
              "cast to boolean, smallint, integer, bigint, numeric, real, double precision, text, varchar, date, "
              "timestamp or timestamptz");
  return false;
}

NodePtr ViewPlanner::ExplicitCast(NodePtr n, const Type& to, int varchar_length, int loc) {
  if (!n) return nullptr;
  if (n->kind == NodeType::kConst) {  // folded now: a bad literal is refused when the file is loaded
    Datum folded;
    Status st = expr::CastDatum(n->value, n->type, to, varchar_length, &folded);
    if (!st.ok()) {
      Error(n->loc, st.message(), "write a valid " + TypeName(to) + " literal");
      return nullptr;
    }
    n->value = std::move(folded);
    n->type = to;
    return n;
  }
  TypeId f = n->type.id, t = to.id;
  bool allowed = f == t || (IsNumberType(f) && IsNumberType(t)) || t == TypeId::kText || f == TypeId::kText ||
                 (IsDateTimeType(f) && IsDateTimeType(t)) || (f == TypeId::kBool && t == TypeId::kInt4) ||
                 (f == TypeId::kInt4 && t == TypeId::kBool);
  if (!allowed) {
    Error(loc, "cannot cast type " + TypeName(n->type) + " to " + TypeName(to), "PostgreSQL has no such cast");
    return nullptr;
  }
  if (f == t && !(t == TypeId::kNumeric && to.precision >= 0) && varchar_length == 0) {
    return n;
  }
  NodePtr c = MakeNode(NodeType::kCast, to, loc);
  c->varchar_length = varchar_length;
  c->kids.push_back(std::move(n));
  return c;
}

NodePtr ViewPlanner::AnalyzeTypeCast(const json& body, Ctx ctx) {
  int loc = body.value("location", -1);
  Type to;
  int varchar_length = 0;
  const json& tn = body["typeName"];
  if (loc < 0) loc = tn.value("location", -1);
  NodePtr arg = Analyze(body["arg"], ctx);
  if (!ParseTypeName(tn, &to, &varchar_length)) return nullptr;
  return ExplicitCast(std::move(arg), to, varchar_length, loc);
}

NodePtr ViewPlanner::AnalyzeBool(const json& body, Ctx ctx) {
  int loc = body.value("location", -1);
  std::string op = body.value("boolop", "");
  std::vector<NodePtr> args;
  const char* what = op == "AND_EXPR" ? "AND" : (op == "OR_EXPR" ? "OR" : "NOT");
  bool ok = true;
  for (const json& a : body["args"]) {
    NodePtr n = RequireBool(Analyze(a, ctx), what);
    ok = ok && n != nullptr;
    args.push_back(std::move(n));
  }
  if (!ok) return nullptr;
  NodeType kind = op == "AND_EXPR" ? NodeType::kAnd : (op == "OR_EXPR" ? NodeType::kOr : NodeType::kNot);
  NodePtr n = MakeNode(kind, kBool, loc);
  n->kids = std::move(args);
  return n;
}

NodePtr ViewPlanner::AnalyzeCase(const json& body, Ctx ctx) {
  int loc = body.value("location", -1);
  NodePtr arg;
  if (body.contains("arg")) arg = Analyze(body["arg"], ctx);
  bool ok = !body.contains("arg") || arg != nullptr;
  std::vector<NodePtr> conds, results;
  for (const json& w : body["args"]) {
    const json& wb = NodeBody(w);
    NodePtr cond;
    if (body.contains("arg")) {
      // Simple CASE: arg = value (arg is deterministic, so evaluating it per WHEN is equivalent).
      NodePtr value = Analyze(wb["expr"], ctx);
      if (arg && value) {
        // Re-analysed for each WHEN: typed trees are not shared.
        NodePtr copy = Analyze(body["arg"], ctx);
        cond = Comparison(CompareOp::kEq, std::move(copy), std::move(value), wb.value("location", loc), "=");
      }
    } else {
      cond = RequireBool(Analyze(wb["expr"], ctx), "CASE/WHEN");
    }
    NodePtr result = Analyze(wb["result"], ctx);
    ok = ok && cond && result;
    conds.push_back(std::move(cond));
    results.push_back(std::move(result));
  }
  NodePtr otherwise;
  if (body.contains("defresult")) {
    otherwise = Analyze(body["defresult"], ctx);
    ok = ok && otherwise;
  } else {
    otherwise = MakeNode(NodeType::kConst, kUnknownType, loc);
  }
  if (!ok) return nullptr;
  results.push_back(std::move(otherwise));
  Type common;
  if (!CommonType(&results, "CASE", &common)) return nullptr;
  NodePtr n = MakeNode(NodeType::kCase, common, loc);
  for (size_t i = 0; i < conds.size(); ++i) {
    n->kids.push_back(std::move(conds[i]));
    n->kids.push_back(std::move(results[i]));
  }
  n->kids.push_back(std::move(results.back()));
  return n;
}

NodePtr ViewPlanner::AnalyzeAExpr(const json& body, Ctx ctx) {
  int loc = body.value("location", -1);
  std::string kind = body.value("kind", "");
  std::string opname = body.contains("name") && !body["name"].empty() ? StringValue(body["name"].back()) : "";
  auto lhs = [&]() { return body.contains("lexpr") ? Analyze(body["lexpr"], ctx) : nullptr; };
  auto rhs = [&]() { return body.contains("rexpr") ? Analyze(body["rexpr"], ctx) : nullptr; };
  if (kind == "AEXPR_OP") {
    if (body["name"].size() != 1) {
      Unsupported(loc, "OPERATOR(schema.op)", "write the operator alone");
      return nullptr;
    }
    if (!body.contains("lexpr")) {  // prefix operator
      NodePtr a = rhs();
      if (!a) return nullptr;
      if (opname == "+" || opname == "-") {
        if (a->type.id == TypeId::kUnknown) a = Coerce(std::move(a), kNumeric, "unary " + opname);
        if (!a) return nullptr;
        if (!IsNumberType(a->type.id)) {
          Error(loc, "operator does not exist: " + opname + " " + TypeName(a->type), "unary minus works on numbers");
          return nullptr;
        }
        if (opname == "+") return a;
        NodePtr n = MakeNode(NodeType::kNeg, a->type.id == TypeId::kNumeric ? kNumeric : a->type, loc);
        n->kids.push_back(std::move(a));
        return n;
      }
      Unsupported(loc, "prefix operator " + opname, "supported: unary - and +");
      return nullptr;
    }
    NodePtr a = lhs();
    NodePtr b = rhs();
    static const std::map<std::string, CompareOp> kCompare = {
        {"=", CompareOp::kEq}, {"<>", CompareOp::kNe}, {"!=", CompareOp::kNe}, {"<", CompareOp::kLt},
        {"<=", CompareOp::kLe}, {">", CompareOp::kGt}, {">=", CompareOp::kGe}};
    static const std::map<std::string, ArithOp> kArith = {
        {"+", ArithOp::kAdd}, {"-", ArithOp::kSub}, {"*", ArithOp::kMul}, {"/", ArithOp::kDiv}, {"%", ArithOp::kMod}};
    if (auto it = kCompare.find(opname); it != kCompare.end()) return Comparison(it->second, std::move(a), std::move(b), loc, opname);
    if (auto it = kArith.find(opname); it != kArith.end()) return Arithmetic(it->second, std::move(a), std::move(b), loc, opname);
    if (opname == "||") {
      if (!a || !b) return nullptr;
      bool a_text = a->type.id == TypeId::kText || a->type.id == TypeId::kUnknown;
      bool b_text = b->type.id == TypeId::kText || b->type.id == TypeId::kUnknown;
      if (!a_text && !b_text) {
        Error(loc, "operator does not exist: " + TypeName(a->type) + " || " + TypeName(b->type), "cast one side to text");
        return nullptr;
      }
      // textcat, or anytextcat/textanycat: the non-text side cast to text (true -> 'true').
      auto to_text = [&](NodePtr x) -> NodePtr {
        if (x->type.id == TypeId::kText) return x;
        if (x->type.id == TypeId::kUnknown) return Coerce(std::move(x), kText, "||");
        NodePtr c = MakeNode(NodeType::kCast, kText, x->loc);  // anytextcat: $1::text || $2
        c->kids.push_back(std::move(x));
        return c;
      };
      a = to_text(std::move(a));
      b = to_text(std::move(b));
      if (!a || !b) return nullptr;
      NodePtr n = MakeNode(NodeType::kConcat, kText, loc);
      n->kids.push_back(std::move(a));
      n->kids.push_back(std::move(b));
      return n;
    }
    if (opname == "~~" || opname == "!~~" || opname == "~~*" || opname == "!~~*") {
      // LIKE written as an operator.
      json copy = body;
      copy["kind"] = opname.find('*') != std::string::npos ? "AEXPR_ILIKE" : "AEXPR_LIKE";
      return AnalyzeAExpr(copy, ctx);
    }
    Unsupported(loc, "operator " + opname,
                "supported: = <> != < <= > >= + - * / % ||, AND/OR/NOT, IS [NOT] NULL, IN, BETWEEN, LIKE/ILIKE");
    return nullptr;
  }
  if (kind == "AEXPR_LIKE" || kind == "AEXPR_ILIKE") {
    NodePtr a = lhs();
    NodePtr b = rhs();
    if (!a || !b) return nullptr;
    if (NodeKind(body["rexpr"]) == "FuncCall") {
      std::string f = StringValue(NodeBody(body["rexpr"])["funcname"].back());
      if (f == "like_escape") {
        Unsupported(loc, "LIKE ... ESCAPE", "views use the default escape character, backslash");
        return nullptr;
      }
    }
    for (NodePtr* x : {&a, &b}) {
      if ((*x)->type.id == TypeId::kUnknown) *x = Coerce(std::move(*x), kText, "LIKE");
      if (!*x) return nullptr;
    }
    if (a->type.id != TypeId::kText || b->type.id != TypeId::kText) {
      Error(loc, "operator does not exist: " + TypeName(a->type) + " " + opname + " " + TypeName(b->type),
            "LIKE compares text; cast with ::text");
      return nullptr;
    }
    NodePtr n = MakeNode(NodeType::kLike, kBool, loc);
    n->flag = opname[0] == '!';
    n->flag2 = kind == "AEXPR_ILIKE";
    n->kids.push_back(std::move(a));
    n->kids.push_back(std::move(b));
    return n;
  }
  if (kind == "AEXPR_IN") {
    NodePtr x = lhs();
    std::vector<NodePtr> items;
    items.push_back(std::move(x));
    bool ok = items[0] != nullptr;
    if (NodeKind(body["rexpr"]) != "List") {
      Unsupported(loc, "IN with a subquery", "list the values: x IN (1, 2, 3)");
      return nullptr;
    }
    for (const json& item : NodeBody(body["rexpr"])["items"]) {
      NodePtr n = Analyze(item, ctx);
      ok = ok && n != nullptr;
      items.push_back(std::move(n));
    }
    if (!ok) return nullptr;
    Type common;
    if (!CommonType(&items, "IN", &common)) return nullptr;
    NodePtr n = MakeNode(NodeType::kIn, kBool, loc);
    n->flag = opname == "<>";
    n->kids = std::move(items);
    return n;
  }
  if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_NOT_BETWEEN") {
    const json& bounds = NodeBody(body["rexpr"])["items"];
    // x BETWEEN a AND b  ==  x >= a AND x <= b (PostgreSQL's own rewrite); NOT BETWEEN: x < a OR x > b.
    bool negated = kind == "AEXPR_NOT_BETWEEN";
    NodePtr lo = Comparison(negated ? CompareOp::kLt : CompareOp::kGe, lhs(), Analyze(bounds[0], ctx), loc, negated ? "<" : ">=");
    NodePtr hi = Comparison(negated ? CompareOp::kGt : CompareOp::kLe, lhs(), Analyze(bounds[1], ctx), loc, negated ? ">" : "<=");
    if (!lo || !hi) return nullptr;
    NodePtr n = MakeNode(negated ? NodeType::kOr : NodeType::kAnd, kBool, loc);
    n->kids.push_back(std::move(lo));
    n->kids.push_back(std::move(hi));
    return n;
  }
  if (kind == "AEXPR_NULLIF") {
    // NULLIF(a, b): a, or NULL when a = b; the result has a's type (the comparison's if a is unknown).
    NodePtr a = lhs();
    NodePtr a_compared = lhs();
    NodePtr b = rhs();
    if (!a || !a_compared || !b) return nullptr;
    Type common;
    if (!ComparisonType(a->type, b->type, &common)) {
      Error(loc, "operator does not exist: " + TypeName(a->type) + " = " + TypeName(b->type), "cast one side to the other's type");
      return nullptr;
    }
    // The result has the type of the comparison operator's left input: PostgreSQL has cross-type
    // operators within the integers, within the floats and within date/timestamp[tz], so there a
    // keeps its type; otherwise it is coerced to the common type.
    TypeId ta = a->type.id, tb = b->type.id;
    bool keeps_type = ta == tb || (IsNumberType(ta) && IsNumberType(tb) && Rank(ta) <= 3 && Rank(tb) <= 3) ||
                      ((ta == TypeId::kFloat4 || ta == TypeId::kFloat8) && (tb == TypeId::kFloat4 || tb == TypeId::kFloat8)) ||
                      (IsDateTimeType(ta) && IsDateTimeType(tb));
    if (ta == TypeId::kUnknown || !keeps_type) a = Coerce(std::move(a), common, "NULLIF");
    NodePtr cmp = Comparison(CompareOp::kEq, std::move(a_compared), std::move(b), loc, "=");
    if (!a || !cmp) return nullptr;
    NodePtr n = MakeNode(NodeType::kNullIf, a->type, loc);
    bool widened = !(cmp->kids[0]->type == a->type);
    n->kids.push_back(std::move(a));
    n->kids.push_back(std::move(cmp->kids[1]));
    if (widened) n->kids.push_back(std::move(cmp->kids[0]));  // a as compared
    return n;
  }
  if (kind == "AEXPR_OP_ANY" || kind == "AEXPR_OP_ALL") {
    Unsupported(loc, "ANY/ALL", "write x IN (list)");
    return nullptr;
  }
  if (kind == "AEXPR_DISTINCT" || kind == "AEXPR_NOT_DISTINCT") {
    Unsupported(loc, "IS [NOT] DISTINCT FROM", "combine = with IS NULL");
    return nullptr;
  }
  if (kind == "AEXPR_SIMILAR") {
    Unsupported(loc, "SIMILAR TO", "use LIKE");
    return nullptr;
  }
  Unsupported(loc, "this operator", "supported: comparisons, arithmetic, ||, IN, BETWEEN, LIKE/ILIKE");
  return nullptr;
}

std::optional<TimeUnit> ParseUnit(std::string unit, bool extract) {
  for (char& c : unit) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  static const std::map<std::string, TimeUnit> kUnits = {
      {"microsecond", TimeUnit::kMicroseconds}, {"microseconds", TimeUnit::kMicroseconds}, {"us", TimeUnit::kMicroseconds},
      {"millisecond", TimeUnit::kMilliseconds}, {"milliseconds", TimeUnit::kMilliseconds}, {"ms", TimeUnit::kMilliseconds},
      {"second", TimeUnit::kSecond}, {"seconds", TimeUnit::kSecond}, {"sec", TimeUnit::kSecond}, {"secs", TimeUnit::kSecond},
      {"minute", TimeUnit::kMinute}, {"minutes", TimeUnit::kMinute}, {"min", TimeUnit::kMinute}, {"mins", TimeUnit::kMinute},
      {"hour", TimeUnit::kHour}, {"hours", TimeUnit::kHour}, {"h", TimeUnit::kHour},
      {"day", TimeUnit::kDay}, {"days", TimeUnit::kDay}, {"d", TimeUnit::kDay},
      {"week", TimeUnit::kWeek}, {"weeks", TimeUnit::kWeek}, {"w", TimeUnit::kWeek},
      {"month", TimeUnit::kMonth}, {"months", TimeUnit::kMonth}, {"mon", TimeUnit::kMonth}, {"mons", TimeUnit::kMonth},
      {"quarter", TimeUnit::kQuarter}, {"qtr", TimeUnit::kQuarter},
      {"year", TimeUnit::kYear}, {"years", TimeUnit::kYear}, {"y", TimeUnit::kYear}, {"yr", TimeUnit::kYear}, {"yrs", TimeUnit::kYear},
      {"decade", TimeUnit::kDecade}, {"decades", TimeUnit::kDecade},
      {"century", TimeUnit::kCentury}, {"centuries", TimeUnit::kCentury},
      {"millennium", TimeUnit::kMillennium}, {"millennia", TimeUnit::kMillennium},
      {"epoch", TimeUnit::kEpoch}, {"dow", TimeUnit::kDow}, {"isodow", TimeUnit::kIsoDow}, {"doy", TimeUnit::kDoy},
      {"isoyear", TimeUnit::kIsoYear},
  };
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) return std::nullopt;
  if (!extract && it->second >= TimeUnit::kEpoch) return std::nullopt;
  return it->second;
}

bool IsTimeOfDayUnit(TimeUnit u) {
  return u == TimeUnit::kMicroseconds || u == TimeUnit::kMilliseconds || u == TimeUnit::kSecond ||
         u == TimeUnit::kMinute || u == TimeUnit::kHour;
}

NodePtr ViewPlanner::AnalyzeAggregate(const std::string& fname, const json& body, Ctx ctx) {
  int loc = body.value("location", -1);
  if (ctx.in_aggregate) {
    Error(loc, "aggregate function calls cannot be nested", "compute the inner value per row, without an aggregate");
    return nullptr;
  }
  if (ctx.clause == Clause::kWhere || ctx.clause == Clause::kGroupBy || ctx.clause == Clause::kJoin) {
    Error(loc, std::string("aggregate functions are not allowed in ") + ClauseName(ctx.clause),
          ctx.clause == Clause::kWhere ? "filter groups with HAVING" : "aggregates belong in the SELECT list or HAVING");
    return nullptr;
  }
  if (body.contains("agg_filter")) {
    Unsupported(loc, "FILTER (WHERE ...)", "use CASE inside the aggregate, e.g. sum(CASE WHEN c THEN x END)");
    return nullptr;
  }
  if (body.contains("agg_order")) {
    Unsupported(loc, "ORDER BY inside an aggregate", "the supported aggregates do not depend on order");
    return nullptr;
  }
  if (body.value("agg_within_group", false)) {
    Unsupported(loc, "WITHIN GROUP", "supported aggregates: count, sum, avg, min, max, bool_and, bool_or");
    return nullptr;
  }
  bool star = body.value("agg_star", false);
  bool distinct = body.value("agg_distinct", false);
  size_t nargs = body.contains("args") ? body["args"].size() : 0;
  NodePtr n = MakeNode(NodeType::kAgg, kInt8, loc);
  n->flag = distinct;
  if (fname == "count" && star) {
    n->op = static_cast<int>(AggregateKind::kCountStar);
    return n;
  }
  if (star || nargs != 1) {
    Error(loc, "function " + fname + (star ? "(*)" : "") + " with " + std::to_string(nargs) + " arguments does not exist",
          fname == "count" ? "count(*) or count(expression)" : fname + " takes one argument");
    return nullptr;
  }
  Ctx inner = ctx;
  inner.in_aggregate = true;
  NodePtr arg = Analyze(body["args"][0], inner);
  if (!arg) return nullptr;
  TypeId t = arg->type.id;
  AggregateKind kind{};
  Type result;
  auto bad_arg = [&]() {
    Error(arg->loc, "function " + fname + "(" + TypeName(arg->type) + ") does not exist",
          fname == "sum" || fname == "avg" ? "sum and avg take numbers; cast with ::numeric"
                                           : (fname == "bool_and" || fname == "bool_or" ? "takes a boolean" : "cast the argument"));
    return nullptr;
  };
  if (fname == "count") {
    kind = AggregateKind::kCount;
    result = kInt8;
    if (t == TypeId::kUnknown) arg = Coerce(std::move(arg), kText, "count");
  } else if (fname == "sum" || fname == "avg") {
    if (!IsNumberType(t)) return bad_arg();
    kind = fname == "sum" ? AggregateKind::kSum : AggregateKind::kAvg;
    if (fname == "sum") {
      result = t == TypeId::kInt2 || t == TypeId::kInt4 ? kInt8
               : t == TypeId::kInt8 || t == TypeId::kNumeric ? kNumeric
                                                            : arg->type;
    } else {
      result = t == TypeId::kFloat4 || t == TypeId::kFloat8 ? kFloat8 : kNumeric;
    }
  } else if (fname == "min" || fname == "max") {
    if (t == TypeId::kBool || t == TypeId::kUnknown) return bad_arg();
    kind = fname == "min" ? AggregateKind::kMin : AggregateKind::kMax;
    result = arg->type;
    if (result.id == TypeId::kNumeric) result = kNumeric;
  } else {  // bool_and / bool_or / every
    if (t == TypeId::kUnknown) arg = Coerce(std::move(arg), kBool, fname);
    if (!arg) return nullptr;
    if (arg->type.id != TypeId::kBool) return bad_arg();
    kind = fname == "bool_or" ? AggregateKind::kBoolOr : AggregateKind::kBoolAnd;
    result = kBool;
  }
  if (!arg) return nullptr;
  n->op = static_cast<int>(kind);
  n->type = result;
  n->kids.push_back(std::move(arg));
  return n;
}

NodePtr ViewPlanner::AnalyzeFuncCall(const json& body, Ctx ctx) {
  int loc = body.value("location", -1);
  const json& names = body["funcname"];
  std::string fname = StringValue(names.back());
  if (names.size() == 2 && StringValue(names[0]) != "pg_catalog") {
    Unsupported(loc, "function " + StringValue(names[0]) + "." + fname, "views call built-in functions only");
    return nullptr;
  }
  if (body.contains("over")) {
    Unsupported(loc, "window function " + fname + "(...) OVER", "views compute aggregates per GROUP BY group");
    return nullptr;
  }
  static const std::set<std::string> kAggregates = {"count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every"};
  if (kAggregates.count(fname)) return AnalyzeAggregate(fname, body, ctx);
  if (body.value("agg_star", false) || body.value("agg_distinct", false)) {
    Error(loc, fname + "(*) or " + fname + "(DISTINCT ...) is only valid for aggregates", "remove * / DISTINCT");
    return nullptr;
  }
  const json empty = json::array();
  const json& args_json = body.contains("args") ? body["args"] : empty;
  std::vector<NodePtr> args;
  bool ok = true;
  for (const json& a : args_json) {
    NodePtr n = Analyze(a, ctx);
    ok = ok && n != nullptr;
    args.push_back(std::move(n));
  }
  if (!ok) return nullptr;
  auto signature = [&]() {
    std::string s = fname + "(";
    for (size_t i = 0; i < args.size(); ++i) s += (i ? ", " : "") + TypeName(args[i]->type);
    return s + ")";
  };
  auto no_function = [&](const std::string& hint) {
    Error(loc, "function " + signature() + " does not exist", hint);
    return nullptr;
  };
  auto text_arg = [&](size_t i) {
    if (args[i]->type.id == TypeId::kUnknown) args[i] = Coerce(std::move(args[i]), kText, fname);
    return args[i] && args[i]->type.id == TypeId::kText;
  };
  auto int_arg = [&](size_t i) {
    if (args[i]->type.id == TypeId::kUnknown || args[i]->type.id == TypeId::kInt2) args[i] = Coerce(std::move(args[i]), kInt4, fname);
    return args[i] && args[i]->type.id == TypeId::kInt4;
  };
  if (fname == "lower" || fname == "upper" || fname == "length" || fname == "char_length" || fname == "character_length") {
    if (args.size() != 1 || !text_arg(0)) return no_function(fname + " takes one text argument");
    NodeType k = fname == "lower" ? NodeType::kLower : fname == "upper" ? NodeType::kUpper : NodeType::kLength;
    NodePtr n = MakeNode(k, k == NodeType::kLength ? kInt4 : kText, loc);
    n->kids = std::move(args);
    return n;
  }
  if (fname == "substr" || fname == "substring") {
    if (args.size() < 2 || args.size() > 3 || !text_arg(0) || !int_arg(1) || (args.size() == 3 && !int_arg(2))) {
      return no_function("substr(text, start integer [, count integer])");
    }
    NodePtr n = MakeNode(NodeType::kSubstr, kText, loc);
    n->kids = std::move(args);
    if (n->kids.size() == 2) n->kids.push_back(nullptr);
    return n;
  }
  if (fname == "date_trunc") {
    if (args.size() != 2) return no_function("date_trunc('unit', timestamp)");
    if (args[0]->kind != NodeType::kConst || args[0]->type.id != TypeId::kUnknown) {
      Unsupported(args[0]->loc, "date_trunc with a unit that is not a constant string", "write date_trunc('month', x)");
      return nullptr;
    }
    NodePtr& x = args[1];
    if (x->type.id == TypeId::kUnknown) x = Coerce(std::move(x), {TypeId::kTimestampTz}, fname);
    if (!x) return nullptr;
    if (x->type.id == TypeId::kDate) x = Coerce(std::move(x), {TypeId::kTimestampTz}, fname);  // as PostgreSQL resolves it
    if (x->type.id != TypeId::kTimestamp && x->type.id != TypeId::kTimestampTz) {
      return no_function("date_trunc takes a timestamp, timestamptz or date");
    }
    std::optional<TimeUnit> unit = ParseUnit(args[0]->value.s, false);
    if (!unit) {
      Error(args[0]->loc, "unit " + Quote(args[0]->value.s) + " not recognized for type " + TypeName(x->type),
            "microseconds, milliseconds, second, minute, hour, day, week, month, quarter, year, decade, century, millennium");
      return nullptr;
    }
    NodePtr n = MakeNode(NodeType::kDateTrunc, x->type, loc);
    n->op = static_cast<int>(*unit);
    n->kids.push_back(std::move(x));
    return n;
  }
  if (fname == "extract" || fname == "date_part") {
    bool as_double = fname == "date_part";
    if (args.size() != 2) return no_function(fname + "(field, timestamp)");
    if (args[0]->kind != NodeType::kConst || args[0]->type.id != TypeId::kUnknown) {
      Unsupported(args[0]->loc, fname + " with a field that is not a constant string", "write " + fname + "('year', x)");
      return nullptr;
    }
    NodePtr& x = args[1];
    if (x->type.id == TypeId::kUnknown) x = Coerce(std::move(x), {TypeId::kTimestampTz}, fname);
    if (!x) return nullptr;
    // date_part(text, date) is date_part(text, timestamp) in PostgreSQL; extract has a date variant.
    if (as_double && x->type.id == TypeId::kDate) x = Coerce(std::move(x), {TypeId::kTimestamp}, fname);
    if (!IsDateTimeType(x->type.id)) return no_function(fname + " takes a date, timestamp or timestamptz");
    std::optional<TimeUnit> field = ParseUnit(args[0]->value.s, true);
    if (!field || (x->type.id == TypeId::kDate && IsTimeOfDayUnit(*field))) {
      Error(args[0]->loc, "unit " + Quote(args[0]->value.s) + " not supported for type " + TypeName(x->type),
            "fields: year, quarter, month, week, day, hour, minute, second, milliseconds, microseconds, dow, isodow, "
            "doy, isoyear, decade, century, millennium, epoch");
      return nullptr;
    }
    NodePtr n = MakeNode(NodeType::kExtract, as_double ? kFloat8 : kNumeric, loc);
    n->op = static_cast<int>(*field);
    n->flag = as_double;
    n->kids.push_back(std::move(x));
    return n;
  }
  if (fname == "coalesce") {  // never reached: COALESCE is its own node; kept for pg_catalog.coalesce()
    return no_function("write COALESCE(a, b, ...)");
  }
  static const std::vector<std::string> kKnown = {"lower", "upper", "length", "substr", "substring", "date_trunc",
                                                  "extract", "date_part", "count", "sum", "avg", "min", "max",
                                                  "bool_and", "bool_or", "coalesce", "nullif"};
  std::string closest = ClosestName(fname, kKnown);
  Unsupported(loc, "function " + fname + "()",
              closest.empty() ? "supported functions: lower, upper, length, substr/substring, date_trunc, extract, "
                                "date_part, coalesce, nullif and the aggregates count, sum, avg, min, max, bool_and, bool_or"
                              : "did you mean " + closest + "()?");
  return nullptr;
}

NodePtr ViewPlanner::Analyze(const json& n, Ctx ctx) {
  std::string_view kind = NodeKind(n);
  if (kind.empty()) return nullptr;
  const json& b = NodeBody(n);
  int loc = LocationOf(n);
  if (kind == "ColumnRef") return AnalyzeColumnRef(b);
  if (kind == "A_Const") return AnalyzeConst(b);
  if (kind == "A_Expr") return AnalyzeAExpr(b, ctx);
  if (kind == "BoolExpr") return AnalyzeBool(b, ctx);
  if (kind == "FuncCall") return AnalyzeFuncCall(b, ctx);
  if (kind == "TypeCast") return AnalyzeTypeCast(b, ctx);
  if (kind == "CaseExpr") return AnalyzeCase(b, ctx);
  if (kind == "NullTest") {
    NodePtr a = Analyze(b["arg"], ctx);
    if (!a) return nullptr;
    if (b.value("argisrow", false)) {
      Unsupported(loc, "IS NULL on a row", "test each column");
      return nullptr;
    }
    NodePtr r = MakeNode(NodeType::kIsNull, kBool, loc);
    r->flag = b.value("nulltesttype", "") == "IS_NOT_NULL";
    r->kids.push_back(std::move(a));
    return r;
  }
  if (kind == "CoalesceExpr") {
    std::vector<NodePtr> args;
    bool ok = true;
    for (const json& a : b["args"]) {
      NodePtr x = Analyze(a, ctx);
      ok = ok && x != nullptr;
      args.push_back(std::move(x));
    }
    if (!ok) return nullptr;
    Type common;
    if (!CommonType(&args, "COALESCE", &common)) return nullptr;
    NodePtr r = MakeNode(NodeType::kCoalesce, common, loc);
    r->kids = std::move(args);
    return r;
  }
  if (kind == "SubLink") {
    Unsupported(loc, "a subquery", "a view reads its tables directly; use a join or define another view");
    return nullptr;
  }
  if (kind == "SQLValueFunction") {
    Error(loc, "CURRENT_DATE, CURRENT_TIMESTAMP and the like are not supported in views",
          "a view's rows must depend only on the tables' rows");
    return nullptr;
  }
  static const std::map<std::string_view, std::string> kNames = {
      {"BooleanTest", "IS TRUE / IS FALSE / IS UNKNOWN"}, {"MinMaxExpr", "GREATEST/LEAST"},
      {"CollateClause", "COLLATE"}, {"A_ArrayExpr", "ARRAY[...]"}, {"RowExpr", "a row constructor"},
      {"ParamRef", "a parameter ($1)"}, {"A_Indirection", "subscripts or field selection"},
      {"GroupingFunc", "GROUPING()"}, {"XmlExpr", "XML functions"}};
  auto it = kNames.find(kind);
  Unsupported(loc, it != kNames.end() ? it->second : "expression " + std::string(kind),
              kind == "BooleanTest" ? "write x = true, x = false or x IS NULL" : "see docs/VIEWS.md for the supported SQL");
  return nullptr;
}

// ---- output names ------------------------------------------------------------------------------

// PostgreSQL's FigureColnameInternal: strength 0 none, 1 a type name, 2 a real name.
int FigureColname(const json& n, std::string* name) {
  std::string_view kind = NodeKind(n);
  if (kind.empty()) return 0;
  const json& b = NodeBody(n);
  if (kind == "ColumnRef") {
    const json& f = b["fields"].back();
    if (NodeKind(f) == "String") {
      *name = StringValue(f);
      return 2;
    }
    return 0;
  }
  if (kind == "FuncCall") {
    *name = StringValue(b["funcname"].back());
    return 2;
  }
  if (kind == "A_Expr") {
    if (b.value("kind", "") == "AEXPR_NULLIF") {
      *name = "nullif";
      return 2;
    }
    return 0;
  }
  if (kind == "TypeCast") {
    int strength = FigureColname(b["arg"], name);
    if (strength <= 1) {
      *name = StringValue(b["typeName"]["names"].back());
      return 1;
    }
    return strength;
  }
  if (kind == "CaseExpr") {
    int strength = b.contains("defresult") ? FigureColname(b["defresult"], name) : 0;
    if (strength <= 1) {
      *name = "case";
      return 1;
    }
    return strength;
  }
  if (kind == "CoalesceExpr") {
    *name = "coalesce";
    return 2;
  }
  if (kind == "MinMaxExpr") {
    *name = b.value("op", "") == "IS_GREATEST" ? "greatest" : "least";
    return 2;
  }
  return 0;
}

std::string ViewPlanner::OutputName(const json& res_target) const {
  const json& b = NodeBody(res_target);
  if (b.contains("name")) return b["name"].get<std::string>();
  std::string name;
  if (FigureColname(b["val"], &name) > 0) return name;
  return "?column?";
}

// ---- grouping and compilation ------------------------------------------------------------------------

// Replaces nothing; checks that `n` (an output or HAVING expression of an aggregated view) uses input
// columns only inside aggregates or through GROUP BY expressions. A column that is functionally
// dependent on grouped primary-key columns (PostgreSQL allows it) becomes an extra group key.
bool ViewPlanner::GroupCheck(NodePtr* np, std::vector<NodePtr>* keys) {
  Node& n = **np;
  for (const NodePtr& k : *keys) {
    if (Same(n, *k)) return true;
  }
  if (n.kind == NodeType::kAgg || n.kind == NodeType::kConst) return true;
  if (n.kind == NodeType::kColumn) {
    const RangeEntry& e = tables_[static_cast<size_t>(n.table)];
    bool has_key = false, all_keys_grouped = true;
    for (size_t c = 0; c < e.schema->columns.size(); ++c) {
      if (!e.schema->columns[c].key) continue;
      has_key = true;
      bool grouped = false;
      for (const NodePtr& k : *keys) {
        grouped = grouped || (k->kind == NodeType::kColumn && k->table == n.table && k->column == static_cast<int>(c));
      }
      all_keys_grouped = all_keys_grouped && grouped;
    }
    if (has_key && all_keys_grouped) {
      NodePtr extra = MakeNode(NodeType::kColumn, n.type, n.loc);
      extra->table = n.table;
      extra->column = n.column;
      keys->push_back(std::move(extra));
      return true;
    }
    const std::string& cname = e.schema->columns[static_cast<size_t>(n.column)].name;
    Error(n.loc, "column " + Quote(e.ref_name + "." + cname) + " must appear in the GROUP BY clause or be used in an aggregate function",
          "add it to GROUP BY or wrap it in an aggregate such as min()");
    return false;
  }
  bool ok = true;
  for (NodePtr& k : n.kids) {
    if (k) ok = GroupCheck(&k, keys) && ok;
  }
  return ok;
}

int ViewPlanner::InputPosition(int table, int column) const {
  for (size_t i = 0; i < layout_.size(); ++i) {
    if (layout_[i].first == table && layout_[i].second == column) return static_cast<int>(i);
  }
  return -1;
}

ExprPtr ViewPlanner::CompileInput(const Node& n) const { return Compile(n, nullptr); }
ExprPtr ViewPlanner::CompileGroup(const Node& n, const std::vector<NodePtr>& keys) const { return Compile(n, &keys); }

ExprPtr ViewPlanner::Compile(const Node& n, const std::vector<NodePtr>* keys) const {
  if (keys) {
    for (size_t i = 0; i < keys->size(); ++i) {
      if (Same(n, *(*keys)[i])) return expr::Column(static_cast<int>(i), n.type);
    }
    if (n.kind == NodeType::kAgg) return expr::Column(static_cast<int>(keys->size()) + n.agg_index, n.type);
  }
  auto kid = [&](size_t i) { return Compile(*n.kids[i], keys); };
  auto all_kids = [&]() {
    std::vector<ExprPtr> v;
    for (const NodePtr& k : n.kids) v.push_back(Compile(*k, keys));
    return v;
  };
  switch (n.kind) {
    case NodeType::kColumn: return expr::Column(InputPosition(n.table, n.column), n.type);
    case NodeType::kConst: return expr::Constant(n.value, n.type);
    case NodeType::kArith: return expr::Arithmetic(static_cast<ArithOp>(n.op), kid(0), kid(1), n.type);
    case NodeType::kDateArith: return expr::DateArithmetic(static_cast<ArithOp>(n.op), kid(0), kid(1));
    case NodeType::kNeg: return expr::Negate(kid(0));
    case NodeType::kCompare: return expr::Compare(static_cast<CompareOp>(n.op), kid(0), kid(1));
    case NodeType::kAnd: return expr::And(all_kids());
    case NodeType::kOr: return expr::Or(all_kids());
    case NodeType::kNot: return expr::Not(kid(0));
    case NodeType::kIsNull: return expr::IsNull(kid(0), n.flag);
    case NodeType::kIn: {
      std::vector<ExprPtr> list;
      for (size_t i = 1; i < n.kids.size(); ++i) list.push_back(kid(i));
      return expr::In(kid(0), std::move(list), n.flag);
    }
    case NodeType::kLike: return expr::Like(kid(0), kid(1), n.flag2, n.flag);
    case NodeType::kCase: {
      std::vector<std::pair<ExprPtr, ExprPtr>> whens;
      for (size_t i = 0; i + 1 < n.kids.size(); i += 2) whens.emplace_back(kid(i), kid(i + 1));
      return expr::Case(std::move(whens), kid(n.kids.size() - 1), n.type);
    }
    case NodeType::kCoalesce: return expr::Coalesce(all_kids(), n.type);
    case NodeType::kNullIf:
      if (n.kids.size() == 3) {
        // NULLIF(a, b) where the comparison widens a: CASE WHEN widened(a) = b THEN NULL ELSE a END.
        std::vector<std::pair<ExprPtr, ExprPtr>> whens;
        whens.emplace_back(expr::Compare(CompareOp::kEq, kid(2), kid(1)), expr::Constant(Datum::Null(), n.type));
        return expr::Case(std::move(whens), kid(0), n.type);
      }
      return expr::NullIf(kid(0), kid(1));
    case NodeType::kCast:
      return expr::Cast(kid(0), n.type, n.varchar_length);
    case NodeType::kConcat: return expr::Concat(kid(0), kid(1));
    case NodeType::kLower: return expr::Lower(kid(0));
    case NodeType::kUpper: return expr::Upper(kid(0));
    case NodeType::kLength: return expr::Length(kid(0));
    case NodeType::kSubstr: return expr::Substr(kid(0), kid(1), n.kids[2] ? kid(2) : nullptr);
    case NodeType::kDateTrunc: return expr::DateTrunc(static_cast<TimeUnit>(n.op), kid(0));
    case NodeType::kExtract: return expr::Extract(static_cast<TimeUnit>(n.op), kid(0), n.flag);
    case NodeType::kAgg: break;  // only reached through `keys`
  }
  return expr::Constant(Datum::Null(), n.type);
}

// ---- the statement --------------------------------------------------------------------------------

void ViewPlanner::ReportStructuralProblems(const json& n) {
  if (n.is_array()) {
    for (const json& e : n) ReportStructuralProblems(e);
    return;
  }
  if (!n.is_object()) return;
  std::string_view kind = NodeKind(n);
  if (kind == "SubLink") {
    Unsupported(LocationOf(n), "a subquery", "a view reads its tables directly; use a join or define another view");
    return;
  }
  if (kind == "FuncCall" && NodeBody(n).contains("over")) {
    Unsupported(LocationOf(n), "window function " + StringValue(NodeBody(n)["funcname"].back()) + "(...) OVER",
                "views compute aggregates per GROUP BY group");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (it.key() == "fromClause") continue;  // reported by PlanFrom
    ReportStructuralProblems(it.value());
  }
}

bool ViewPlanner::CheckSelectShape(const json& s, int view_loc) {
  bool ok = true;
  if (s.value("op", "SETOP_NONE") != "SETOP_NONE") {
    std::string op = s.value("op", "");
    std::string word = op == "SETOP_UNION" ? "union" : op == "SETOP_INTERSECT" ? "intersect" : "except";
    int rloc = s.contains("rarg") ? FirstLocation(s["rarg"]) : view_loc;
    for (char& c : word) c = static_cast<char>(c - 'a' + 'A');
    std::string lower = word;
    for (char& c : lower) c = static_cast<char>(c - 'A' + 'a');
    Unsupported(FindKeyword(rloc, lower, rloc), word, "define one view per SELECT");
    return false;
  }
  if (s.contains("withClause")) {
    Unsupported(s["withClause"].value("location", view_loc), "WITH (a common table expression)",
                "define the inner query as the view itself");
    ok = false;
  }
  if (s.contains("sortClause")) {
    int loc = FirstLocation(s["sortClause"]);
    Unsupported(FindKeyword(loc, "order", loc), "ORDER BY", "a view is an unordered set of rows; order when reading it");
    ok = false;
  }
  for (const char* key : {"limitCount", "limitOffset"}) {
    if (!s.contains(key)) continue;
    int loc = FirstLocation(s[key]);
    bool offset = std::strcmp(key, "limitOffset") == 0;
    int kw = FindKeyword(loc, offset ? "offset" : "limit", -1);
    if (kw < 0) kw = FindKeyword(loc, "fetch", loc);
    Unsupported(kw, offset ? "OFFSET" : "LIMIT", "a view holds all of its rows; limit when reading it");
    ok = false;
  }
  if (s.contains("lockingClause")) {
    Unsupported(FirstLocation(s["lockingClause"]) >= 0 ? FirstLocation(s["lockingClause"]) : view_loc, "FOR UPDATE/SHARE",
                "remove it");
    ok = false;
  }
  if (s.contains("windowClause")) {
    Unsupported(FindKeyword(FirstLocation(s["windowClause"]), "window", view_loc), "WINDOW", "views compute aggregates per GROUP BY group");
    ok = false;
  }
  if (s.contains("intoClause")) {
    Unsupported(view_loc, "SELECT INTO", "remove INTO");
    ok = false;
  }
  if (s.contains("valuesLists")) {
    Unsupported(view_loc, "VALUES", "a view reads captured tables");
    ok = false;
  }
  if (s.contains("distinctClause")) {
    const json& d = s["distinctClause"];
    if (!(d.size() == 1 && d[0].is_object() && d[0].empty())) {
      Unsupported(FindKeyword(FirstLocation(d), "on", FirstLocation(d)), "DISTINCT ON", "use GROUP BY with min()/max()");
      ok = false;
    }
  }
  return ok;
}

bool ViewPlanner::Plan(const json& stmt, size_t stmt_end, ViewPlan* plan) {
  (void)stmt_end;
  const json& view = stmt["view"];
  int view_loc = view.value("location", 0);
  const json& query = stmt["query"];
  if (NodeKind(query) != "SelectStmt") {
    Unsupported(view_loc, "a view over " + std::string(NodeKind(query)), "CREATE VIEW name AS SELECT ...");
    return false;
  }
  const json& s = NodeBody(query);
  if (s.value("op", "SETOP_NONE") != "SETOP_NONE") return CheckSelectShape(s, view_loc);
  // A CTE's name in FROM, or VALUES without FROM, would only add a confusing second problem.
  if (!CheckSelectShape(s, view_loc) && (s.contains("withClause") || s.contains("valuesLists"))) return false;
  if (!PlanFrom(s, view_loc)) {
    // Without the tables no column can be resolved; still name the constructs that no table would
    // make valid, so that one load reports them all.
    ReportStructuralProblems(s);
    return false;
  }

  // SELECT list (with * expanded), WHERE, GROUP BY, HAVING: analysed into typed trees.
  struct Target {
    std::string name;
    NodePtr node;
    int loc;
    const json* ast;
  };
  std::vector<Target> targets;
  Ctx select_ctx;
  static const json kNoTargets = json::array();
  for (const json& rt : s.contains("targetList") ? s["targetList"] : kNoTargets) {
    const json& b = NodeBody(rt);
    int loc = b.value("location", -1);
    const json& val = b["val"];
    if (NodeKind(val) == "ColumnRef" && NodeKind(NodeBody(val)["fields"].back()) == "A_Star") {
      const json& fields = NodeBody(val)["fields"];
      std::string qualifier = fields.size() >= 2 ? StringValue(fields[fields.size() - 2]) : "";
      bool matched = false;
      for (size_t t = 0; t < tables_.size(); ++t) {
        if (!qualifier.empty() && tables_[t].ref_name != qualifier) continue;
        matched = true;
        for (const auto& c : tables_[t].schema->columns) {
          json ref = {{"ColumnRef", {{"fields", json::array({json{{"String", {{"sval", tables_[t].ref_name}}}},
                                                             json{{"String", {{"sval", c.name}}}}})},
                                     {"location", loc}}}};
          NodePtr n = Analyze(ref, select_ctx);
          targets.push_back({c.name, std::move(n), loc, nullptr});
        }
      }
      if (!matched) Error(loc, "missing FROM-clause entry for table " + Quote(qualifier), "qualify * with a table named in FROM");
      continue;
    }
    NodePtr n = Analyze(val, select_ctx);
    targets.push_back({OutputName(rt), std::move(n), loc, &val});
  }
  if (targets.empty() && errors_ == 0) {
    Unsupported(view_loc, "a SELECT without columns", "list at least one column");
    return false;
  }
  // Unknown-typed outputs (a bare 'literal' or NULL) become text, as PostgreSQL 10+ makes them.
  for (Target& t : targets) {
    if (t.node && t.node->type.id == TypeId::kUnknown) t.node = Coerce(std::move(t.node), kText, "output column");
  }
  NodePtr where;
  if (s.contains("whereClause")) {
    Ctx c;
    c.clause = Clause::kWhere;
    where = RequireBool(Analyze(s["whereClause"], c), "WHERE");
  }
  std::vector<NodePtr> group_keys;
  bool has_group_by = s.contains("groupClause");
  if (has_group_by) {
    Ctx c;
    c.clause = Clause::kGroupBy;
    for (const json& g : s["groupClause"]) {
      std::string_view gk = NodeKind(g);
      int gloc = LocationOf(g);
      if (gk == "GroupingSet") {
        Error(gloc, "GROUPING SETS, ROLLUP and CUBE are not supported in views", "define one view per grouping");
        continue;
      }
      const Target* by_output = nullptr;
      if (gk == "A_Const") {
        const json& cb = NodeBody(g);
        if (!cb.contains("ival")) {
          Error(gloc, "non-integer constant in GROUP BY", "group by a column, an expression or an output position");
          continue;
        }
        int64_t pos = IntConstValue(cb);
        if (pos < 1 || pos > static_cast<int64_t>(targets.size())) {
          Error(gloc, "GROUP BY position " + std::to_string(pos) + " is not in select list",
                "positions run from 1 to " + std::to_string(targets.size()));
          continue;
        }
        by_output = &targets[static_cast<size_t>(pos - 1)];
      } else if (gk == "ColumnRef" && NodeBody(g)["fields"].size() == 1 &&
                 NodeKind(NodeBody(g)["fields"][0]) == "String") {
        // An unqualified name: a FROM column wins over an output alias (findTargetlistEntrySQL92).
        std::string name = StringValue(NodeBody(g)["fields"][0]);
        bool is_input = false;
        for (const RangeEntry& e : tables_) {
          for (const auto& col : e.schema->columns) is_input = is_input || col.name == name;
        }
        if (!is_input) {
          for (const Target& t : targets) {
            if (t.name == name && t.ast) {
              if (by_output && !(by_output->node && t.node && Same(*by_output->node, *t.node))) {
                Error(gloc, "GROUP BY " + Quote(name) + " is ambiguous", "rename one of the output columns");
              }
              by_output = &t;
            }
          }
        }
      }
      NodePtr key;
      if (by_output) {
        if (!by_output->ast) {
          Unsupported(gloc, "GROUP BY a column of *", "name the column");
          continue;
        }
        if (by_output->node && ContainsAggregate(*by_output->node)) {
          Error(gloc, "aggregate functions are not allowed in GROUP BY", "group by the columns the aggregate reads");
          continue;
        }
        Ctx gc = c;
        key = Analyze(*by_output->ast, gc);  // a fresh tree: keys and outputs must not share nodes
        if (key && key->type.id == TypeId::kUnknown) key = Coerce(std::move(key), kText, "GROUP BY");
      } else {
        key = Analyze(g, c);
        if (key && key->type.id == TypeId::kUnknown) key = Coerce(std::move(key), kText, "GROUP BY");
      }
      if (key) group_keys.push_back(std::move(key));
    }
  }
  NodePtr having;
  if (s.contains("havingClause")) {
    Ctx c;
    c.clause = Clause::kHaving;
    having = RequireBool(Analyze(s["havingClause"], c), "HAVING");
  }
  // Output names: from CREATE VIEW v (a, b), then unique.
  if (stmt.contains("aliases")) {
    const json& aliases = stmt["aliases"];
    if (aliases.size() > targets.size()) {
      Error(view_loc, "CREATE VIEW specifies more column names than columns", "name at most " + std::to_string(targets.size()));
    }
    for (size_t i = 0; i < aliases.size() && i < targets.size(); ++i) targets[i].name = StringValue(aliases[i]);
  }
  std::map<std::string, int> seen;
  for (const Target& t : targets) {
    auto [it, inserted] = seen.emplace(t.name, t.loc);
    if (!inserted) {
      Error(t.loc, "output column name " + Quote(t.name) + " is used twice",
            "Parquet needs unique column names: give one an alias with AS");
    }
  }
  if (errors_ > 0) return false;
  for (const Target& t : targets) {
    if (!t.node) return false;
  }

  // Shape: aggregated (aggregates or GROUP BY or HAVING) or a bag.
  bool has_aggregates = having != nullptr;
  for (const Target& t : targets) has_aggregates = has_aggregates || ContainsAggregate(*t.node);
  bool aggregated = has_aggregates || has_group_by;
  plan->distinct = s.contains("distinctClause");
  if (!aggregated) {
    plan->bag = true;
    for (Target& t : targets) group_keys.push_back(std::move(t.node));
    NodePtr count = MakeNode(NodeType::kAgg, kInt8, -1);
    count->op = static_cast<int>(AggregateKind::kCountStar);
    aggregates_.push_back(std::move(count));
    aggregates_.back()->agg_index = 0;
  } else {
    plan->always_one_group = !has_group_by;
    // Collect the aggregates (identical calls share one state) and check grouping.
    std::vector<Node*> sites;  // the first call site of each distinct aggregate
    auto collect = [&](Node* root, auto&& self) -> void {
      if (!root) return;
      if (root->kind == NodeType::kAgg) {
        for (size_t i = 0; i < sites.size(); ++i) {
          if (Same(*sites[i], *root)) {
            root->agg_index = static_cast<int>(i);
            return;
          }
        }
        root->agg_index = static_cast<int>(sites.size());
        sites.push_back(root);
        return;
      }
      for (NodePtr& k : root->kids) self(k.get(), self);
    };
    for (Target& t : targets) collect(t.node.get(), collect);
    collect(having.get(), collect);
    bool ok = true;
    for (Target& t : targets) ok = GroupCheck(&t.node, &group_keys) && ok;
    if (having) ok = GroupCheck(&having, &group_keys) && ok;
    if (!ok) return false;
    for (Node* site : sites) {
      // The argument tree moves to the plan's aggregate list; the call site keeps kind, type and
      // agg_index, which is all that compiling it as a group-row reference needs.
      NodePtr agg = MakeNode(NodeType::kAgg, site->type, site->loc);
      agg->op = site->op;
      agg->flag = site->flag;
      agg->agg_index = site->agg_index;
      agg->kids = std::move(site->kids);
      aggregates_.push_back(std::move(agg));
    }
  }

  // The input row: the columns the view reads, table by table in catalog order.
  for (const auto& [table, column] : used_columns_) layout_.push_back({table, column});
  if (tables_.size() == 2) {
    int left_key = InputPosition(join_keys_.first->table, join_keys_.first->column);
    int right_key = InputPosition(join_keys_.second->table, join_keys_.second->column);
    join_->left_key = left_key;
    join_->right_key = right_key;
    plan->join = join_;
  }
  for (size_t t = 0; t < tables_.size(); ++t) {
    InputTable in;
    in.schema = tables_[t].schema->schema;
    in.table = tables_[t].schema->table;
    for (const auto& [table, column] : layout_) {
      if (table == static_cast<int>(t)) in.columns.push_back(column);
    }
    plan->inputs.push_back(std::move(in));
  }
  for (const auto& [table, column] : layout_) {
    const event::Column& c = tables_[static_cast<size_t>(table)].schema->columns[static_cast<size_t>(column)];
    plan->input_types.push_back(MapColumnType(c.type_oid, c.type_modifier, c.user_type, c.type_name).type);
  }

  // Compile.
  if (where) plan->where = CompileInput(*where);
  for (const NodePtr& k : group_keys) plan->group_keys.push_back(CompileInput(*k));
  for (const NodePtr& a : aggregates_) {
    AggregateSpec spec;
    spec.kind = static_cast<AggregateKind>(a->op);
    spec.distinct = a->flag;
    spec.result_type = a->type;
    if (!a->kids.empty() && a->kids[0]) spec.arg = CompileInput(*a->kids[0]);
    plan->aggregates.push_back(std::move(spec));
  }
  // A min(x) and a max(x) of the same argument share one value multiset (plan.h).
  auto extreme = [&](size_t i) {
    const AggregateSpec& a = plan->aggregates[i];
    return (a.kind == AggregateKind::kMin || a.kind == AggregateKind::kMax) && !a.keeps_both_extremes &&
           a.values_from < 0 && !aggregates_[i]->kids.empty() && aggregates_[i]->kids[0];
  };
  for (size_t j = 0; j < plan->aggregates.size(); ++j) {
    if (!extreme(j)) continue;
    for (size_t i = 0; i < j; ++i) {
      if (!extreme(i) || plan->aggregates[i].kind == plan->aggregates[j].kind) continue;
      if (!Same(*aggregates_[i]->kids[0], *aggregates_[j]->kids[0])) continue;
      plan->aggregates[i].keeps_both_extremes = true;
      plan->aggregates[j].values_from = static_cast<int>(i);
      break;
    }
  }
  if (having) plan->having = CompileGroup(*having, group_keys);
  for (size_t i = 0; i < targets.size(); ++i) {
    OutputColumn out;
    out.name = targets[i].name;
    if (plan->bag) {
      out.type = group_keys[i]->type;
      out.expr = expr::Column(static_cast<int>(i), out.type);
    } else {
      out.type = targets[i].node->type;
      out.expr = CompileGroup(*targets[i].node, group_keys);
    }
    plan->outputs.push_back(std::move(out));
  }
  return true;
}

// ---- the file -----------------------------------------------------------------------------------

// Splits a file into statements at the semicolons outside quotes, dollar quotes and comments.
// (libpg_query's pg_query_split_with_scanner only splits at parenthesis depth 0, so one unbalanced
// "(" would hide every later statement; this splitter lets each statement fail on its own.)
std::vector<std::pair<size_t, size_t>> SplitStatements(std::string_view t) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t start = 0, i = 0;
  auto ident = [](char c) { return IsWordChar(c) || c == '$'; };
  while (i < t.size()) {
    char c = t[i];
    if (c == '-' && i + 1 < t.size() && t[i + 1] == '-') {
      while (i < t.size() && t[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
      i = SkipSpaceAndComments(t, i);
    } else if (c == '\'' || c == '"') {
      // E'...' strings take backslash escapes; '' and "" are the quote itself.
      bool escapes = c == '\'' && i > 0 && (t[i - 1] == 'E' || t[i - 1] == 'e') && (i < 2 || !IsWordChar(t[i - 2]));
      ++i;
      while (i < t.size()) {
        if (escapes && t[i] == '\\') {
          i += 2;
          continue;
        }
        if (t[i] == c) {
          if (i + 1 < t.size() && t[i + 1] == c) {
            i += 2;
            continue;
          }
          break;
        }
        ++i;
      }
      ++i;
    } else if (c == '$' && (i == 0 || !ident(t[i - 1]))) {
      size_t e = i + 1;
      while (e < t.size() && IsWordChar(t[e]) && !(t[e] >= '0' && t[e] <= '9' && e == i + 1)) ++e;
      if (e < t.size() && t[e] == '$') {
        std::string_view tag = t.substr(i, e - i + 1);
        size_t close = t.find(tag, e + 1);
        i = close == std::string_view::npos ? t.size() : close + tag.size();
      } else {
        ++i;
      }
    } else if (c == ';') {
      out.push_back({start, i});
      start = ++i;
    } else {
      ++i;
    }
  }
  if (start < t.size()) out.push_back({start, t.size()});
  return out;
}

// The name after CREATE [OR REPLACE] [TEMP] [RECURSIVE] VIEW in a statement that did not parse, for
// the message; "" when there is none.
std::string GuessViewName(std::string_view stmt) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < stmt.size() && words.size() < 8) {
    i = SkipSpaceAndComments(stmt, i);
    if (i >= stmt.size()) break;
    if (stmt[i] == '"') {
      size_t e = stmt.find('"', i + 1);
      if (e == std::string_view::npos) break;
      words.push_back("\"" + std::string(stmt.substr(i + 1, e - i - 1)));
      i = e + 1;
      continue;
    }
    size_t s = i;
    while (i < stmt.size() && (IsWordChar(stmt[i]) || stmt[i] == '.')) ++i;
    if (i == s) {
      ++i;
      words.push_back("");
      continue;
    }
    std::string w(stmt.substr(s, i - s));
    for (char& c : w) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    words.push_back(w);
  }
  for (size_t k = 0; k + 1 < words.size(); ++k) {
    if (words[k] == "view") {
      std::string n = words[k + 1];
      if (!n.empty() && n[0] == '"') return n.substr(1);
      return n;
    }
  }
  return "";
}

}  // namespace

Result<ViewSet> LoadViews(std::string_view file, std::string_view text, const Catalog& catalog) {
  ViewSet set;
  set.file = std::string(file);
  std::vector<Problem> problems;

  {
    std::vector<std::pair<size_t, size_t>> stmts = SplitStatements(text);
    std::map<std::string, size_t> defined;  // view name -> offset of its first definition
    for (const auto& [loc, stmt_end] : stmts) {
      size_t start = SkipSpaceAndComments(text, loc);
      size_t end = stmt_end;
      if (start >= end) continue;  // only comments
      std::string piece(text.substr(start, end - start));
      PgQueryParseResult parsed = pg_query_parse(piece.c_str());
      std::string guess = GuessViewName(piece);
      std::string prefix = guess.empty() ? "" : "view " + Quote(guess) + ": ";
      if (parsed.error) {
        size_t at = start + CharPositionToOffset(piece, parsed.error->cursorpos);
        std::string msg = parsed.error->message;
        pg_query_free_parse_result(parsed);
        problems.push_back({at, prefix + msg + " (write CREATE VIEW name AS SELECT ... in PostgreSQL's syntax)"});
        continue;
      }
      json tree = json::parse(parsed.parse_tree, nullptr, /*allow_exceptions=*/false);
      pg_query_free_parse_result(parsed);
      if (tree.is_discarded() || !tree.contains("stmts") || tree["stmts"].empty()) continue;
      const json& raw = tree["stmts"][0];
      const json& stmt = raw["stmt"];
      if (NodeKind(stmt) != "ViewStmt") {
        // Named by its first keywords as written: "CREATE TABLE", "INSERT", "CREATE MATERIALIZED VIEW".
        std::vector<std::string> words;
        for (size_t i = 0; i < piece.size() && words.size() < 3;) {
          size_t e = i;
          while (e < piece.size() && IsWordChar(piece[e])) ++e;
          if (e == i) break;
          std::string w(piece.substr(i, e - i));
          for (char& c : w) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
          words.push_back(w);
          i = e;
          while (i < piece.size() && (piece[i] == ' ' || piece[i] == '\n' || piece[i] == '\t' || piece[i] == '\r')) ++i;
        }
        std::string what = words.empty() ? "" : words[0];
        if (words.size() > 1 && (words[0] == "CREATE" || words[0] == "DROP" || words[0] == "ALTER")) {
          what += " " + words[1];
          if (words.size() > 2 && (words[1] == "MATERIALIZED" || words[1] == "TEMP" || words[1] == "TEMPORARY" ||
                                   words[1] == "UNLOGGED" || words[1] == "OR")) {
            what += " " + words[2];
          }
        }
        if (what.empty()) what = "this statement";
        problems.push_back({start, what + " is not supported in a views file (it holds only CREATE VIEW name AS SELECT ... statements)"});
        continue;
      }
      const json& vs = NodeBody(stmt);
      std::string name = vs["view"].value("relname", "");
      std::string schema = vs["view"].value("schemaname", "");
      int view_loc = vs["view"].value("location", 0);
      std::vector<Problem> view_problems;
      auto refuse = [&](int loc, const std::string& what, const std::string& hint) {
        view_problems.push_back({start + static_cast<size_t>(loc), "view " + Quote(name) + ": " + what + " (" + hint + ")"});
      };
      if (!schema.empty() && schema != "public") {
        refuse(view_loc, "a view in schema " + Quote(schema) + " is not supported", "views have one namespace: drop the schema");
      }
      if (vs["view"].value("relpersistence", "p") == "t") {
        refuse(0, "CREATE TEMP VIEW is not supported", "write CREATE VIEW");
      }
      if (name.empty()) refuse(view_loc, "a view needs a name", "CREATE VIEW name AS SELECT ...");
      if (auto it = defined.find(name); it != defined.end() && !name.empty()) {
        auto [l, c] = LineColumn(text, it->second);
        refuse(view_loc, "view " + Quote(name) + " is defined twice",
               "first defined at line " + std::to_string(l) + ", column " + std::to_string(c) + "; rename one");
      } else {
        defined.emplace(name, start + static_cast<size_t>(view_loc));
      }
      ViewPlan plan;
      plan.name = name;
      plan.sql = std::string(text.substr(start, end - start));
      while (!plan.sql.empty() && (plan.sql.back() == ' ' || plan.sql.back() == '\n' || plan.sql.back() == '\t' ||
                                   plan.sql.back() == '\r')) {
        plan.sql.pop_back();
      }
      auto [line, column] = LineColumn(text, start);
      plan.line = line;
      plan.column = column;
      ViewPlanner planner(catalog, text, start, name, &view_problems);
      bool ok = planner.Plan(vs, end, &plan) && view_problems.empty();
      problems.insert(problems.end(), view_problems.begin(), view_problems.end());
      if (!ok) continue;
      // Fingerprint: the parse tree without locations, plus the catalog types of the columns read.
      std::string canon = "cdc-view-v1\n" + StripLocations(stmt).dump();
      for (const InputTable& in : plan.inputs) {
        const event::TableSchema& ts = catalog.at(in.schema + "." + in.table);
        for (int c : in.columns) {
          const event::Column& col = ts.columns[static_cast<size_t>(c)];
          canon += "\n" + in.schema + "." + in.table + "." + col.name + ":" + std::to_string(col.type_oid) + ":" +
                   std::to_string(col.type_modifier);
          if (col.user_type) canon += ":" + std::to_string(static_cast<int>(col.user_type->kind)) + ":" + std::to_string(col.user_type->base_type_oid);
        }
      }
      plan.fingerprint = Hex64(Fnv1a(canon, 0xcbf29ce484222325ull)) + Hex64(Fnv1a(canon, 0x84222325cbf29ce4ull));
      set.views.push_back(std::move(plan));
    }
  }
  if (problems.empty()) return set;
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) { return a.offset < b.offset; });
  std::string message;
  for (const Problem& p : problems) {
    auto [line, column] = LineColumn(text, p.offset);
    if (!message.empty()) message += "\n";
    // One line per problem: a quoted token or name with a newline (an unterminated string the parser
    // quotes up to the end of the file) or a control character is shown escaped.
    message += std::string(file) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + TerminalText(p.message);
  }
  return Status::InvalidArgument(message);
}

}  // namespace cdc::sql
