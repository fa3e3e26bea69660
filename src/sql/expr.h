// The compiled expression nodes behind plan.h's Expr, built by the planner (views.cc) from a checked,
// typed tree. Internal to src/sql.
//
// Every factory takes operands that already have the types the operation needs (the planner inserts
// the casts PostgreSQL's operator resolution would): Arithmetic gets two operands of its result type,
// Compare two of one type, Concat two texts. Evaluation never looks at a name or a string to decide
// what to do, and allocates only for text results.
//
// Thread-safety: immutable after construction; Eval is const.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sql/plan.h"

namespace cdc::sql::expr {

using ExprPtr = std::unique_ptr<Expr>;

enum class ArithOp : uint8_t { kAdd, kSub, kMul, kDiv, kMod };
enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

// date_trunc units and extract/date_part fields.
enum class TimeUnit : uint8_t {
  kMicroseconds, kMilliseconds, kSecond, kMinute, kHour, kDay, kWeek, kMonth, kQuarter, kYear,
  kDecade, kCentury, kMillennium,
  // extract/date_part only:
  kEpoch, kDow, kIsoDow, kDoy, kIsoYear,
};

ExprPtr Column(int index, Type type);
ExprPtr Constant(Datum value, Type type);

// a op b, both of type `type` (int2/int4/int8: PostgreSQL's overflow errors and truncating
// division; numeric: exact with PostgreSQL's scales; float4/float8).
ExprPtr Arithmetic(ArithOp op, ExprPtr a, ExprPtr b, Type type);
// date + int4, date - int4 (-> date), date - date (-> int4).
ExprPtr DateArithmetic(ArithOp op, ExprPtr a, ExprPtr b);
ExprPtr Negate(ExprPtr a);

ExprPtr Compare(CompareOp op, ExprPtr a, ExprPtr b);
ExprPtr And(std::vector<ExprPtr> args);
ExprPtr Or(std::vector<ExprPtr> args);
ExprPtr Not(ExprPtr a);
ExprPtr IsNull(ExprPtr a, bool negated);
// x IN (list) with SQL's null rules; the list has x's type.
ExprPtr In(ExprPtr x, std::vector<ExprPtr> list, bool negated);
// LIKE/ILIKE with % and _ and backslash escape; ILIKE lower()s both sides first (as lower() does).
ExprPtr Like(ExprPtr text, ExprPtr pattern, bool case_insensitive, bool negated);
// Searched CASE: the first true condition's result, else `otherwise` (never null: a NULL constant).
ExprPtr Case(std::vector<std::pair<ExprPtr, ExprPtr>> whens, ExprPtr otherwise, Type type);
ExprPtr Coalesce(std::vector<ExprPtr> args, Type type);
ExprPtr NullIf(ExprPtr a, ExprPtr b);
// CAST(a AS to); varchar_length > 0 truncates text to that many characters (varchar(n)).
ExprPtr Cast(ExprPtr a, Type to, int varchar_length);
ExprPtr Concat(ExprPtr a, ExprPtr b);
ExprPtr Lower(ExprPtr a);
ExprPtr Upper(ExprPtr a);
ExprPtr Length(ExprPtr a);
ExprPtr Substr(ExprPtr a, ExprPtr start, ExprPtr count /* may be null */);
// date_trunc(unit, a) for a timestamp or timestamptz `a` (the result has a's type).
ExprPtr DateTrunc(TimeUnit unit, ExprPtr a);
// extract(field FROM a) -> numeric, or date_part(field, a) -> double precision (`as_double`); `a` is
// a date, timestamp or timestamptz.
ExprPtr Extract(TimeUnit field, ExprPtr a, bool as_double);

// The value cast as CAST(in AS to) does (PostgreSQL's rounding and error texts). Used at run time by
// Cast and by the planner to fold literals.
Status CastDatum(const Datum& in, const Type& from, const Type& to, int varchar_length, Datum* out);

}  // namespace cdc::sql::expr
