// Unit tests of src/sql: values, aggregates, and views planned and evaluated. Expected values and
// result types were checked against PostgreSQL 15 (psql, TimeZone=UTC) unless they follow from the
// definition.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "sql/datetime.h"
#include "sql/expr.h"
#include "sql/numeric.h"
#include "sql/plan.h"

// Counts allocations while `g_count_allocations` is set: Eval over int/numeric/bool must not allocate.
// Not under AddressSanitizer, which owns operator new and delete (and reports the malloc/free pairing).
namespace {
bool g_count_allocations = false;
size_t g_allocations = 0;
}  // namespace
#ifndef __SANITIZE_ADDRESS__
#define CDC_COUNTS_ALLOCATIONS 1
// The replacement pairs malloc with free on purpose; GCC cannot see that new and delete are both ours.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  if (g_count_allocations) ++g_allocations;
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#endif

namespace cdc::sql {
namespace {

Datum Num(std::string_view text) {
  __int128 v;
  int16_t s;
  Status st = numeric::Parse(text, &v, &s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return Datum::Numeric(v, s);
}

const Type kNumericType{TypeId::kNumeric};
const Type kInt8Type{TypeId::kInt8};
const Type kFloat8Type{TypeId::kFloat8};

TEST(DatumTest, NumericCompareAndHashAcrossScales) {
  EXPECT_EQ(Compare(Num("1.50"), Num("1.5")), 0);
  EXPECT_TRUE(Equal(Num("1.50"), Num("1.5")));
  EXPECT_EQ(Hash(Num("1.50")), Hash(Num("1.5")));
  EXPECT_EQ(Hash(Num("2.000")), Hash(Num("2")));
  EXPECT_LT(Compare(Num("1.49"), Num("1.5")), 0);
  EXPECT_GT(Compare(Num("-1.4"), Num("-1.41")), 0);
  // Scaling one side up would overflow: decided by magnitude.
  EXPECT_GT(Compare(Num("99999999999999999999999999999999999999"), Num("0.00000000000000000000000000000000000001")), 0);
  EXPECT_LT(Compare(Num("-99999999999999999999999999999999999999"), Num("0.1")), 0);
}

TEST(DatumTest, NullsLastAndFloatNaN) {
  EXPECT_GT(Compare(Datum::Null(), Datum::Int(1)), 0);
  EXPECT_LT(Compare(Datum::Int(1), Datum::Null()), 0);
  EXPECT_EQ(Compare(Datum::Null(), Datum::Null()), 0);
  double nan = std::numeric_limits<double>::quiet_NaN();
  double inf = std::numeric_limits<double>::infinity();
  EXPECT_GT(Compare(Datum::Float(nan), Datum::Float(inf)), 0);
  EXPECT_EQ(Compare(Datum::Float(nan), Datum::Float(nan)), 0);
  EXPECT_EQ(Hash(Datum::Float(0.0)), Hash(Datum::Float(-0.0)));
  EXPECT_EQ(Compare(Datum::Text("a"), Datum::Text("b")), -1);
  EXPECT_EQ(Compare(Datum::Text("\xc3\xa9"), Datum::Text("z")), 1);  // bytewise ("C")
}

TEST(DatumTest, ToTextAsPostgres) {
  EXPECT_EQ(ToText(Datum::Bool(true), {TypeId::kBool}), "t");
  EXPECT_EQ(ToText(Datum::Bool(false), {TypeId::kBool}), "f");
  EXPECT_EQ(ToText(Datum::Int(-42), {TypeId::kInt4}), "-42");
  EXPECT_EQ(ToText(Num("12.50"), kNumericType), "12.50");
  EXPECT_EQ(ToText(Num("-0.05"), kNumericType), "-0.05");
  EXPECT_EQ(ToText(Datum::Numeric(5, 3), kNumericType), "0.005");
  EXPECT_EQ(ToText(Datum::Null(), kNumericType), "");
  // select 1e15::float8, 123456789012345678::float8, 1000000::float4, 123456::float4, 0.0001::float8,
  //        0.00001::float8, '-0'::float8, 'nan'::float8
  EXPECT_EQ(ToText(Datum::Float(1e15), kFloat8Type), "1e+15");
  EXPECT_EQ(ToText(Datum::Float(123456789012345678.0), kFloat8Type), "1.2345678901234568e+17");
  EXPECT_EQ(ToText(Datum::Float(1000000), {TypeId::kFloat4}), "1e+06");
  EXPECT_EQ(ToText(Datum::Float(123456), {TypeId::kFloat4}), "123456");
  EXPECT_EQ(ToText(Datum::Float(0.0001), kFloat8Type), "0.0001");
  EXPECT_EQ(ToText(Datum::Float(0.00001), kFloat8Type), "1e-05");
  EXPECT_EQ(ToText(Datum::Float(-0.0), kFloat8Type), "-0");
  EXPECT_EQ(ToText(Datum::Float(std::nan("")), kFloat8Type), "NaN");
  EXPECT_EQ(ToText(Datum::Float(0.1f), {TypeId::kFloat4}), "0.1");
  EXPECT_EQ(ToText(Datum::Float(1.5f + 1e-7f), {TypeId::kFloat4}), "1.5000001");
  EXPECT_EQ(ToText(Datum::Float(1.5e20), kFloat8Type), "1.5e+20");
  EXPECT_EQ(ToText(Datum::Float(123.25), kFloat8Type), "123.25");
  // select date '0001-01-01' - 1, timestamptz '0001-01-01 00:00:00+00' - interval '1 day',
  //        timestamp '2024-01-01 10:00:00.1230'
  EXPECT_EQ(ToText(Datum::Int(datetime::DaysFromCivil(2024, 2, 29)), {TypeId::kDate}), "2024-02-29");
  EXPECT_EQ(ToText(Datum::Int(datetime::DaysFromCivil(0, 12, 31)), {TypeId::kDate}), "0001-12-31 BC");
  int64_t ts = datetime::DaysFromCivil(2024, 1, 1) * datetime::kMicrosPerDay + 36000LL * 1000000 + 123000;
  EXPECT_EQ(ToText(Datum::Int(ts), {TypeId::kTimestamp}), "2024-01-01 10:00:00.123");
  EXPECT_EQ(ToText(Datum::Int(ts - 123000), {TypeId::kTimestampTz}), "2024-01-01 10:00:00+00");
  int64_t bc = datetime::DaysFromCivil(0, 12, 31) * datetime::kMicrosPerDay;
  EXPECT_EQ(ToText(Datum::Int(bc), {TypeId::kTimestampTz}), "0001-12-31 00:00:00+00 BC");
  EXPECT_EQ(ToText(Datum::Int(-1), {TypeId::kTimestamp}), "1969-12-31 23:59:59.999999");
}

TEST(DatumTest, TypeNames) {
  EXPECT_EQ(TypeName({TypeId::kNumeric, 10, 2}), "numeric(10,2)");
  EXPECT_EQ(TypeName(kNumericType), "numeric");
  EXPECT_EQ(TypeName({TypeId::kTimestampTz}), "timestamp with time zone");
  EXPECT_EQ(TypeName({TypeId::kFloat8}), "double precision");
  EXPECT_EQ(TypeName({TypeId::kInt2}), "smallint");
}

TEST(NumericTest, ResultScales) {
  auto op = [](Status (*f)(__int128, int, __int128, int, __int128*, int16_t*), std::string_view a,
               std::string_view b) {
    Datum x = Num(a), y = Num(b);
    __int128 r;
    int16_t s;
    Status st = f(x.n, x.scale, y.n, y.scale, &r, &s);
    return st.ok() ? numeric::ToString(r, s) : st.message();
  };
  // select 1.50 * 2.25, 10::numeric / 3, 1::numeric / 3, 2.5 + 1.25, 7.5 % 2, 1 / 7.0, 100000::numeric / 3,
  //        0.001 / 7, 123456789.123 / 0.5, -7.5 % 2
  EXPECT_EQ(op(numeric::Mul, "1.50", "2.25"), "3.3750");
  EXPECT_EQ(op(numeric::Div, "10", "3"), "3.3333333333333333");
  EXPECT_EQ(op(numeric::Div, "1", "3"), "0.33333333333333333333");
  EXPECT_EQ(op(numeric::Add, "2.5", "1.25"), "3.75");
  EXPECT_EQ(op(numeric::Sub, "2.5", "1.25"), "1.25");
  EXPECT_EQ(op(numeric::Mod, "7.5", "2"), "1.5");
  EXPECT_EQ(op(numeric::Mod, "-7.5", "2"), "-1.5");
  EXPECT_EQ(op(numeric::Div, "1", "7.0"), "0.14285714285714285714");
  EXPECT_EQ(op(numeric::Div, "100000", "3"), "33333.333333333333");
  EXPECT_EQ(op(numeric::Div, "0.001", "7"), "0.00014285714285714286");
  EXPECT_EQ(op(numeric::Div, "123456789.123", "0.5"), "246913578.24600000");
  EXPECT_EQ(op(numeric::Div, "1", "0"), "division by zero");
  EXPECT_EQ(op(numeric::Div, "2", "-3"), "-0.66666666666666666667");
}

TEST(NumericTest, ParseAndRound) {
  EXPECT_EQ(ToText(Num(" -1.50 "), kNumericType), "-1.50");
  EXPECT_EQ(ToText(Num("1e3"), kNumericType), "1000");
  EXPECT_EQ(ToText(Num(".5"), kNumericType), "0.5");
  EXPECT_EQ(ToText(Num("1.5e-2"), kNumericType), "0.015");
  __int128 v;
  int16_t s;
  EXPECT_EQ(numeric::Parse("abc", &v, &s).message(), "invalid input syntax for type numeric: \"abc\"");
  int64_t i;
  ASSERT_TRUE(numeric::ToInt64(Num("2.5").n, 1, &i));
  EXPECT_EQ(i, 3);
  ASSERT_TRUE(numeric::ToInt64(Num("-2.5").n, 1, &i));
  EXPECT_EQ(i, -3);
  ASSERT_TRUE(numeric::ToInt64(Num("2.49").n, 2, &i));
  EXPECT_EQ(i, 2);
}

// --- aggregates -------------------------------------------------------------------------------

class ConstArg : public Expr {
 public:
  explicit ConstArg(Type t) : Expr(t) {}
  Status Eval(const Datum*, Datum* out) const override {
    *out = Datum::Null();
    return Status::OK();
  }
};

AggregateSpec Spec(AggregateKind kind, Type arg, Type result, bool distinct = false) {
  AggregateSpec s;
  s.kind = kind;
  s.distinct = distinct;
  if (kind != AggregateKind::kCountStar) s.arg = std::make_unique<ConstArg>(arg);
  s.result_type = result;
  return s;
}

std::string Final(const AggregateSpec& spec, const AggregateState& st) {
  Datum d;
  Status s = Finalize(spec, st, &d);
  if (!s.ok()) return "error: " + s.message();
  return d.is_null() ? "NULL" : ToText(d, spec.result_type);
}

TEST(AggregateTest, AvgOfIntegersIsNumericWithDivisionScale) {
  // select avg(x) from (values (1),(2)) t(x) -> 1.5000000000000000
  AggregateSpec avg = Spec(AggregateKind::kAvg, {TypeId::kInt4}, kNumericType);
  AggregateState st;
  EXPECT_EQ(Final(avg, st), "NULL");
  ASSERT_TRUE(Accumulate(avg, &st, Datum::Int(1), +1).ok());
  ASSERT_TRUE(Accumulate(avg, &st, Datum::Int(2), +1).ok());
  ASSERT_TRUE(Accumulate(avg, &st, Datum::Null(), +1).ok());
  EXPECT_EQ(Final(avg, st), "1.5000000000000000");
  ASSERT_TRUE(Accumulate(avg, &st, Datum::Int(2), -1).ok());
  EXPECT_EQ(Final(avg, st), "1.00000000000000000000");
}

TEST(AggregateTest, SumTypesAndNulls) {
  AggregateSpec sum4 = Spec(AggregateKind::kSum, {TypeId::kInt4}, kInt8Type);
  AggregateState st;
  EXPECT_EQ(Final(sum4, st), "NULL");
  ASSERT_TRUE(Accumulate(sum4, &st, Datum::Int(2147483647), +1).ok());
  ASSERT_TRUE(Accumulate(sum4, &st, Datum::Int(2147483647), +1).ok());
  EXPECT_EQ(Final(sum4, st), "4294967294");
  // sum(numeric) keeps the largest scale: select sum(x) from (values (1.5),(2.25)) t(x) -> 3.75
  AggregateSpec sumn = Spec(AggregateKind::kSum, kNumericType, kNumericType);
  AggregateState sn;
  ASSERT_TRUE(Accumulate(sumn, &sn, Num("1.5"), +1).ok());
  ASSERT_TRUE(Accumulate(sumn, &sn, Num("2.25"), +1).ok());
  EXPECT_EQ(Final(sumn, sn), "3.75");
  // avg(numeric): select avg(x) from (values (1.5),(2.25)) t(x) -> 1.8750000000000000
  AggregateSpec avgn = Spec(AggregateKind::kAvg, kNumericType, kNumericType);
  AggregateState an;
  ASSERT_TRUE(Accumulate(avgn, &an, Num("1.5"), +1).ok());
  ASSERT_TRUE(Accumulate(avgn, &an, Num("2.25"), +1).ok());
  EXPECT_EQ(Final(avgn, an), "1.8750000000000000");
  // sum(int8) overflowing bigint is still exact (numeric).
  AggregateSpec sum8 = Spec(AggregateKind::kSum, kInt8Type, kNumericType);
  AggregateState s8;
  ASSERT_TRUE(Accumulate(sum8, &s8, Datum::Int(INT64_MAX), +1).ok());
  ASSERT_TRUE(Accumulate(sum8, &s8, Datum::Int(INT64_MAX), +1).ok());
  EXPECT_EQ(Final(sum8, s8), "18446744073709551614");
  AggregateSpec count = Spec(AggregateKind::kCount, {TypeId::kText}, kInt8Type);
  AggregateState c;
  EXPECT_EQ(Final(count, c), "0");
  ASSERT_TRUE(Accumulate(count, &c, Datum::Null(), +1).ok());
  ASSERT_TRUE(Accumulate(count, &c, Datum::Text("a"), +1).ok());
  EXPECT_EQ(Final(count, c), "1");
}

TEST(AggregateTest, MinMaxSurviveRetractionOfTheExtreme) {
  AggregateSpec mn = Spec(AggregateKind::kMin, {TypeId::kInt4}, {TypeId::kInt4});
  AggregateSpec mx = Spec(AggregateKind::kMax, {TypeId::kInt4}, {TypeId::kInt4});
  AggregateState a, b;
  for (int v : {5, 1, 9, 1}) {
    ASSERT_TRUE(Accumulate(mn, &a, Datum::Int(v), +1).ok());
    ASSERT_TRUE(Accumulate(mx, &b, Datum::Int(v), +1).ok());
  }
  EXPECT_EQ(Final(mn, a), "1");
  ASSERT_TRUE(Accumulate(mn, &a, Datum::Int(1), -1).ok());
  EXPECT_EQ(Final(mn, a), "1");
  ASSERT_TRUE(Accumulate(mn, &a, Datum::Int(1), -1).ok());
  EXPECT_EQ(Final(mn, a), "5");
  EXPECT_EQ(Final(mx, b), "9");
  ASSERT_TRUE(Accumulate(mx, &b, Datum::Int(9), -1).ok());
  EXPECT_EQ(Final(mx, b), "5");
  EXPECT_FALSE(Accumulate(mx, &b, Datum::Int(42), -1).ok());
}

TEST(AggregateTest, MinMaxPairSharesOneMultiset) {
  AggregateSpec mn = Spec(AggregateKind::kMin, {TypeId::kInt4}, {TypeId::kInt4});
  AggregateSpec mx = Spec(AggregateKind::kMax, {TypeId::kInt4}, {TypeId::kInt4});
  mn.keeps_both_extremes = true;
  mx.values_from = 0;
  std::vector<AggregateSpec> specs;
  specs.push_back(std::move(mn));
  specs.push_back(std::move(mx));
  std::vector<AggregateState> st(2);
  for (int v : {5, 1, 9, 1}) {
    for (size_t j = 0; j < 2; ++j) ASSERT_TRUE(Accumulate(specs[j], &st[j], Datum::Int(v), +1).ok());
  }
  EXPECT_EQ(st[1].values, nullptr);  // the max keeps nothing of its own
  EXPECT_EQ(Final(specs[0], FinalState(specs, st, 0)), "1");
  EXPECT_EQ(Final(specs[1], FinalState(specs, st, 1)), "9");
  for (int v : {9, 1, 1}) {
    for (size_t j = 0; j < 2; ++j) ASSERT_TRUE(Accumulate(specs[j], &st[j], Datum::Int(v), -1).ok());
  }
  EXPECT_EQ(Final(specs[0], FinalState(specs, st, 0)), "5");
  EXPECT_EQ(Final(specs[1], FinalState(specs, st, 1)), "5");
}

// ValueCounts against a std::multiset under random adds and removes, for every order: the extremes,
// the distinct count, the multiplicities, and the heap bound 2n + 32.
TEST(ValueCountsTest, MatchesAMultisetUnderRandomChanges) {
  for (auto order : {ValueCounts::Order::kNone, ValueCounts::Order::kMin, ValueCounts::Order::kMax,
                     ValueCounts::Order::kBoth}) {
    SCOPED_TRACE(static_cast<int>(order));
    ValueCounts vc(order);
    std::multiset<int64_t> ref;
    uint64_t x = 88172645463325252ull;
    auto next = [&] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    for (int step = 0; step < 200000; ++step) {
      // Phases that grow, shrink from the bottom, shrink from the top, and churn.
      int phase = (step / 20000) % 4;
      bool add = phase == 0 ? next() % 4 != 0 : phase == 3 ? next() % 2 == 0 : next() % 4 == 0;
      if (add || ref.empty()) {
        int64_t v = static_cast<int64_t>(next() % 5000);
        int64_t m = vc.Add(Datum::Int(v));
        ref.insert(v);
        ASSERT_EQ(m, static_cast<int64_t>(ref.count(v)));
      } else {
        int64_t v = phase == 1 ? *ref.begin() : phase == 2 ? *ref.rbegin() : *std::next(ref.begin(), next() % ref.size());
        int64_t m = vc.Remove(Datum::Int(v));
        ref.erase(ref.find(v));
        ASSERT_EQ(m, static_cast<int64_t>(ref.count(v)));
      }
      ASSERT_EQ(vc.empty(), ref.empty());
      if (!ref.empty() && (order == ValueCounts::Order::kMin || order == ValueCounts::Order::kBoth)) {
        ASSERT_EQ(vc.min().i, *ref.begin());
      }
      if (!ref.empty() && (order == ValueCounts::Order::kMax || order == ValueCounts::Order::kBoth)) {
        ASSERT_EQ(vc.max().i, *ref.rbegin());
      }
      ASSERT_LE(vc.heap_entries(false), 2 * vc.size() + 33);
      ASSERT_LE(vc.heap_entries(true), 2 * vc.size() + 33);
    }
    std::set<int64_t> distinct(ref.begin(), ref.end());
    EXPECT_EQ(vc.size(), distinct.size());
    size_t seen = 0;
    vc.ForEach([&](const Datum& v, int64_t m) {
      ++seen;
      EXPECT_EQ(m, static_cast<int64_t>(ref.count(v.i)));
    });
    EXPECT_EQ(seen, distinct.size());
    EXPECT_EQ(vc.Remove(Datum::Int(-1)), -1);
    if (order == ValueCounts::Order::kNone) {
      EXPECT_EQ(vc.heap_entries(false) + vc.heap_entries(true), 0u);
    }
  }
}

TEST(AggregateTest, DistinctCountsEachValueOnce) {
  AggregateSpec cd = Spec(AggregateKind::kCount, kNumericType, kInt8Type, /*distinct=*/true);
  AggregateState st;
  ASSERT_TRUE(Accumulate(cd, &st, Num("1.5"), +1).ok());
  ASSERT_TRUE(Accumulate(cd, &st, Num("1.50"), +1).ok());
  ASSERT_TRUE(Accumulate(cd, &st, Num("2"), +1).ok());
  EXPECT_EQ(Final(cd, st), "2");
  ASSERT_TRUE(Accumulate(cd, &st, Num("1.5"), -1).ok());
  EXPECT_EQ(Final(cd, st), "2");
  ASSERT_TRUE(Accumulate(cd, &st, Num("1.50"), -1).ok());
  EXPECT_EQ(Final(cd, st), "1");
  AggregateSpec sd = Spec(AggregateKind::kSum, {TypeId::kInt4}, kInt8Type, true);
  AggregateState s;
  for (int v : {3, 3, 4}) ASSERT_TRUE(Accumulate(sd, &s, Datum::Int(v), +1).ok());
  EXPECT_EQ(Final(sd, s), "7");
}

TEST(AggregateTest, BoolAndOr) {
  AggregateSpec band = Spec(AggregateKind::kBoolAnd, {TypeId::kBool}, {TypeId::kBool});
  AggregateSpec bor = Spec(AggregateKind::kBoolOr, {TypeId::kBool}, {TypeId::kBool});
  AggregateState a, o;
  EXPECT_EQ(Final(band, a), "NULL");
  for (bool v : {true, false, true}) {
    ASSERT_TRUE(Accumulate(band, &a, Datum::Bool(v), +1).ok());
    ASSERT_TRUE(Accumulate(bor, &o, Datum::Bool(v), +1).ok());
  }
  EXPECT_EQ(Final(band, a), "f");
  EXPECT_EQ(Final(bor, o), "t");
  ASSERT_TRUE(Accumulate(band, &a, Datum::Bool(false), -1).ok());
  EXPECT_EQ(Final(band, a), "t");
}

// sum(real) keeps a real state like PostgreSQL's float4pl:
//   select sum(x) from (values (16777216::float4), (1::float4), (1::float4)) t(x) -> 1.6777216e+07
TEST(AggregateTest, SumOfRealRoundsEveryStep) {
  AggregateSpec sum = Spec(AggregateKind::kSum, {TypeId::kFloat4}, {TypeId::kFloat4});
  AggregateState st;
  for (double v : {16777216.0, 1.0, 1.0}) ASSERT_TRUE(Accumulate(sum, &st, Datum::Float(v), +1).ok());
  EXPECT_EQ(Final(sum, st), "1.6777216e+07");
}

TEST(AggregateTest, FloatSumAndAvg) {
  AggregateSpec avg = Spec(AggregateKind::kAvg, kFloat8Type, kFloat8Type);
  AggregateState st;
  ASSERT_TRUE(Accumulate(avg, &st, Datum::Float(1.0), +1).ok());
  ASSERT_TRUE(Accumulate(avg, &st, Datum::Float(2.0), +1).ok());
  EXPECT_EQ(Final(avg, st), "1.5");
  EXPECT_LE(sizeof(AggregateState), 48u);
}
// --- views: planning and evaluation ----------------------------------------------------------------

event::Column Col(std::string name, uint32_t oid, int32_t typmod = -1, bool key = false) {
  event::Column c;
  c.name = std::move(name);
  c.type_oid = oid;
  c.type_modifier = typmod;
  c.key = key;
  return c;
}

int32_t NumericTypmod(int p, int s) { return ((p << 16) | s) + 4; }

Catalog TestCatalog() {
  Catalog c;
  event::TableSchema orders;
  orders.schema = "public";
  orders.table = "orders";
  orders.columns = {Col("id", 23, -1, true), Col("customer_id", 23), Col("amount", 1700, NumericTypmod(10, 2)),
                    Col("qty", 21),          Col("status", 25),      Col("created", 1184),
                    Col("note", 1043, 24),   Col("big", 20),         Col("price", 701),
                    Col("ratio", 700),       Col("paid", 16),        Col("day", 1082),
                    Col("ts", 1114),         Col("data", 17),        Col("total", 1700)};
  c["public.orders"] = orders;
  event::TableSchema customers;
  customers.schema = "public";
  customers.table = "customers";
  customers.columns = {Col("id", 23, -1, true), Col("name", 25), Col("country", 25), Col("age", 23)};
  c["public.customers"] = customers;
  event::TableSchema items;
  items.schema = "sales";
  items.table = "items";
  items.columns = {Col("id", 20, -1, true), Col("label", 25)};
  c["sales.items"] = items;
  return c;
}

using Row = std::map<std::string, Datum>;  // "table.column" or "column" (first table) -> value

// The value of `text` as a column of `type` would carry it.
Datum Parse(const Type& type, std::string_view text) {
  Datum d;
  Status st = expr::CastDatum(Datum::Text(std::string(text)), Type{TypeId::kText}, type, 0, &d);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return d;
}

// A small reference engine: evaluates a plan over whole tables (no incremental maintenance), so
// that planning and expression semantics can be checked without src/analytics.
class MiniEngine {
 public:
  explicit MiniEngine(const Catalog& catalog) : catalog_(catalog) {}

  // Rows of one table: column name -> text value ("\\N" for NULL), typed by the catalog.
  void Add(const std::string& table, std::map<std::string, std::string> values) {
    rows_[table].push_back(std::move(values));
  }

  // The view's rows as "a|b|c" (NULL as "∅"), sorted; or "error: ..." as the only row.
  std::vector<std::string> Run(const ViewPlan& plan) {
    std::vector<std::vector<Datum>> inputs;
    auto side = [&](size_t t, const std::map<std::string, std::string>* row, std::vector<Datum>* out) {
      const InputTable& in = plan.inputs[t];
      const event::TableSchema& ts = catalog_.at(in.schema + "." + in.table);
      size_t offset = out->size();
      (void)offset;
      for (int c : in.columns) {
        const auto& col = ts.columns[static_cast<size_t>(c)];
        Type type = plan.input_types[out->size()];
        if (!row) {
          out->push_back(Datum::Null());
          continue;
        }
        auto it = row->find(col.name);
        out->push_back(it == row->end() || it->second == "\\N" ? Datum::Null() : Parse(type, it->second));
      }
    };
    const auto& left = rows_[plan.inputs[0].schema + "." + plan.inputs[0].table];
    for (const auto& l : left) {
      std::vector<Datum> base;
      side(0, &l, &base);
      if (!plan.join) {
        inputs.push_back(base);
        continue;
      }
      bool matched = false;
      for (const auto& r : rows_[plan.inputs[1].schema + "." + plan.inputs[1].table]) {
        std::vector<Datum> row = base;
        side(1, &r, &row);
        const Datum& a = row[static_cast<size_t>(plan.join->left_key)];
        const Datum& b = row[static_cast<size_t>(plan.join->right_key)];
        if (!a.is_null() && !b.is_null() && Equal(a, b)) {
          inputs.push_back(std::move(row));
          matched = true;
        }
      }
      if (!matched && plan.join->kind == JoinSpec::Kind::kLeft) {
        std::vector<Datum> row = base;
        side(1, nullptr, &row);
        inputs.push_back(std::move(row));
      }
    }
    struct Group {
      std::vector<Datum> keys;
      std::vector<AggregateState> states;
      int64_t rows = 0;
    };
    std::vector<Group> groups;
    if (plan.always_one_group) {
      groups.emplace_back();
      groups.back().states.resize(plan.aggregates.size());
    }
    for (const auto& row : inputs) {
      if (plan.where) {
        Datum w;
        Status st = plan.where->Eval(row.data(), &w);
        if (!st.ok()) return {"error: " + st.message()};
        if (w.is_null() || !w.b) continue;
      }
      std::vector<Datum> keys;
      for (const auto& k : plan.group_keys) {
        Datum d;
        Status st = k->Eval(row.data(), &d);
        if (!st.ok()) return {"error: " + st.message()};
        keys.push_back(std::move(d));
      }
      Group* g = nullptr;
      for (Group& x : groups) {
        bool same = x.keys.size() == keys.size();
        for (size_t i = 0; same && i < keys.size(); ++i) same = Compare(x.keys[i], keys[i]) == 0;
        if (same && (plan.always_one_group || !x.keys.empty() || keys.empty())) g = &x;
      }
      if (!g) {
        groups.emplace_back();
        g = &groups.back();
        g->keys = keys;
        g->states.resize(plan.aggregates.size());
      }
      ++g->rows;
      for (size_t j = 0; j < plan.aggregates.size(); ++j) {
        Datum arg;
        if (plan.aggregates[j].arg) {
          Status st = plan.aggregates[j].arg->Eval(row.data(), &arg);
          if (!st.ok()) return {"error: " + st.message()};
        }
        Status st = Accumulate(plan.aggregates[j], &g->states[j], arg, +1);
        if (!st.ok()) return {"error: " + st.message()};
      }
    }
    std::vector<std::string> out;
    for (const Group& g : groups) {
      std::vector<Datum> grow = g.keys;
      for (size_t j = 0; j < plan.aggregates.size(); ++j) {
        Datum d;
        Status st = Finalize(plan.aggregates[j], FinalState(plan.aggregates, g.states, j), &d);
        if (!st.ok()) return {"error: " + st.message()};
        grow.push_back(std::move(d));
      }
      if (plan.having) {
        Datum h;
        Status st = plan.having->Eval(grow.data(), &h);
        if (!st.ok()) return {"error: " + st.message()};
        if (h.is_null() || !h.b) continue;
      }
      std::string line;
      for (size_t c = 0; c < plan.outputs.size(); ++c) {
        Datum d;
        Status st = plan.outputs[c].expr->Eval(grow.data(), &d);
        if (!st.ok()) return {"error: " + st.message()};
        line += (c ? "|" : "") + (d.is_null() ? std::string("∅") : ToText(d, plan.outputs[c].type));
      }
      int64_t repeat = plan.bag && !plan.distinct ? g.rows : 1;
      for (int64_t r = 0; r < repeat; ++r) out.push_back(line);
    }
    std::sort(out.begin(), out.end());
    if (plan.distinct) out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

 private:
  const Catalog& catalog_;
  std::map<std::string, std::vector<std::map<std::string, std::string>>> rows_;
};

using Strings = std::vector<std::string>;

class ViewsTest : public ::testing::Test {
 protected:
  ViewsTest() : catalog_(TestCatalog()), engine_(catalog_) {
    // select * from orders (id, customer_id, amount, qty, status, created, note, big, price, ratio, paid, day, ts, total)
    engine_.Add("public.orders", {{"id", "1"}, {"customer_id", "10"}, {"amount", "12.50"}, {"qty", "2"},
                                  {"status", "paid"}, {"created", "2024-01-02 10:30:00+00"}, {"note", "Hello"},
                                  {"big", "9000000000"}, {"price", "1.5"}, {"ratio", "0.25"}, {"paid", "t"},
                                  {"day", "2024-02-29"}, {"ts", "2024-03-10 23:59:59.5"}, {"total", "1.005"}});
    engine_.Add("public.orders", {{"id", "2"}, {"customer_id", "10"}, {"amount", "7.25"}, {"qty", "1"},
                                  {"status", "new"}, {"created", "2024-01-05 00:00:00+00"}, {"note", "\\N"},
                                  {"big", "1"}, {"price", "2.25"}, {"ratio", "0.5"}, {"paid", "f"},
                                  {"day", "2024-03-01"}, {"ts", "2024-03-11 00:00:00"}, {"total", "2"}});
    engine_.Add("public.orders", {{"id", "3"}, {"customer_id", "20"}, {"amount", "\\N"}, {"qty", "5"},
                                  {"status", "paid"}, {"created", "2023-12-31 23:00:00+00"}, {"note", "héllo wörld"},
                                  {"big", "\\N"}, {"price", "\\N"}, {"ratio", "\\N"}, {"paid", "\\N"},
                                  {"day", "\\N"}, {"ts", "\\N"}, {"total", "\\N"}});
    engine_.Add("public.orders", {{"id", "4"}, {"customer_id", "99"}, {"amount", "0.01"}, {"qty", "\\N"},
                                  {"status", "\\N"}, {"created", "\\N"}, {"note", "%_x"},
                                  {"big", "-5"}, {"price", "-0.5"}, {"ratio", "1"}, {"paid", "t"},
                                  {"day", "2023-01-01"}, {"ts", "1999-12-31 12:00:00"}, {"total", "-3.5"}});
    engine_.Add("public.customers", {{"id", "10"}, {"name", "Ann"}, {"country", "PL"}, {"age", "30"}});
    engine_.Add("public.customers", {{"id", "20"}, {"name", "Bob"}, {"country", "DE"}, {"age", "\\N"}});
    engine_.Add("public.customers", {{"id", "30"}, {"name", "Cy"}, {"country", "PL"}, {"age", "41"}});
  }

  Result<ViewSet> Load(const std::string& text) { return LoadViews("views.sql", text, catalog_); }

  // Plans one view; fails the test if it does not load.
  ViewPlan Plan(const std::string& sql) {
    auto set = Load(sql);
    EXPECT_TRUE(set.ok()) << sql << "\n" << set.status().ToString();
    if (!set.ok() || set->views.empty()) return ViewPlan();
    return std::move(set->views[0]);
  }

  // The rows of `CREATE VIEW v AS <select>` over the test rows.
  Strings Rows(const std::string& select) {
    ViewPlan p = Plan("CREATE VIEW v AS " + select + ";");
    if (p.outputs.empty()) return {"<no plan>"};
    return engine_.Run(p);
  }

  // "type: value" of a one-column expression over the orders row with id = `id` (the type without
  // its typmod, as pg_typeof prints it), or "ERROR: <PostgreSQL's message>" whether the error comes
  // when the view is loaded (a folded literal) or evaluated.
  std::string Value(const std::string& expression, int id = 1) {
    auto set = Load("CREATE VIEW v AS SELECT " + expression + " AS r FROM orders WHERE id = " + std::to_string(id));
    if (!set.ok()) {
      std::string m = set.status().message();
      size_t at = m.find("view \"v\": ");
      if (at == std::string::npos) return m;
      m = m.substr(at + 10);
      size_t hint = m.rfind(" (");
      return "ERROR: " + (hint == std::string::npos ? m : m.substr(0, hint));
    }
    const ViewPlan& p = set->views[0];
    Strings rows = engine_.Run(p);
    if (rows.size() != 1) return "<" + std::to_string(rows.size()) + " rows>";
    if (rows[0].rfind("error: ", 0) == 0) return "ERROR: " + rows[0].substr(7);
    Type t = p.outputs[0].type;
    t.precision = t.scale = -1;
    return TypeName(t) + ": " + rows[0];
  }

  // The error of a file that must not load.
  std::string Refusal(const std::string& text) {
    auto set = Load(text);
    if (set.ok()) return "<loaded>";
    EXPECT_TRUE(set.status().IsInvalidArgument());
    return set.status().message();
  }

  Catalog catalog_;
  MiniEngine engine_;
};

// Each expected value is PostgreSQL 15's answer to
//   SELECT pg_typeof(r), r FROM (SELECT <expression> AS r FROM orders WHERE id = <id>) s
// over the same rows (TimeZone=UTC), generated from psql and pasted here.
TEST_F(ViewsTest, ExpressionsEvaluateAsPostgres) {
  EXPECT_EQ(Value("amount + 1"), "numeric: 13.50");
  EXPECT_EQ(Value("amount * 2.5"), "numeric: 31.250");
  EXPECT_EQ(Value("amount / 3"), "numeric: 4.1666666666666667");
  EXPECT_EQ(Value("amount - total"), "numeric: 11.495");
  EXPECT_EQ(Value("total / 7"), "numeric: 0.14357142857142857143");
  EXPECT_EQ(Value("qty + qty"), "smallint: 4");
  EXPECT_EQ(Value("qty + 1"), "integer: 3");
  EXPECT_EQ(Value("qty * 1000"), "integer: 2000");
  EXPECT_EQ(Value("id / 2"), "integer: 0");
  EXPECT_EQ(Value("-id / 2"), "integer: 0");
  EXPECT_EQ(Value("7 % 3"), "integer: 1");
  EXPECT_EQ(Value("-7 % 3"), "integer: -1");
  EXPECT_EQ(Value("id::numeric / 3"), "numeric: 0.33333333333333333333");
  EXPECT_EQ(Value("big + 1"), "bigint: 9000000001");
  EXPECT_EQ(Value("big * 2"), "bigint: 18000000000");
  EXPECT_EQ(Value("price * 2"), "double precision: 3");
  EXPECT_EQ(Value("price + amount"), "double precision: 14");
  EXPECT_EQ(Value("ratio * ratio"), "real: 0.0625");
  EXPECT_EQ(Value("ratio + 1"), "double precision: 1.25");
  EXPECT_EQ(Value("price / 0.5"), "double precision: 3");
  EXPECT_EQ(Value("-amount"), "numeric: -12.50");
  EXPECT_EQ(Value("-ratio"), "real: -0.25");
  EXPECT_EQ(Value("1.5"), "numeric: 1.5");
  EXPECT_EQ(Value("3000000000"), "bigint: 3000000000");
  EXPECT_EQ(Value("-2147483648"), "integer: -2147483648");
  EXPECT_EQ(Value("2147483647 + 0"), "integer: 2147483647");
  EXPECT_EQ(Value("'abc'"), "text: abc");
  EXPECT_EQ(Value("NULL"), "text: ∅");
  EXPECT_EQ(Value("TRUE"), "boolean: t");
  EXPECT_EQ(Value("amount > 10"), "boolean: t");
  EXPECT_EQ(Value("amount >= 12.5"), "boolean: t");
  EXPECT_EQ(Value("status = 'paid'"), "boolean: t");
  EXPECT_EQ(Value("status <> 'paid'"), "boolean: f");
  EXPECT_EQ(Value("status != 'new'"), "boolean: t");
  EXPECT_EQ(Value("amount < qty"), "boolean: f");
  EXPECT_EQ(Value("qty <= 2"), "boolean: t");
  EXPECT_EQ(Value("price > ratio"), "boolean: t");
  EXPECT_EQ(Value("day < created"), "boolean: f");
  EXPECT_EQ(Value("day = '2024-02-29'"), "boolean: t");
  EXPECT_EQ(Value("created > '2024-01-01'"), "boolean: t");
  EXPECT_EQ(Value("ts < created"), "boolean: f");
  EXPECT_EQ(Value("paid AND amount > 100"), "boolean: f");
  EXPECT_EQ(Value("paid OR amount > 100"), "boolean: t");
  EXPECT_EQ(Value("NOT paid"), "boolean: f");
  EXPECT_EQ(Value("paid AND false", 3), "boolean: f");
  EXPECT_EQ(Value("paid AND true", 3), "boolean: ∅");
  EXPECT_EQ(Value("paid OR true", 3), "boolean: t");
  EXPECT_EQ(Value("paid OR false", 3), "boolean: ∅");
  EXPECT_EQ(Value("NOT paid", 3), "boolean: ∅");
  EXPECT_EQ(Value("amount IS NULL"), "boolean: f");
  EXPECT_EQ(Value("amount IS NULL", 3), "boolean: t");
  EXPECT_EQ(Value("amount IS NOT NULL", 3), "boolean: f");
  EXPECT_EQ(Value("qty IN (1, 2, 3)"), "boolean: t");
  EXPECT_EQ(Value("qty IN (3, NULL)"), "boolean: ∅");
  EXPECT_EQ(Value("qty NOT IN (3, NULL)"), "boolean: ∅");
  EXPECT_EQ(Value("qty NOT IN (3, 4)"), "boolean: t");
  EXPECT_EQ(Value("status IN ('paid', 'x')"), "boolean: t");
  EXPECT_EQ(Value("amount IN (12.5, 1)"), "boolean: t");
  EXPECT_EQ(Value("amount BETWEEN 10 AND 13"), "boolean: t");
  EXPECT_EQ(Value("amount NOT BETWEEN 10 AND 13"), "boolean: f");
  EXPECT_EQ(Value("qty BETWEEN 2 AND 1"), "boolean: f");
  EXPECT_EQ(Value("note LIKE 'H%'"), "boolean: t");
  EXPECT_EQ(Value("note LIKE 'h%'"), "boolean: f");
  EXPECT_EQ(Value("note ILIKE 'h%'"), "boolean: t");
  EXPECT_EQ(Value("note NOT LIKE '%l_o'"), "boolean: f");
  EXPECT_EQ(Value("note LIKE '_ello'"), "boolean: t");
  EXPECT_EQ(Value("note LIKE 'h_llo%'", 3), "boolean: t");
  EXPECT_EQ(Value("note LIKE '\\%\\_x'", 4), "boolean: t");
  EXPECT_EQ(Value("note LIKE '%\\_%'", 4), "boolean: t");
  EXPECT_EQ(Value("note LIKE '%'", 2), "boolean: ∅");
  EXPECT_EQ(Value("CASE WHEN amount > 10 THEN 'big' WHEN amount > 5 THEN 'mid' END"), "text: big");
  EXPECT_EQ(Value("CASE WHEN amount > 10 THEN 'big' WHEN amount > 5 THEN 'mid' END", 2), "text: mid");
  EXPECT_EQ(Value("CASE WHEN amount > 10 THEN 'big' WHEN amount > 5 THEN 'mid' END", 4), "text: ∅");
  EXPECT_EQ(Value("CASE WHEN amount > 10 THEN 'big' ELSE 'small' END", 4), "text: small");
  EXPECT_EQ(Value("CASE status WHEN 'paid' THEN 1 WHEN 'new' THEN 2 ELSE 0 END"), "integer: 1");
  EXPECT_EQ(Value("CASE status WHEN 'paid' THEN 1 WHEN 'new' THEN 2 ELSE 0 END", 4), "integer: 0");
  EXPECT_EQ(Value("CASE WHEN paid THEN qty ELSE amount END"), "numeric: 2");
  EXPECT_EQ(Value("CASE WHEN paid THEN 1 ELSE 2.5 END"), "numeric: 1");
  EXPECT_EQ(Value("COALESCE(amount, 0)", 3), "numeric: 0");
  EXPECT_EQ(Value("COALESCE(amount, 0)"), "numeric: 12.50");
  EXPECT_EQ(Value("COALESCE(note, status, 'none')", 3), "text: héllo wörld");
  EXPECT_EQ(Value("COALESCE(qty, big)"), "bigint: 2");
  EXPECT_EQ(Value("NULLIF(status, 'paid')"), "text: ∅");
  EXPECT_EQ(Value("NULLIF(status, 'paid')", 2), "text: new");
  EXPECT_EQ(Value("NULLIF(qty, 2)"), "smallint: ∅");
  EXPECT_EQ(Value("NULLIF(id, 1.0)"), "numeric: ∅");
  EXPECT_EQ(Value("NULLIF(amount, 12.5)"), "numeric: ∅");
  EXPECT_EQ(Value("lower(note)"), "text: hello");
  EXPECT_EQ(Value("upper(note)"), "text: HELLO");
  EXPECT_EQ(Value("length(note)"), "integer: 5");
  EXPECT_EQ(Value("length(note)", 3), "integer: 11");
  EXPECT_EQ(Value("upper(note)", 3), "text: HÉLLO WÖRLD");
  EXPECT_EQ(Value("substr(note, 2)"), "text: ello");
  EXPECT_EQ(Value("substr(note, 2, 3)"), "text: ell");
  EXPECT_EQ(Value("substr(note, 0, 2)"), "text: H");
  EXPECT_EQ(Value("substr(note, -1, 3)"), "text: H");
  EXPECT_EQ(Value("substring(note from 2 for 4)", 3), "text: éllo");
  EXPECT_EQ(Value("substring(note from 3)"), "text: llo");
  EXPECT_EQ(Value("substring(status, 1, 2)"), "text: pa");
  EXPECT_EQ(Value("date_trunc('month', created)"), "timestamp with time zone: 2024-01-01 00:00:00+00");
  EXPECT_EQ(Value("date_trunc('day', ts)"), "timestamp without time zone: 2024-03-10 00:00:00");
  EXPECT_EQ(Value("date_trunc('hour', ts)"), "timestamp without time zone: 2024-03-10 23:00:00");
  EXPECT_EQ(Value("date_trunc('week', day)"), "timestamp with time zone: 2024-02-26 00:00:00+00");
  EXPECT_EQ(Value("date_trunc('year', day)"), "timestamp with time zone: 2024-01-01 00:00:00+00");
  EXPECT_EQ(Value("date_trunc('quarter', ts)"), "timestamp without time zone: 2024-01-01 00:00:00");
  EXPECT_EQ(Value("date_trunc('minute', created)"), "timestamp with time zone: 2024-01-02 10:30:00+00");
  EXPECT_EQ(Value("date_trunc('second', ts)"), "timestamp without time zone: 2024-03-10 23:59:59");
  EXPECT_EQ(Value("date_trunc('decade', ts)"), "timestamp without time zone: 2020-01-01 00:00:00");
  EXPECT_EQ(Value("date_trunc('century', ts)"), "timestamp without time zone: 2001-01-01 00:00:00");
  EXPECT_EQ(Value("date_trunc('millennium', ts)"), "timestamp without time zone: 2001-01-01 00:00:00");
  EXPECT_EQ(Value("extract(year FROM created)"), "numeric: 2024");
  EXPECT_EQ(Value("extract(month FROM day)"), "numeric: 2");
  EXPECT_EQ(Value("extract(day FROM ts)"), "numeric: 10");
  EXPECT_EQ(Value("extract(hour FROM created)"), "numeric: 10");
  EXPECT_EQ(Value("extract(minute FROM created)"), "numeric: 30");
  EXPECT_EQ(Value("extract(second FROM ts)"), "numeric: 59.500000");
  EXPECT_EQ(Value("extract(milliseconds FROM ts)"), "numeric: 59500.000");
  EXPECT_EQ(Value("extract(microseconds FROM ts)"), "numeric: 59500000");
  EXPECT_EQ(Value("extract(epoch FROM ts)"), "numeric: 1710115199.500000");
  EXPECT_EQ(Value("extract(epoch FROM created)"), "numeric: 1704191400.000000");
  EXPECT_EQ(Value("extract(epoch FROM day)"), "numeric: 1709164800");
  EXPECT_EQ(Value("extract(dow FROM day)"), "numeric: 4");
  EXPECT_EQ(Value("extract(isodow FROM day)"), "numeric: 4");
  EXPECT_EQ(Value("extract(doy FROM day)"), "numeric: 60");
  EXPECT_EQ(Value("extract(week FROM day)"), "numeric: 9");
  EXPECT_EQ(Value("extract(quarter FROM ts)"), "numeric: 1");
  EXPECT_EQ(Value("extract(isoyear FROM created)"), "numeric: 2024");
  EXPECT_EQ(Value("extract(century FROM day)"), "numeric: 21");
  EXPECT_EQ(Value("extract(decade FROM day)"), "numeric: 202");
  EXPECT_EQ(Value("date_part('year', created)"), "double precision: 2024");
  EXPECT_EQ(Value("date_part('second', ts)"), "double precision: 59.5");
  EXPECT_EQ(Value("date_part('epoch', ts)"), "double precision: 1710115199.5");
  EXPECT_EQ(Value("date_part('dow', day)"), "double precision: 4");
  EXPECT_EQ(Value("date_part('day', day)"), "double precision: 29");
  EXPECT_EQ(Value("EXTRACT(YEAR FROM created)"), "numeric: 2024");
  EXPECT_EQ(Value("amount::int"), "integer: 13");
  EXPECT_EQ(Value("amount::int", 4), "integer: 0");
  EXPECT_EQ(Value("total::int"), "integer: 1");
  EXPECT_EQ(Value("total::int", 4), "integer: -4");
  EXPECT_EQ(Value("(-2.5)::numeric::int"), "integer: -3");
  EXPECT_EQ(Value("2.5::numeric::int"), "integer: 3");
  EXPECT_EQ(Value("price::int"), "integer: 2");
  EXPECT_EQ(Value("2.5::float8::int"), "integer: 2");
  EXPECT_EQ(Value("3.5::float8::int"), "integer: 4");
  EXPECT_EQ(Value("ratio::int"), "integer: 0");
  EXPECT_EQ(Value("price::numeric"), "numeric: 1.5");
  EXPECT_EQ(Value("ratio::numeric"), "numeric: 0.25");
  EXPECT_EQ(Value("amount::float8"), "double precision: 12.5");
  EXPECT_EQ(Value("amount::float4"), "real: 12.5");
  EXPECT_EQ(Value("amount::numeric(5,1)"), "numeric: 12.5");
  EXPECT_EQ(Value("amount::numeric(6,3)"), "numeric: 12.500");
  EXPECT_EQ(Value("total::numeric(10,2)"), "numeric: 1.01");
  EXPECT_EQ(Value("CAST(qty AS int8)"), "bigint: 2");
  EXPECT_EQ(Value("qty::text"), "text: 2");
  EXPECT_EQ(Value("amount::text"), "text: 12.50");
  EXPECT_EQ(Value("paid::text"), "text: true");
  EXPECT_EQ(Value("paid::int"), "integer: 1");
  EXPECT_EQ(Value("price::text"), "text: 1.5");
  EXPECT_EQ(Value("created::text"), "text: 2024-01-02 10:30:00+00");
  EXPECT_EQ(Value("day::text"), "text: 2024-02-29");
  EXPECT_EQ(Value("ts::text"), "text: 2024-03-10 23:59:59.5");
  EXPECT_EQ(Value("status::varchar(2)"), "text: pa");
  EXPECT_EQ(Value("'42'::int"), "integer: 42");
  EXPECT_EQ(Value("'  42 '::int"), "integer: 42");
  EXPECT_EQ(Value("'2024-05-06'::date"), "date: 2024-05-06");
  EXPECT_EQ(Value("day::timestamp"), "timestamp without time zone: 2024-02-29 00:00:00");
  EXPECT_EQ(Value("day::timestamptz"), "timestamp with time zone: 2024-02-29 00:00:00+00");
  EXPECT_EQ(Value("ts::date"), "date: 2024-03-10");
  EXPECT_EQ(Value("created::date"), "date: 2024-01-02");
  EXPECT_EQ(Value("ts::timestamptz"), "timestamp with time zone: 2024-03-10 23:59:59.5+00");
  EXPECT_EQ(Value("'1.50'::numeric"), "numeric: 1.50");
  EXPECT_EQ(Value("'yes'::boolean"), "boolean: t");
  EXPECT_EQ(Value("id::bool"), "boolean: t");
  EXPECT_EQ(Value("DATE '2024-01-01'"), "date: 2024-01-01");
  EXPECT_EQ(Value("TIMESTAMP '2024-01-01 10:00:00'"), "timestamp without time zone: 2024-01-01 10:00:00");
  EXPECT_EQ(Value("TIMESTAMPTZ '2024-01-01 10:00:00+02'"), "timestamp with time zone: 2024-01-01 08:00:00+00");
  EXPECT_EQ(Value("day + 1"), "date: 2024-03-01");
  EXPECT_EQ(Value("day - 1"), "date: 2024-02-28");
  EXPECT_EQ(Value("day - DATE '2024-01-01'"), "integer: 59");
  EXPECT_EQ(Value("1 + day"), "date: 2024-03-01");
  EXPECT_EQ(Value("status || '!'"), "text: paid!");
  EXPECT_EQ(Value("status || id"), "text: paid1");
  EXPECT_EQ(Value("id || status"), "text: 1paid");
  EXPECT_EQ(Value("status || paid"), "text: paidtrue");
  EXPECT_EQ(Value("note || NULL"), "text: ∅");
  EXPECT_EQ(Value("status || amount"), "text: paid12.50");
  EXPECT_EQ(Value("'a' || 'b'"), "text: ab");
  EXPECT_EQ(Value("qty::float4"), "real: 2");
  EXPECT_EQ(Value("big::int4"), "ERROR: integer out of range");
  EXPECT_EQ(Value("100000::int2"), "ERROR: smallint out of range");
  EXPECT_EQ(Value("big::int2"), "ERROR: smallint out of range");
  EXPECT_EQ(Value("qty * 20000"), "integer: 40000");
  EXPECT_EQ(Value("2147483647 + id"), "ERROR: integer out of range");
  EXPECT_EQ(Value("id * 2147483647"), "integer: 2147483647");
  EXPECT_EQ(Value("big * big"), "ERROR: bigint out of range");
  EXPECT_EQ(Value("amount / 0"), "ERROR: division by zero");
  EXPECT_EQ(Value("id / 0"), "ERROR: division by zero");
  EXPECT_EQ(Value("id % 0"), "ERROR: division by zero");
  EXPECT_EQ(Value("price / 0"), "ERROR: division by zero");
  EXPECT_EQ(Value("'1e308'::float8 * price * 10"), "ERROR: value out of range: overflow");
  EXPECT_EQ(Value("'x'::int"), "ERROR: invalid input syntax for type integer: \"x\"");
  EXPECT_EQ(Value("'99999999999'::int"), "ERROR: value \"99999999999\" is out of range for type integer");
  EXPECT_EQ(Value("'abc'::date"), "ERROR: invalid input syntax for type date: \"abc\"");
  EXPECT_EQ(Value("'2024-02-30'::date"), "ERROR: date/time field value out of range: \"2024-02-30\"");
  EXPECT_EQ(Value("(amount * 1000000000000000000000000000)"), "numeric: 12500000000000000000000000000.00");
  EXPECT_EQ(Value("amount * amount * amount"), "numeric: 1953.125000");
  EXPECT_EQ(Value("qty / 2"), "integer: 1");
  EXPECT_EQ(Value("qty / 2.0"), "numeric: 1.00000000000000000000");
  EXPECT_EQ(Value("ratio / 3"), "double precision: 0.08333333333333333");
  EXPECT_EQ(Value("price / 3"), "double precision: 0.5");
}

// Each expected row set is PostgreSQL 15's result of the same SELECT over the same rows.
TEST_F(ViewsTest, ViewsComputeAsPostgres) {
  EXPECT_EQ(Rows("SELECT status, count(*), sum(amount), avg(qty) FROM orders GROUP BY status"), (Strings{"new|1|7.25|1.00000000000000000000", "paid|2|12.50|3.5000000000000000", "∅|1|0.01|∅"}));
  EXPECT_EQ(Rows("SELECT count(*) AS n, count(amount) AS a, count(DISTINCT customer_id) AS c, sum(qty) AS s1, sum(big) AS s2, sum(price) AS s3, sum(ratio) AS s4, avg(amount) AS a1, avg(price) AS a2, min(note), max(created), bool_and(paid), bool_or(paid) FROM orders"), (Strings{"4|3|3|8|8999999996|3.25|1.75|6.5866666666666667|1.0833333333333333|%_x|2024-01-05 00:00:00+00|f|t"}));
  EXPECT_EQ(Rows("SELECT count(*), sum(amount), avg(qty), min(day), bool_and(paid) FROM orders WHERE id > 100"), (Strings{"0|∅|∅|∅|∅"}));
  EXPECT_EQ(Rows("SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id HAVING sum(amount) > 1"), (Strings{"10|19.75"}));
  EXPECT_EQ(Rows("SELECT customer_id, count(*) FROM orders GROUP BY 1 HAVING count(*) > 1"), (Strings{"10|2"}));
  EXPECT_EQ(Rows("SELECT customer_id AS c, max(amount) FROM orders GROUP BY c"), (Strings{"10|12.50", "20|∅", "99|0.01"}));
  EXPECT_EQ(Rows("SELECT status IS NULL AS missing, count(*) FROM orders GROUP BY status IS NULL"), (Strings{"f|3", "t|1"}));
  EXPECT_EQ(Rows("SELECT date_trunc('month', created) AS month, count(*), sum(amount) FROM orders GROUP BY 1"), (Strings{"2023-12-01 00:00:00+00|1|∅", "2024-01-01 00:00:00+00|2|19.75", "∅|1|0.01"}));
  EXPECT_EQ(Rows("SELECT extract(year FROM created) AS y, avg(amount) FROM orders GROUP BY extract(year FROM created)"), (Strings{"2023|∅", "2024|9.8750000000000000", "∅|0.01000000000000000000"}));
  EXPECT_EQ(Rows("SELECT upper(status), count(*) FROM orders GROUP BY upper(status)"), (Strings{"NEW|1", "PAID|2", "∅|1"}));
  EXPECT_EQ(Rows("SELECT customer_id, sum(amount) / count(*) AS per_order, sum(qty) * 2 FROM orders GROUP BY customer_id"), (Strings{"10|9.8750000000000000|6", "20|∅|10", "99|0.01000000000000000000|∅"}));
  EXPECT_EQ(Rows("SELECT status, customer_id FROM orders"), (Strings{"new|10", "paid|10", "paid|20", "∅|99"}));
  EXPECT_EQ(Rows("SELECT DISTINCT status FROM orders"), (Strings{"new", "paid", "∅"}));
  EXPECT_EQ(Rows("SELECT DISTINCT customer_id, paid FROM orders"), (Strings{"10|f", "10|t", "20|∅", "99|t"}));
  EXPECT_EQ(Rows("SELECT id, amount * qty AS value FROM orders WHERE amount IS NOT NULL AND qty > 1"), (Strings{"1|25.00"}));
  EXPECT_EQ(Rows("SELECT c.country, count(o.id), sum(o.amount) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.country"), (Strings{"DE|1|∅", "PL|2|19.75"}));
  EXPECT_EQ(Rows("SELECT c.name, o.id FROM orders o JOIN customers c ON o.customer_id = c.id"), (Strings{"Ann|1", "Ann|2", "Bob|3"}));
  EXPECT_EQ(Rows("SELECT c.name, o.id FROM orders o LEFT JOIN customers c ON c.id = o.customer_id"), (Strings{"Ann|1", "Ann|2", "Bob|3", "∅|4"}));
  EXPECT_EQ(Rows("SELECT name, count(o.id) AS orders FROM customers c LEFT JOIN orders o ON c.id = o.customer_id GROUP BY name"), (Strings{"Ann|2", "Bob|1", "Cy|0"}));
  EXPECT_EQ(Rows("SELECT c.id, c.name, count(*) FROM customers c JOIN orders o ON c.id = o.customer_id GROUP BY c.id"), (Strings{"10|Ann|2", "20|Bob|1"}));
  EXPECT_EQ(Rows("SELECT country, avg(age) AS avg_age FROM customers GROUP BY country"), (Strings{"DE|∅", "PL|35.5000000000000000"}));
  EXPECT_EQ(Rows("SELECT avg(age), sum(age), count(age) FROM customers"), (Strings{"35.5000000000000000|71|2"}));
  EXPECT_EQ(Rows("SELECT count(*) FROM orders HAVING count(*) > 10"), (Strings{}));
  EXPECT_EQ(Rows("SELECT sum(DISTINCT customer_id), avg(DISTINCT qty), count(DISTINCT status) FROM orders"), (Strings{"129|2.6666666666666667|2"}));
  EXPECT_EQ(Rows("SELECT max(amount) - min(amount) AS spread FROM orders"), (Strings{"12.49"}));
  EXPECT_EQ(Rows("SELECT 1 AS one, count(*) FROM orders"), (Strings{"1|4"}));
  EXPECT_EQ(Rows("SELECT paid, count(*) FROM orders GROUP BY paid HAVING bool_or(amount > 5)"), (Strings{"f|1", "t|2"}));
  EXPECT_EQ(Rows("SELECT coalesce(status, 'none') AS s, count(*) FROM orders GROUP BY 1"), (Strings{"new|1", "none|1", "paid|2"}));
  EXPECT_EQ(Rows("SELECT customer_id, min(ts), max(day) FROM orders GROUP BY customer_id"), (Strings{"10|2024-03-10 23:59:59.5|2024-03-01", "20|∅|∅", "99|1999-12-31 12:00:00|2023-01-01"}));
}


// Every refusal names the view, the construct, a hint, and the line and column of the node at fault
// (columns count characters, as PostgreSQL's error cursor does).
TEST_F(ViewsTest, RefusalsPointAtTheConstruct) {
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id, count(*) OVER () FROM orders;"),
            "views.sql:1:29: view \"v\": window function count(...) OVER is not supported in views (views compute aggregates per GROUP BY group)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers);"),
            "views.sql:1:58: view \"v\": a subquery is not supported in views (a view reads its tables directly; use a join or define another view)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT x FROM (SELECT id AS x FROM orders) s;"),
            "views.sql:1:32: view \"v\": a subquery in FROM is not supported in views (a view reads captured tables directly; define the inner query as the view)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS WITH t AS (SELECT id FROM orders) SELECT id FROM t;"),
            "views.sql:1:18: view \"v\": WITH (a common table expression) is not supported in views (define the inner query as the view itself)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders UNION SELECT id FROM customers;"),
            "views.sql:1:40: view \"v\": UNION is not supported in views (define one view per SELECT)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders ORDER BY id;"),
            "views.sql:1:40: view \"v\": ORDER BY is not supported in views (a view is an unordered set of rows; order when reading it)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders LIMIT 10;"),
            "views.sql:1:40: view \"v\": LIMIT is not supported in views (a view holds all of its rows; limit when reading it)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders OFFSET 5;"),
            "views.sql:1:40: view \"v\": OFFSET is not supported in views (a view holds all of its rows; limit when reading it)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.id FROM orders o JOIN customers c ON o.customer_id = c.id JOIN orders p ON p.id = o.id;"),
            "views.sql:1:85: view \"v\": a join of three or more tables is not supported in views (a view joins at most two captured tables)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.id FROM orders o RIGHT JOIN customers c ON o.customer_id = c.id;"),
            "views.sql:1:44: view \"v\": RIGHT JOIN is not supported in views (swap the tables and write LEFT JOIN)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.id FROM orders o FULL JOIN customers c ON o.customer_id = c.id;"),
            "views.sql:1:44: view \"v\": FULL JOIN is not supported in views (only INNER and LEFT joins are maintained)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.id FROM orders o CROSS JOIN customers c;"),
            "views.sql:1:44: view \"v\": CROSS JOIN is not supported in views (join on one column pair: JOIN b ON a.x = b.y)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.id FROM orders o, customers c;"),
            "views.sql:1:45: view \"v\": a comma-separated FROM list (a cross join) is not supported in views (join two tables with FROM a JOIN b ON a.x = b.y)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.id FROM orders o JOIN customers c ON o.customer_id = c.id AND c.age > 3;"),
            "views.sql:1:85: view \"v\": this join condition is not supported in views (a view joins on one equality of a column of each table: ON a.x = b.y)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.id FROM orders o JOIN customers c ON o.customer_id < c.id;"),
            "views.sql:1:78: view \"v\": this join condition is not supported in views (a view joins on one equality of a column of each table: ON a.x = b.y)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.id FROM orders o JOIN customers c USING (id);"),
            "views.sql:1:61: view \"v\": JOIN ... USING is not supported in views (write JOIN ... ON a.x = b.y)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.id FROM orders o JOIN customers c ON o.status = c.id;"),
            "views.sql:1:73: view \"v\": join columns of types text and integer cannot be compared (join on columns of the same type)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM ordrs;"),
            "views.sql:1:33: view \"v\": relation \"ordrs\" is not a captured table (did you mean \"orders\"? captured tables: public.customers, public.orders, sales.items)");
  EXPECT_TRUE(Load("CREATE VIEW v AS SELECT id FROM sales.items;").ok());
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM public.items;"),
            "views.sql:1:33: view \"v\": relation \"public.items\" is not a captured table (did you mean \"public.orders\"? captured tables: public.customers, public.orders, sales.items)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT statuss FROM orders;"),
            "views.sql:1:25: view \"v\": column \"statuss\" does not exist (did you mean \"status\"?)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT o.nme FROM orders o;"),
            "views.sql:1:25: view \"v\": column \"o.nme\" does not exist (did you mean \"note\"?)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders o JOIN customers c ON o.customer_id = c.id;"),
            "views.sql:1:25: view \"v\": column reference \"id\" is ambiguous (qualify it: o.id or c.id)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT orders.id FROM orders o;"),
            "views.sql:1:25: view \"v\": invalid reference to FROM-clause entry for table \"orders\" (use the table's alias \"o\")");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT z.id FROM orders o;"),
            "views.sql:1:25: view \"v\": missing FROM-clause entry for table \"z\" (did you mean \"o\"?)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT data FROM orders;"),
            "views.sql:1:25: view \"v\": column \"data\" of type bytea is not supported in views (views read boolean, integer, numeric, real/double, text/varchar/char/uuid/enum, date and timestamp columns; cast it in the source or leave it out)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT status + 1 FROM orders;"),
            "views.sql:1:32: view \"v\": operator does not exist: text + integer (cast the text to a number, e.g. x::numeric)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT sum(status) FROM orders;"),
            "views.sql:1:29: view \"v\": function sum(text) does not exist (sum and avg take numbers; cast with ::numeric)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders WHERE qty;"),
            "views.sql:1:46: view \"v\": argument of WHERE must be type boolean, not type smallint (write a comparison, e.g. x <> 0)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT status, count(*) FROM orders;"),
            "views.sql:1:25: view \"v\": column \"orders.status\" must appear in the GROUP BY clause or be used in an aggregate function (add it to GROUP BY or wrap it in an aggregate such as min())");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT status, amount, count(*) FROM orders GROUP BY status;"),
            "views.sql:1:33: view \"v\": column \"orders.amount\" must appear in the GROUP BY clause or be used in an aggregate function (add it to GROUP BY or wrap it in an aggregate such as min())");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders WHERE count(*) > 1;"),
            "views.sql:1:46: view \"v\": aggregate functions are not allowed in WHERE (filter groups with HAVING)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT sum(count(*)) FROM orders;"),
            "views.sql:1:29: view \"v\": aggregate function calls cannot be nested (compute the inner value per row, without an aggregate)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT foo(id) FROM orders;"),
            "views.sql:1:25: view \"v\": function foo() is not supported in views (supported functions: lower, upper, length, substr/substring, date_trunc, extract, date_part, coalesce, nullif and the aggregates count, sum, avg, min, max, bool_and, bool_or)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT lowr(status) FROM orders;"),
            "views.sql:1:25: view \"v\": function lowr() is not supported in views (did you mean lower()?)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id, id FROM orders;"),
            "views.sql:1:29: view \"v\": output column name \"id\" is used twice (Parquet needs unique column names: give one an alias with AS)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT count(*), count(id) FROM orders;"),
            "views.sql:1:35: view \"v\": output column name \"count\" is used twice (Parquet needs unique column names: give one an alias with AS)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT status, count(*) FILTER (WHERE paid) FROM orders GROUP BY status;"),
            "views.sql:1:33: view \"v\": FILTER (WHERE ...) is not supported in views (use CASE inside the aggregate, e.g. sum(CASE WHEN c THEN x END))");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT 'abc'::int FROM orders;"),
            "views.sql:1:25: view \"v\": invalid input syntax for type integer: \"abc\" (write a valid integer literal)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders GROUP BY 3;"),
            "views.sql:1:49: view \"v\": GROUP BY position 3 is not in select list (positions run from 1 to 1)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT DISTINCT ON (status) status FROM orders;"),
            "views.sql:1:34: view \"v\": DISTINCT ON is not supported in views (use GROUP BY with min()/max())");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT now() FROM orders;"),
            "views.sql:1:25: view \"v\": function now() is not supported in views (supported functions: lower, upper, length, substr/substring, date_trunc, extract, date_part, coalesce, nullif and the aggregates count, sum, avg, min, max, bool_and, bool_or)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT CURRENT_DATE FROM orders;"),
            "views.sql:1:25: view \"v\": CURRENT_DATE, CURRENT_TIMESTAMP and the like are not supported in views (a view's rows must depend only on the tables' rows)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders GROUP BY ROLLUP (id);"),
            "views.sql:1:49: view \"v\": GROUPING SETS, ROLLUP and CUBE are not supported in views (define one view per grouping)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT 1;"),
            "views.sql:1:13: view \"v\": a SELECT without FROM is not supported in views (a view reads one captured table, or two joined: SELECT ... FROM orders)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT status LIKE 1 FROM orders;"),
            "views.sql:1:32: view \"v\": operator does not exist: text ~~ integer (LIKE compares text; cast with ::text)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT CASE WHEN id THEN 1 END FROM orders;"),
            "views.sql:1:35: view \"v\": argument of CASE/WHEN must be type boolean, not type integer (write a comparison, e.g. x <> 0)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT CASE WHEN paid THEN 1 ELSE 'x' END FROM orders;"),
            "views.sql:1:52: view \"v\": invalid input syntax for type integer: \"x\" (write a valid integer literal)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT CASE WHEN paid THEN id ELSE status END FROM orders;"),
            "views.sql:1:53: view \"v\": CASE types integer and text cannot be matched (cast them to one type)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id IS TRUE FROM orders;"),
            "views.sql:1:28: view \"v\": IS TRUE / IS FALSE / IS UNKNOWN is not supported in views (write x = true, x = false or x IS NULL)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT date_trunc('fortnight', created) FROM orders;"),
            "views.sql:1:36: view \"v\": unit \"fortnight\" not recognized for type timestamp with time zone (microseconds, milliseconds, second, minute, hour, day, week, month, quarter, year, decade, century, millennium)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT extract(hour FROM day) FROM orders;"),
            "views.sql:1:33: view \"v\": unit \"hour\" not supported for type date (fields: year, quarter, month, week, day, hour, minute, second, milliseconds, microseconds, dow, isodow, doy, isoyear, decade, century, millennium, epoch)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT min(paid) FROM orders;"),
            "views.sql:1:29: view \"v\": function min(boolean) does not exist (cast the argument)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id::bytea FROM orders;"),
            "views.sql:1:29: view \"v\": type \"bytea\" is not supported in views (cast to boolean, smallint, integer, bigint, numeric, real, double precision, text, varchar, date, timestamp or timestamptz)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT * FROM orders;"),
            "views.sql:1:25: view \"v\": column \"data\" of type bytea is not supported in views (views read boolean, integer, numeric, real/double, text/varchar/char/uuid/enum, date and timestamp columns; cast it in the source or leave it out)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders WHERE NOT status;"),
            "views.sql:1:50: view \"v\": argument of NOT must be type boolean, not type text (write a comparison, e.g. x <> 0)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT price % 2 FROM orders;"),
            "views.sql:1:31: view \"v\": operator does not exist: double precision % integer (cast to numeric first)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT status || id || paid, 1 || 2 FROM orders;"),
            "views.sql:1:47: view \"v\": output column name \"?column?\" is used twice (Parquet needs unique column names: give one an alias with AS)\nviews.sql:1:49: view \"v\": operator does not exist: integer || integer (cast one side to text)");
  EXPECT_EQ(Refusal("CREATE TABLE t (id int);"),
            "views.sql:1:1: CREATE TABLE is not supported in a views file (it holds only CREATE VIEW name AS SELECT ... statements)");
  EXPECT_EQ(Refusal("CREATE MATERIALIZED VIEW m AS SELECT id FROM orders;"),
            "views.sql:1:1: CREATE MATERIALIZED VIEW is not supported in a views file (it holds only CREATE VIEW name AS SELECT ... statements)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELEC id FROM orders;"),
            "views.sql:1:18: view \"v\": syntax error at or near \"SELEC\" (write CREATE VIEW name AS SELECT ... in PostgreSQL's syntax)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM orders WHERE id IN (1, 'x');"),
            "views.sql:1:56: view \"v\": invalid input syntax for type integer: \"x\" (write a valid integer literal)");
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT id FROM generate_series(1, 3) id;"),
            "views.sql:1:33: view \"v\": a function in FROM is not supported in views (a view reads captured tables only)");
}

TEST_F(ViewsTest, AllProblemsOfTheFileAtOnceWithLineAndColumn) {
  const std::string file =
      "-- the user's views\n"
      "CREATE VIEW \"klienci-by-country\" AS\n"
      "  SELECT country AS kraj, count(*) AS klienci FROM customers GROUP BY country;\n"
      "\n"
      "/* a comment; with a semicolon */ CREATE VIEW bad AS SELECT 'zażółć' AS t, nme FROM customers ORDER BY 1;\n"
      "CREATE VIEW broken AS SELECT FROM WHERE;\n"
      "CREATE VIEW \"klienci-by-country\" AS SELECT 1 AS x FROM orders;\n"
      "CREATE VIEW good AS SELECT id FROM orders";
  // Line 5: the comment is 33 characters; "zażółć" counts 6 characters (10 bytes), so "nme" is column 76.
  EXPECT_EQ(Refusal(file),
            "views.sql:5:76: view \"bad\": column \"nme\" does not exist (did you mean \"name\"?)\n"
            "views.sql:5:95: view \"bad\": ORDER BY is not supported in views (a view is an unordered set of rows; order "
            "when reading it)\n"
            "views.sql:6:35: view \"broken\": syntax error at or near \"WHERE\" (write CREATE VIEW name AS SELECT ... in "
            "PostgreSQL's syntax)\n"
            "views.sql:7:13: view \"klienci-by-country\": view \"klienci-by-country\" is defined twice (first defined at "
            "line 2, column 13; rename one)");
}

TEST_F(ViewsTest, PlanShapes) {
  auto set = Load(
      "CREATE VIEW \"klienci-by-country\" AS SELECT country AS kraj, count(*) AS klienci FROM customers GROUP BY country;\n"
      "  CREATE VIEW totals AS SELECT count(*), sum(qty) AS s, avg(amount) AS a, min(amount) AS lo FROM orders;\n"
      "CREATE VIEW rows AS SELECT status, amount + 1 FROM orders WHERE paid;\n"
      "CREATE VIEW d AS SELECT DISTINCT status FROM orders;\n"
      "CREATE VIEW j AS SELECT c.name, o.amount FROM orders o LEFT JOIN customers c ON c.id = o.customer_id;\n"
      "CREATE VIEW names AS SELECT id::int8, 1::int8, CASE WHEN paid THEN 1 END, coalesce(qty, 0), nullif(qty, 0),\n"
      "  extract(year FROM day), amount::numeric(12,3), sum(qty) OVER () IS NULL AS w FROM orders;\n");
  ASSERT_FALSE(set.ok());  // the window function
  set = Load(
      "CREATE VIEW \"klienci-by-country\" AS SELECT country AS kraj, count(*) AS klienci FROM customers GROUP BY country;\n"
      "  CREATE VIEW totals AS SELECT count(*), sum(qty) AS s, avg(amount) AS a, min(amount) AS lo FROM orders;\n"
      "CREATE VIEW rows AS SELECT status, amount + 1 FROM orders WHERE paid;\n"
      "CREATE VIEW d AS SELECT DISTINCT status FROM orders;\n"
      "CREATE VIEW j AS SELECT c.name, o.amount FROM orders o LEFT JOIN customers c ON c.id = o.customer_id;\n"
      "CREATE VIEW names AS SELECT id::int8, 1::int8, CASE WHEN paid THEN 1 END, coalesce(qty, 0), nullif(qty, 0),\n"
      "  extract(year FROM day), amount::numeric(12,3), upper(status), 'x' FROM orders;\n");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->views.size(), 6u);
  const ViewPlan& k = set->views[0];
  EXPECT_EQ(k.name, "klienci-by-country");
  EXPECT_EQ(k.line, 1);
  EXPECT_EQ(k.column, 1);
  EXPECT_EQ(k.sql, "CREATE VIEW \"klienci-by-country\" AS SELECT country AS kraj, count(*) AS klienci FROM customers GROUP BY country");
  EXPECT_EQ(k.inputs.size(), 1u);
  EXPECT_EQ(k.inputs[0].schema, "public");
  EXPECT_EQ(k.inputs[0].table, "customers");
  EXPECT_EQ(k.inputs[0].columns, std::vector<int>{2});
  EXPECT_EQ(k.group_keys.size(), 1u);
  EXPECT_EQ(k.aggregates.size(), 1u);
  EXPECT_FALSE(k.bag);
  EXPECT_FALSE(k.always_one_group);
  ASSERT_EQ(k.outputs.size(), 2u);
  EXPECT_EQ(k.outputs[0].name, "kraj");
  EXPECT_EQ(TypeName(k.outputs[0].type), "text");
  EXPECT_EQ(k.outputs[1].name, "klienci");
  EXPECT_EQ(TypeName(k.outputs[1].type), "bigint");

  const ViewPlan& t = set->views[1];
  EXPECT_EQ(t.line, 2);
  EXPECT_EQ(t.column, 3);
  EXPECT_TRUE(t.always_one_group);
  EXPECT_TRUE(t.group_keys.empty());
  std::vector<std::string> names, types;
  for (const auto& o : t.outputs) {
    names.push_back(o.name);
    types.push_back(TypeName(o.type));
  }
  // select pg_typeof(count(*)), pg_typeof(sum(qty)), pg_typeof(avg(amount)), pg_typeof(min(amount)) from orders
  EXPECT_EQ(names, (Strings{"count", "s", "a", "lo"}));
  EXPECT_EQ(types, (Strings{"bigint", "bigint", "numeric", "numeric"}));

  const ViewPlan& r = set->views[2];
  EXPECT_TRUE(r.bag);
  EXPECT_FALSE(r.distinct);
  ASSERT_NE(r.where, nullptr);
  ASSERT_EQ(r.aggregates.size(), 1u);
  EXPECT_EQ(r.aggregates[0].kind, AggregateKind::kCountStar);
  EXPECT_EQ(r.group_keys.size(), 2u);
  EXPECT_EQ(r.outputs[1].name, "?column?");
  EXPECT_EQ(TypeName(r.outputs[1].type), "numeric");
  EXPECT_EQ(r.inputs[0].columns, (std::vector<int>{2, 4, 10}));  // amount, status, paid: catalog order
  EXPECT_EQ(TypeName(r.input_types[0]), "numeric(10,2)");

  const ViewPlan& d = set->views[3];
  EXPECT_TRUE(d.bag);
  EXPECT_TRUE(d.distinct);

  const ViewPlan& j = set->views[4];
  ASSERT_TRUE(j.join.has_value());
  EXPECT_EQ(j.join->kind, JoinSpec::Kind::kLeft);
  ASSERT_EQ(j.inputs.size(), 2u);
  EXPECT_EQ(j.inputs[0].table, "orders");
  EXPECT_EQ(j.inputs[0].columns, (std::vector<int>{1, 2}));  // customer_id, amount
  EXPECT_EQ(j.inputs[1].table, "customers");
  EXPECT_EQ(j.inputs[1].columns, (std::vector<int>{0, 1}));  // id, name
  EXPECT_EQ(j.join->left_key, 0);
  EXPECT_EQ(j.join->right_key, 2);
  EXPECT_EQ(j.input_types.size(), 4u);

  // PostgreSQL's column names (FigureColname) and types, as psql shows them for the same SELECT.
  names.clear();
  types.clear();
  for (const auto& o : set->views[5].outputs) {
    names.push_back(o.name);
    types.push_back(TypeName(o.type));
  }
  EXPECT_EQ(names, (Strings{"id", "int8", "case", "coalesce", "nullif", "extract", "amount", "upper", "?column?"}));
  EXPECT_EQ(types, (Strings{"bigint", "bigint", "integer", "integer", "smallint", "numeric", "numeric(12,3)", "text",
                            "text"}));
}

TEST_F(ViewsTest, AMinAndAMaxOfOneArgumentShareTheirValues) {
  auto set = Load(
      "CREATE VIEW e AS SELECT status, max(amount) AS hi, min(qty), min(amount) AS lo, max(amount + 1),\n"
      "  count(DISTINCT amount) FROM orders GROUP BY status;\n");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const auto& a = set->views[0].aggregates;
  ASSERT_EQ(a.size(), 5u);
  EXPECT_TRUE(a[0].keeps_both_extremes);   // max(amount) keeps both extremes ...
  EXPECT_EQ(a[2].values_from, 0);          // ... for min(amount)
  EXPECT_FALSE(a[1].keeps_both_extremes);  // min(qty): another argument
  EXPECT_EQ(a[1].values_from, -1);
  EXPECT_EQ(a[3].values_from, -1);         // max(amount + 1): another argument
  EXPECT_FALSE(a[4].keeps_both_extremes);  // count(DISTINCT amount) keeps its own, unordered
  EXPECT_EQ(ValuesOrder(a[0]), ValueCounts::Order::kBoth);
  EXPECT_EQ(ValuesOrder(a[4]), ValueCounts::Order::kNone);
}

TEST_F(ViewsTest, FingerprintIgnoresLayoutButNotMeaningOrColumnTypes) {
  auto fp = [&](const std::string& text, const Catalog& catalog) {
    auto set = LoadViews("views.sql", text, catalog);
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    return set.ok() ? set->views[0].fingerprint : "";
  };
  std::string a = fp("CREATE VIEW v AS SELECT status, sum(amount) FROM orders GROUP BY status", catalog_);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a, fp("\n\n-- comment\nCREATE   VIEW v AS\n  SELECT status,\n sum(amount) /* x */ FROM orders GROUP BY status;", catalog_));
  EXPECT_EQ(a, fp("create view v as select STATUS, SUM(amount) from ORDERS group by status", catalog_));
  EXPECT_NE(a, fp("CREATE VIEW v AS SELECT status, sum(amount) FROM orders WHERE paid GROUP BY status", catalog_));
  EXPECT_NE(a, fp("CREATE VIEW v AS SELECT status, avg(amount) FROM orders GROUP BY status", catalog_));
  Catalog changed = catalog_;
  changed["public.orders"].columns[2].type_modifier = NumericTypmod(12, 3);
  EXPECT_NE(a, fp("CREATE VIEW v AS SELECT status, sum(amount) FROM orders GROUP BY status", changed));
  // A column the view does not read may change freely.
  Catalog other = catalog_;
  other["public.orders"].columns[7].type_oid = 23;
  EXPECT_EQ(a, fp("CREATE VIEW v AS SELECT status, sum(amount) FROM orders GROUP BY status", other));
}

TEST_F(ViewsTest, ColumnTypesFromTheCatalog) {
  Catalog c = catalog_;
  event::TableSchema t;
  t.schema = "public";
  t.table = "typed";
  t.columns = {Col("u", 2950), Col("n", 19), Col("b", 1042, 8), Col("mood", 16384), Col("dom", 16390), Col("j", 3802),
               Col("wide", 1700, NumericTypmod(50, 2))};
  t.columns[3].type_name = "public.mood";
  t.columns[3].user_type = event::UserType{event::UserType::Kind::kEnum};
  t.columns[4].type_name = "public.price";
  event::UserType dom{event::UserType::Kind::kDomain};
  dom.base_type_oid = 1700;
  dom.base_type_modifier = NumericTypmod(8, 2);
  t.columns[4].user_type = dom;
  c["public.typed"] = t;
  auto set = LoadViews("views.sql", "CREATE VIEW v AS SELECT u, n, b, mood, dom, wide FROM typed", c);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  Strings types;
  for (const auto& o : set->views[0].outputs) types.push_back(TypeName(o.type));
  EXPECT_EQ(types, (Strings{"text", "text", "text", "text", "numeric(8,2)", "numeric"}));
  auto bad = LoadViews("views.sql", "CREATE VIEW v AS SELECT j FROM typed", c);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "views.sql:1:25: view \"v\": column \"j\" of type jsonb is not supported in views (views read boolean, "
            "integer, numeric, real/double, text/varchar/char/uuid/enum, date and timestamp columns; cast it in the "
            "source or leave it out)");
}

TEST_F(ViewsTest, EmptyFileHasNoViews) {
  auto set = Load("-- nothing yet\n");
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->views.empty());
  EXPECT_TRUE(Load("").ok());
}

// Regression: libpg_query's scanner split stops at an unbalanced parenthesis, which hid every later
// statement (and its problems) from the check.
TEST_F(ViewsTest, AnUnbalancedParenthesisDoesNotHideLaterStatements) {
  EXPECT_EQ(Refusal("CREATE VIEW a AS SELECT count(* AS n FROM orders;\nCREATE VIEW b AS SELECT nope FROM orders;\n"),
            "views.sql:1:33: view \"a\": syntax error at or near \"AS\" (write CREATE VIEW name AS SELECT ... in "
            "PostgreSQL's syntax)\n"
            "views.sql:2:25: view \"b\": column \"nope\" does not exist (did you mean \"note\"?)");
  // Semicolons inside strings, quoted names, dollar quotes and comments do not split.
  auto set = Load("CREATE VIEW \"a;b\" AS SELECT status = ';' AS s, 'it''s;' AS t, E'\\';' AS u, $q$;$q$ AS w\n"
                  "  FROM orders /* ; */ -- ;\n  WHERE note <> $$;$$;\nCREATE VIEW c AS SELECT id FROM orders");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->views.size(), 2u);
  EXPECT_EQ(set->views[0].name, "a;b");
  EXPECT_EQ(set->views[1].line, 4);
  EXPECT_EQ(set->views[1].column, 1);
}

// A GROUP BY that names an output column analyses its expression again; its problem is reported once.
TEST_F(ViewsTest, AProblemIsReportedOnce) {
  EXPECT_EQ(Refusal("CREATE VIEW v AS SELECT stauts, count(*) AS n FROM orders GROUP BY stauts"),
            "views.sql:1:25: view \"v\": column \"stauts\" does not exist (did you mean \"status\"?)");
}

TEST_F(ViewsTest, ViewColumnNamesAndRuntimeOverflow) {
  ViewPlan p = Plan("CREATE OR REPLACE VIEW v (a, b) AS SELECT status, count(*) FROM orders GROUP BY status");
  ASSERT_EQ(p.outputs.size(), 2u);
  EXPECT_EQ(p.outputs[0].name, "a");
  EXPECT_EQ(p.outputs[1].name, "b");
  EXPECT_EQ(p.fingerprint, Plan("CREATE VIEW v (a, b) AS SELECT status, count(*) FROM orders GROUP BY status").fingerprint);
  EXPECT_EQ(Refusal("CREATE VIEW v (a, b, c) AS SELECT status, count(*) FROM orders GROUP BY status"),
            "views.sql:1:13: view \"v\": CREATE VIEW specifies more column names than columns (name at most 2)");
  // select big * 10000000000 from orders where id = 1: ERROR:  bigint out of range
  EXPECT_EQ(Rows("SELECT big * 10000000000 AS s FROM orders WHERE id = 1"), (Strings{"error: bigint out of range"}));
  // sum(bigint) is numeric: exact beyond bigint (select sum(big * 1000000000) from orders -> 8999999996000000000).
  EXPECT_EQ(Rows("SELECT sum(big * 1000000000) AS s FROM orders"), (Strings{"8999999996000000000"}));
}

TEST_F(ViewsTest, EvalDoesNotAllocateForNumbersAndBooleans) {
#ifndef CDC_COUNTS_ALLOCATIONS
  GTEST_SKIP() << "allocations are not counted under AddressSanitizer";
#endif
  ViewPlan p = Plan(
      "CREATE VIEW v AS SELECT customer_id, sum(amount * qty / 3 + big) AS s, count(*) AS n FROM orders "
      "WHERE (amount > 1 OR qty IN (1, 2, 3)) AND NOT paid IS NULL AND price BETWEEN -1 AND 10 AND "
      "CASE WHEN qty % 2 = 0 THEN amount::int ELSE -id END <> 7 AND coalesce(total, 0) >= -100 "
      "GROUP BY customer_id HAVING sum(amount * qty / 3 + big) > 0");
  ASSERT_NE(p.where, nullptr);
  // The input row: columns in catalog order (id, customer_id, amount, qty, big, price, paid, total).
  std::vector<Datum> row;
  for (size_t i = 0; i < p.input_types.size(); ++i) {
    TypeId t = p.input_types[i].id;
    row.push_back(t == TypeId::kNumeric ? Num("12.50") : t == TypeId::kFloat8 ? Datum::Float(2.5)
                  : t == TypeId::kBool  ? Datum::Bool(true)
                                        : Datum::Int(2));
  }
  Datum w, k, a;
  g_allocations = 0;
  g_count_allocations = true;
  Status s1 = p.where->Eval(row.data(), &w);
  Status s2 = p.group_keys[0]->Eval(row.data(), &k);
  Status s3 = p.aggregates[0].arg->Eval(row.data(), &a);
  g_count_allocations = false;
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok()) << s1.ToString() << s2.ToString() << s3.ToString();
  EXPECT_TRUE(w.kind == Datum::Kind::kBool && w.b);
  EXPECT_EQ(ToText(a, p.aggregates[0].arg->type()), "10.3333333333333333");  // 12.50 * 2 / 3 + 2
  EXPECT_EQ(g_allocations, 0u);
}

// Odd but valid PostgreSQL never crashes the loader (a missing target list once read a JSON key that
// was not there); each statement either loads or is refused with a located message.
TEST_F(ViewsTest, OddStatementsAreRefusedOrLoadedNeverCrash) {
  const std::vector<std::string> statements = {
      "CREATE VIEW a AS SELECT FROM orders;",
      "CREATE VIEW b AS SELECT;",
      "CREATE VIEW c AS VALUES (1);",
      "CREATE VIEW d AS TABLE orders;",
      "CREATE VIEW e AS SELECT * FROM orders, LATERAL (SELECT 1) x;",
      "CREATE VIEW f AS SELECT id FROM ONLY orders;",
      "CREATE VIEW g AS SELECT id FROM orders TABLESAMPLE SYSTEM (10);",
      "CREATE VIEW h AS SELECT ROW(1,2) FROM orders;",
      "CREATE VIEW i AS SELECT ARRAY[1] FROM orders;",
      "CREATE VIEW j AS SELECT (id).x FROM orders;",
      "CREATE VIEW k AS SELECT $1 FROM orders;",
      "CREATE VIEW l AS SELECT id FROM orders FOR UPDATE;",
      "CREATE VIEW m AS SELECT GREATEST(1, 2) FROM orders;",
      "CREATE VIEW n AS SELECT id COLLATE \"C\" FROM orders;",
      "CREATE VIEW o AS SELECT id FROM orders WINDOW w AS (PARTITION BY id);",
      "CREATE VIEW p AS SELECT count(*) FROM orders GROUP BY ();",
      "CREATE VIEW q AS SELECT id FROM orders o JOIN customers c ON true;",
      "CREATE VIEW r AS SELECT id FROM orders NATURAL JOIN customers;",
      "CREATE VIEW s AS SELECT x.* FROM orders o;",
      "CREATE VIEW t AS SELECT o.* FROM orders o JOIN customers c ON o.customer_id = c.id;",
      "CREATE VIEW u AS SELECT 1 AS x FROM orders HAVING true;",
      "CREATE VIEW v AS SELECT interval '1 day' FROM orders;",
      "CREATE VIEW w AS SELECT id::int[] FROM orders;",
      "CREATE VIEW x AS SELECT id FROM orders WHERE id = ANY (ARRAY[1,2]);",
      "CREATE VIEW y AS SELECT id FROM orders WHERE id IS DISTINCT FROM 3;",
      "CREATE VIEW z AS SELECT xmin FROM orders;",
      "CREATE TEMP VIEW tv AS SELECT id FROM orders;",
      "CREATE RECURSIVE VIEW rv (n) AS SELECT 1 UNION ALL SELECT n + 1 FROM rv;",
      "CREATE VIEW other.v AS SELECT id FROM orders;",
      "CREATE VIEW cnt AS SELECT count(DISTINCT *) FROM orders;",
      "CREATE VIEW cs AS SELECT count(1, 2) FROM orders;",
      "CREATE VIEW pg AS SELECT pg_catalog.lower(status) FROM orders;",
      "CREATE VIEW sch AS SELECT public.lower(status) FROM orders;",
      "CREATE VIEW nn AS SELECT -'1' FROM orders;",
      "CREATE VIEW bb AS SELECT B'101' FROM orders;",
      "CREATE VIEW xx AS SELECT 1 FROM orders GROUP BY 1.5;",
      "CREATE VIEW yy AS SELECT status FROM orders GROUP BY status, -1;",
      "CREATE VIEW zz AS SELECT status, sum(amount) FILTER (WHERE true) OVER () FROM orders;"};
  for (const std::string& sql : statements) {
    auto set = Load(sql);
    if (!set.ok()) {
      EXPECT_EQ(set.status().message().rfind("views.sql:1:", 0), 0u) << sql << "\n" << set.status().message();
    }
  }
  EXPECT_EQ(Refusal("CREATE VIEW a AS SELECT FROM orders;"),
            "views.sql:1:13: view \"a\": a SELECT without columns is not supported in views (list at least one column)");
  EXPECT_EQ(Refusal("CREATE VIEW c AS VALUES (1);"),
            "views.sql:1:13: view \"c\": VALUES is not supported in views (a view reads captured tables)");
}

}  // namespace
}  // namespace cdc::sql
