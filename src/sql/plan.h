// ViewPlan: a checked, typed, compiled `CREATE VIEW name AS SELECT ...` (docs/VIEWS.md), as the
// analytics engine (src/analytics/) maintains it. src/sql knows no storage and no event format: it
// turns SQL text plus a catalog into plans, and evaluates expressions and aggregates over Datums.
//
// Every view is normalised to one shape, so that the engine has a single maintenance algorithm:
//
//   input row  = the columns the view reads of its first table, then (join) those of the second;
//                for an unmatched LEFT JOIN row the second table's part is all NULL
//   where      filters input rows                                   (null = no WHERE)
//   group keys computed from the input row                          (empty = one group: the whole table)
//   aggregates arguments computed from the input row
//   group row  = group key values, then aggregate results
//   having     filters groups, over the group row                   (null = no HAVING)
//   outputs    the view's columns, computed from the group row
//
// A view without aggregates and without GROUP BY (`SELECT a, b + 1 FROM t WHERE ...`) is planned as
// a bag: its group keys are the output expressions, aggregates[0] is count(*), and the engine emits
// each group's row count(*) times (`bag` below). SELECT DISTINCT is the same without the repetition.
//
// An aggregate query without GROUP BY has exactly one group, which exists even when no row does
// (PostgreSQL returns one row: count 0, sum NULL ...): `always_one_group`.
//
// Thread-safety: a ViewSet is immutable once loaded; Expr::Eval and the aggregate functions are
// const and safe from any number of threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "event/change_event.h"
#include "sql/datum.h"
#include "sql/value_counts.h"

namespace cdc::sql {

// A compiled scalar expression over a row of Datums (the input row or the group row).
class Expr {
 public:
  explicit Expr(Type type) : type_(type) {}
  virtual ~Expr() = default;
  const Type& type() const { return type_; }
  // Evaluates over `row` (REQUIRES: as many Datums as the layout the expression was compiled for).
  // A runtime error as PostgreSQL raises it ("division by zero", "numeric field overflow", "invalid
  // input syntax for type integer: \"x\"") is InvalidArgument with that text.
  virtual Status Eval(const Datum* row, Datum* out) const = 0;

 private:
  Type type_;
};

enum class AggregateKind : uint8_t {
  kCountStar,
  kCount,
  kSum,
  kAvg,
  kMin,
  kMax,
  kBoolAnd,
  kBoolOr,
};

struct AggregateSpec {
  AggregateKind kind = AggregateKind::kCountStar;
  bool distinct = false;       // count(DISTINCT x), sum(DISTINCT x) ...
  std::unique_ptr<Expr> arg;   // over the input row; null for count(*)
  Type result_type;            // PostgreSQL's: count -> bigint, sum(int4) -> bigint, avg(int) -> numeric ...
  // A min(x) and a max(x) of one view share one value multiset: the first of the pair keeps it for
  // both (`keeps_both_extremes`), the second has `values_from` = the first's index, accumulates
  // nothing and is finalized from the first's state (FinalState).
  bool keeps_both_extremes = false;
  int values_from = -1;
};

// The running state of one aggregate in one group, under insertions (sign +1) and retractions
// (sign -1) of input rows. Retraction is exact for every kind: min/max and DISTINCT keep a
// value -> multiplicity multiset (ValueCounts: hashed, with a heap for min/max), so deleting the
// current minimum never rescans the group.
// Floating-point sums are the one exception: they are kept as a double (sum(real) rounded to real at
// every step, as PostgreSQL's float4pl state is), so after retractions, or when rows arrive in another
// order than PostgreSQL scans them, they may differ from a fresh sum in the last bits (docs/VIEWS.md).
// Layout: 48 bytes (the 16-byte isum first, so that no padding sits between the members).
// bool_and/bool_or keep the number of true arguments in isum and of non-null ones in count.
struct AggregateState {
  __int128 isum = 0;  // exact sum of integer/numeric arguments (numeric at `scale`); bool: trues
  int64_t count = 0;  // rows counted (count(*): every row; others: rows whose argument is not null)
  double fsum = 0;    // sum of float arguments
  // min/max/DISTINCT: argument value -> multiplicity; null when the kind needs none. With DISTINCT,
  // count/isum/fsum accumulate each distinct value once (when its multiplicity leaves 0).
  std::unique_ptr<ValueCounts> values;
  int16_t scale = 0;  // numeric sums: the scale isum is kept at (the largest seen)
};

// Adds (`sign` = +1) or retracts (-1) one input row's argument value (ignored when null, except by
// count(*), whose `arg` is ignored). InvalidArgument on overflow ("bigint out of range").
Status Accumulate(const AggregateSpec& spec, AggregateState* state, const Datum& arg, int sign);
// The order the `values` of an aggregate of this kind keep: min, max, both, or none (DISTINCT alone).
ValueCounts::Order ValuesOrder(const AggregateSpec& spec);
// The state Finalize reads for aggregate `j` of a group: its own, or the one keeping its values.
inline const AggregateState& FinalState(const std::vector<AggregateSpec>& specs,
                                        const std::vector<AggregateState>& states, size_t j) {
  return specs[j].values_from >= 0 ? states[static_cast<size_t>(specs[j].values_from)] : states[j];
}
// The aggregate's current result, with PostgreSQL's type and null rules (sum of no rows is NULL,
// count is 0; avg rounds to PostgreSQL's division scale).
Status Finalize(const AggregateSpec& spec, const AggregateState& state, Datum* out);

// A column of a view.
struct OutputColumn {
  std::string name;
  Type type;
  std::unique_ptr<Expr> expr;  // over the group row
};

// One table a view reads.
struct InputTable {
  std::string schema;             // "public"
  std::string table;              // "orders"
  std::vector<int> columns;       // indexes into the catalog table's columns, in input-row order
};

struct JoinSpec {
  enum class Kind : uint8_t { kInner, kLeft };
  Kind kind = Kind::kInner;
  // Positions in the input row of the equi-join's two sides: left_key in inputs[0]'s part,
  // right_key in inputs[1]'s part. Rows whose key is NULL match nothing (SQL).
  int left_key = 0;
  int right_key = 0;
};

struct ViewPlan {
  std::string name;          // as written (unquoted): "klienci-by-country"
  std::string sql;           // the statement's text, from CREATE to the end of the SELECT
  std::string fingerprint;   // changes exactly when the definition's meaning may change (not with
                             // whitespace or comments): decides whether saved state is reusable
  int line = 0, column = 0;  // of the statement in its file (1-based)

  std::vector<InputTable> inputs;  // 1, or 2 with `join`
  std::optional<JoinSpec> join;
  std::vector<Type> input_types;   // of the input row

  std::unique_ptr<Expr> where;                     // over the input row; null = none
  std::vector<std::unique_ptr<Expr>> group_keys;   // over the input row
  std::vector<AggregateSpec> aggregates;           // arguments over the input row
  std::unique_ptr<Expr> having;                    // over the group row; null = none
  std::vector<OutputColumn> outputs;               // over the group row

  bool bag = false;               // no aggregates, no GROUP BY: emit each group count(*) times
  bool distinct = false;          // SELECT DISTINCT: with `bag`, each group once; on an aggregated
                                  // view, equal output rows once (LoadViews sets both for a
                                  // non-aggregated SELECT DISTINCT)
  bool always_one_group = false;  // aggregates without GROUP BY: one row even over no input
};

// The tables views may read: "schema.table" -> its columns (names, types, keys) as the source's
// catalog has them (pg/table_catalog.h fills it). Only captured tables belong here.
using Catalog = std::map<std::string, event::TableSchema>;

struct ViewSet {
  std::string file;  // as named by the user (for messages)
  std::vector<ViewPlan> views;
};

// Parses and checks a views file (PostgreSQL's grammar through libpg_query), against `catalog`.
// Every view must be inside the supported subset (docs/VIEWS.md); anything else is InvalidArgument
// "<file>:<line>:<column>: view \"<name>\": <what> is not supported in views (<hint>)", one line per
// problem, all problems of the file at once. Unknown tables/columns name what exists ("did you mean").
Result<ViewSet> LoadViews(std::string_view file, std::string_view text, const Catalog& catalog);

}  // namespace cdc::sql
