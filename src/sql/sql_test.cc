// Unit tests of src/sql: values, aggregates, and views planned and evaluated. Expected values and
// result types were checked against PostgreSQL 15 (psql, TimeZone=UTC) unless they follow from the
// definition.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sql/datetime.h"
#include "sql/numeric.h"
#include "sql/plan.h"

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

TEST(AggregateTest, FloatSumAndAvg) {
  AggregateSpec avg = Spec(AggregateKind::kAvg, kFloat8Type, kFloat8Type);
  AggregateState st;
  ASSERT_TRUE(Accumulate(avg, &st, Datum::Float(1.0), +1).ok());
  ASSERT_TRUE(Accumulate(avg, &st, Datum::Float(2.0), +1).ok());
  EXPECT_EQ(Final(avg, st), "1.5");
  EXPECT_LE(sizeof(AggregateState), 48u);
}

}  // namespace
}  // namespace cdc::sql
