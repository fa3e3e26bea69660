// Unit tests of the view engine. Plans are built by hand here (tiny Expr classes below), so these
// tests do not depend on the SQL parser; events come from the project's DebeziumEncoder, so they
// have the exact JSON forms capture writes.
#include "analytics/view_engine.h"

#include <gtest/gtest.h>

#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "analytics/event_values.h"
#include "analytics/row_codec.h"
#include "event/debezium_encoder.h"

namespace cdc::analytics {
namespace {

using sql::Datum;
using sql::Type;
using sql::TypeId;

const Type kInt4{TypeId::kInt4};
const Type kInt8{TypeId::kInt8};
const Type kText{TypeId::kText};
const Type kBool{TypeId::kBool};
const Type kNum102{TypeId::kNumeric, 10, 2};
const Type kNumeric{TypeId::kNumeric};

// ---------------------------------------------------------------------------------------------------
// Expressions

class ColExpr : public sql::Expr {
 public:
  ColExpr(int i, Type t) : Expr(t), i_(i) {}
  Status Eval(const Datum* row, Datum* out) const override {
    *out = row[i_];
    return Status::OK();
  }

 private:
  int i_;
};

class ConstExpr : public sql::Expr {
 public:
  ConstExpr(Datum d, Type t) : Expr(t), d_(std::move(d)) {}
  Status Eval(const Datum*, Datum* out) const override {
    *out = d_;
    return Status::OK();
  }

 private:
  Datum d_;
};

// a > b (null when either is null).
class GtExpr : public sql::Expr {
 public:
  GtExpr(std::unique_ptr<Expr> a, std::unique_ptr<Expr> b) : Expr(kBool), a_(std::move(a)), b_(std::move(b)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x, y;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    CDC_RETURN_IF_ERROR(b_->Eval(row, &y));
    *out = x.is_null() || y.is_null() ? Datum::Null() : Datum::Bool(sql::Compare(x, y) > 0);
    return Status::OK();
  }

 private:
  std::unique_ptr<Expr> a_, b_;
};

// integer a / b, "division by zero" as PostgreSQL says it.
class DivExpr : public sql::Expr {
 public:
  DivExpr(std::unique_ptr<Expr> a, std::unique_ptr<Expr> b) : Expr(kInt4), a_(std::move(a)), b_(std::move(b)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x, y;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    CDC_RETURN_IF_ERROR(b_->Eval(row, &y));
    if (x.is_null() || y.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    if (y.i == 0) return Status::InvalidArgument("division by zero");
    *out = Datum::Int(x.i / y.i);
    return Status::OK();
  }

 private:
  std::unique_ptr<Expr> a_, b_;
};

std::unique_ptr<sql::Expr> Col(int i, Type t) { return std::make_unique<ColExpr>(i, t); }
std::unique_ptr<sql::Expr> Const(Datum d, Type t) { return std::make_unique<ConstExpr>(std::move(d), t); }

sql::AggregateSpec Agg(sql::AggregateKind kind, std::unique_ptr<sql::Expr> arg, Type result, bool distinct = false) {
  sql::AggregateSpec a;
  a.kind = kind;
  a.arg = std::move(arg);
  a.result_type = result;
  a.distinct = distinct;
  return a;
}

void Output(sql::ViewPlan* p, std::string name, int group_row_index, Type t) {
  sql::OutputColumn c;
  c.name = std::move(name);
  c.type = t;
  c.expr = Col(group_row_index, t);
  p->outputs.push_back(std::move(c));
}

// ---------------------------------------------------------------------------------------------------
// Tables: orders(id int4 key, customer_id int4, amount numeric(10,2), status text),
//         customers(id int4 key, country text)

int32_t NumericTypmod(int p, int s) { return ((p << 16) | s) + 4; }

std::shared_ptr<event::TableSchema> Orders() {
  auto t = std::make_shared<event::TableSchema>();
  t->relation_id = 1;
  t->schema = "public";
  t->table = "orders";
  t->columns = {{"id", 23, -1, true, false},
                {"customer_id", 23, -1, false, true},
                {"amount", 1700, NumericTypmod(10, 2), false, true},
                {"status", 25, -1, false, true}};
  return t;
}

std::shared_ptr<event::TableSchema> Customers() {
  auto t = std::make_shared<event::TableSchema>();
  t->relation_id = 2;
  t->schema = "public";
  t->table = "customers";
  t->columns = {{"id", 23, -1, true, false}, {"country", 25, -1, false, true}};
  return t;
}

enum OrderCol { kOId = 0, kOCustomer = 1, kOAmount = 2, kOStatus = 3 };

// SELECT customer_id, count(*), sum(amount), min(amount), max(amount), count(DISTINCT status)
// FROM orders WHERE amount > 0 GROUP BY customer_id
sql::ViewPlan ByCustomer() {
  sql::ViewPlan p;
  p.name = "by_customer";
  p.fingerprint = "fp-by-customer";
  p.inputs = {{"public", "orders", {kOCustomer, kOAmount, kOStatus}}};
  p.input_types = {kInt4, kNum102, kText};
  p.where = std::make_unique<GtExpr>(Col(1, kNum102), Const(Datum::Numeric(0, 0), kNumeric));
  p.group_keys.push_back(Col(0, kInt4));
  p.aggregates.push_back(Agg(sql::AggregateKind::kCountStar, nullptr, kInt8));
  p.aggregates.push_back(Agg(sql::AggregateKind::kSum, Col(1, kNum102), kNumeric));
  p.aggregates.push_back(Agg(sql::AggregateKind::kMin, Col(1, kNum102), kNum102));
  p.aggregates.push_back(Agg(sql::AggregateKind::kMax, Col(1, kNum102), kNum102));
  p.aggregates.push_back(Agg(sql::AggregateKind::kCount, Col(2, kText), kInt8, /*distinct=*/true));
  Output(&p, "customer_id", 0, kInt4);
  Output(&p, "n", 1, kInt8);
  Output(&p, "total", 2, kNumeric);
  Output(&p, "lo", 3, kNum102);
  Output(&p, "hi", 4, kNum102);
  Output(&p, "statuses", 5, kInt8);
  return p;
}

// SELECT count(*), sum(amount) FROM orders
sql::ViewPlan Totals() {
  sql::ViewPlan p;
  p.name = "totals";
  p.fingerprint = "fp-totals";
  p.inputs = {{"public", "orders", {kOAmount}}};
  p.input_types = {kNum102};
  p.aggregates.push_back(Agg(sql::AggregateKind::kCountStar, nullptr, kInt8));
  p.aggregates.push_back(Agg(sql::AggregateKind::kSum, Col(0, kNum102), kNumeric));
  Output(&p, "n", 0, kInt8);
  Output(&p, "total", 1, kNumeric);
  p.always_one_group = true;
  return p;
}

// SELECT status, customer_id FROM orders (a bag)
sql::ViewPlan Bag() {
  sql::ViewPlan p;
  p.name = "bag";
  p.fingerprint = "fp-bag";
  p.inputs = {{"public", "orders", {kOStatus, kOCustomer}}};
  p.input_types = {kText, kInt4};
  p.group_keys.push_back(Col(0, kText));
  p.group_keys.push_back(Col(1, kInt4));
  p.aggregates.push_back(Agg(sql::AggregateKind::kCountStar, nullptr, kInt8));
  Output(&p, "status", 0, kText);
  Output(&p, "customer_id", 1, kInt4);
  p.bag = true;
  return p;
}

// SELECT c.country, count(*), count(o.id), sum(o.amount)
// FROM customers c [LEFT] JOIN orders o ON o.customer_id = c.id GROUP BY c.country
sql::ViewPlan CountryJoin(bool left) {
  sql::ViewPlan p;
  p.name = left ? "country_left" : "country_inner";
  p.fingerprint = p.name;
  p.inputs = {{"public", "customers", {0, 1}}, {"public", "orders", {kOId, kOCustomer, kOAmount}}};
  p.input_types = {kInt4, kText, kInt4, kInt4, kNum102};
  sql::JoinSpec j;
  j.kind = left ? sql::JoinSpec::Kind::kLeft : sql::JoinSpec::Kind::kInner;
  j.left_key = 0;
  j.right_key = 3;
  p.join = j;
  p.group_keys.push_back(Col(1, kText));
  p.aggregates.push_back(Agg(sql::AggregateKind::kCountStar, nullptr, kInt8));
  p.aggregates.push_back(Agg(sql::AggregateKind::kCount, Col(2, kInt4), kInt8));
  p.aggregates.push_back(Agg(sql::AggregateKind::kSum, Col(4, kNum102), kNumeric));
  Output(&p, "country", 0, kText);
  Output(&p, "rows", 1, kInt8);
  Output(&p, "orders", 2, kInt8);
  Output(&p, "total", 3, kNumeric);
  return p;
}

// SELECT o.status, count(*), count(p.id), sum(p.amount)
// FROM orders o [LEFT] JOIN orders p ON o.customer_id = p.id GROUP BY o.status  (a self-join)
sql::ViewPlan SelfJoin(bool left) {
  sql::ViewPlan p;
  p.name = left ? "self_left" : "self_inner";
  p.fingerprint = p.name;
  p.inputs = {{"public", "orders", {kOId, kOCustomer, kOStatus}}, {"public", "orders", {kOId, kOAmount}}};
  p.input_types = {kInt4, kInt4, kText, kInt4, kNum102};
  sql::JoinSpec j;
  j.kind = left ? sql::JoinSpec::Kind::kLeft : sql::JoinSpec::Kind::kInner;
  j.left_key = 1;
  j.right_key = 3;
  p.join = j;
  p.group_keys.push_back(Col(2, kText));
  p.aggregates.push_back(Agg(sql::AggregateKind::kCountStar, nullptr, kInt8));
  p.aggregates.push_back(Agg(sql::AggregateKind::kCount, Col(3, kInt4), kInt8));
  p.aggregates.push_back(Agg(sql::AggregateKind::kSum, Col(4, kNum102), kNumeric));
  Output(&p, "status", 0, kText);
  Output(&p, "rows", 1, kInt8);
  Output(&p, "matched", 2, kInt8);
  Output(&p, "total", 3, kNumeric);
  return p;
}

// SELECT customer_id, sum(100 / customer_id) FROM orders GROUP BY customer_id  (fails on customer 0)
sql::ViewPlan Divide() {
  sql::ViewPlan p;
  p.name = "divide";
  p.fingerprint = "fp-divide";
  p.inputs = {{"public", "orders", {kOCustomer}}};
  p.input_types = {kInt4};
  p.group_keys.push_back(Col(0, kInt4));
  p.aggregates.push_back(Agg(sql::AggregateKind::kSum, std::make_unique<DivExpr>(Const(Datum::Int(100), kInt4), Col(0, kInt4)), kInt8));
  Output(&p, "customer_id", 0, kInt4);
  Output(&p, "s", 1, kInt8);
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Events

using Row = event::Row;
event::Value V(std::string s) { return event::Value::Text(std::move(s)); }
event::Value N() { return event::Value::Null(); }

// An insert of `after` into `t` at `lsn`.
event::ChangeEvent Created(std::shared_ptr<const event::TableSchema> t, Row after, uint64_t lsn) {
  event::ChangeEvent ev;
  ev.op = event::Op::kCreate;
  ev.table = std::move(t);
  ev.after = std::move(after);
  ev.lsn = Lsn(lsn);
  return ev;
}

class Harness {
 public:
  Harness(std::vector<sql::ViewPlan> plans, bool schemas = true) {
    orders_ = Orders();
    customers_ = Customers();
    catalog_["public.orders"] = *orders_;
    catalog_["public.customers"] = *customers_;
    set_.file = "test.sql";
    set_.views = std::move(plans);
    event::EncoderOptions o;
    o.schemas = schemas;
    o.tombstones = false;
    encoder_ = std::make_unique<event::DebeziumEncoder>(o);
    engine_ = std::make_unique<ViewEngine>(&set_, &catalog_, EventSettings{});
  }

  std::string Encode(event::Op op, const std::shared_ptr<event::TableSchema>& t, std::optional<Row> before,
                     std::optional<Row> after) {
    event::ChangeEvent ev;
    ev.op = op;
    ev.table = t;
    ev.before = std::move(before);
    ev.after = std::move(after);
    ev.lsn = Lsn(++lsn_);
    std::vector<event::EncodedRecord> out;
    Status st = encoder_->Encode(ev, 1000, &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    topic_ = out.at(0).topic;
    return *out.at(0).value;
  }

  Status Apply(event::Op op, const std::shared_ptr<event::TableSchema>& t, std::optional<Row> before,
               std::optional<Row> after) {
    std::string value = Encode(op, t, std::move(before), std::move(after));
    return engine_->ApplyRaw(topic_, value);
  }
  Status Order(event::Op op, std::optional<Row> before, std::optional<Row> after) {
    return Apply(op, orders_, std::move(before), std::move(after));
  }
  Status Customer(event::Op op, std::optional<Row> before, std::optional<Row> after) {
    return Apply(op, customers_, std::move(before), std::move(after));
  }

  // View i's rows as text: "a|b|c" per row, NULL as "∅".
  std::vector<std::string> Text(size_t i) {
    auto rows = engine_->Rows(i);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<std::string> out;
    if (!rows.ok()) return out;
    const sql::ViewPlan& plan = engine_->view(i);
    for (const auto& r : rows->rows) {
      std::string s;
      for (size_t c = 0; c < r.size(); ++c) {
        if (c) s += "|";
        s += r[c].is_null() ? "∅" : sql::ToText(r[c], plan.outputs[c].type);
      }
      out.push_back(s);
    }
    return out;
  }

  ViewEngine& engine() { return *engine_; }
  const std::string& topic() const { return topic_; }
  std::shared_ptr<event::TableSchema> orders_, customers_;
  sql::Catalog catalog_;
  sql::ViewSet set_;
  std::unique_ptr<event::DebeziumEncoder> encoder_;
  std::unique_ptr<ViewEngine> engine_;
  uint64_t lsn_ = 100;
  std::string topic_;
};

using Strings = std::vector<std::string>;

// prefix + number (GCC 12's -Wrestrict misfires on "literal" + std::to_string()).
std::string Cat(std::string_view prefix, int i) {
  std::string s(prefix);
  s.append(std::to_string(i));
  return s;
}

std::vector<sql::ViewPlan> Plans(sql::ViewPlan a) {
  std::vector<sql::ViewPlan> v;
  v.push_back(std::move(a));
  return v;
}

TEST(ViewEngineTest, InsertUpdateDeleteAndMinAfterDeletingIt) {
  Harness h(Plans(ByCustomer()));
  using event::Op;
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("1"), V("7"), V("10.50"), V("a")}).ok());
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("2"), V("7"), V("3.25"), V("b")}).ok());
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("3"), V("7"), V("20.00"), V("a")}).ok());
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("4"), V("8"), V("-1.00"), V("a")}).ok());  // filtered out
  EXPECT_EQ(h.Text(0), (Strings{"7|3|33.75|3.25|20.00|2"}));
  // Delete the current minimum: min moves to the next value without a rescan.
  ASSERT_TRUE(h.Order(Op::kDelete, Row{V("2"), V("7"), V("3.25"), V("b")}, {}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"7|2|30.50|10.50|20.00|1"}));
  // Update the maximum away (REPLICA IDENTITY DEFAULT: no before image).
  ASSERT_TRUE(h.Order(Op::kUpdate, {}, Row{V("3"), V("7"), V("1.00"), V("c")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"7|2|11.50|1.00|10.50|2"}));
  // Move a row into the filter and to another group.
  ASSERT_TRUE(h.Order(Op::kUpdate, {}, Row{V("4"), V("9"), V("5.00"), V("a")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"7|2|11.50|1.00|10.50|2", "9|1|5.00|5.00|5.00|1"}));
  // A key-only before image (DEFAULT identity): the stored row is retracted.
  ASSERT_TRUE(h.Order(Op::kDelete, Row{V("4"), N(), N(), N()}, {}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"7|2|11.50|1.00|10.50|2"}));
  // Unknown key: ignored.
  ASSERT_TRUE(h.Order(Op::kDelete, Row{V("99"), N(), N(), N()}, {}).ok());
  EXPECT_EQ(h.engine().stored_rows(), 2u);
  EXPECT_EQ(h.engine().max_lsn(), Lsn(h.lsn_));
  // Snapshot read of an existing key: an upsert, not a second row.
  ASSERT_TRUE(h.Order(Op::kRead, {}, Row{V("1"), V("7"), V("10.50"), V("a")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"7|2|11.50|1.00|10.50|2"}));
}

// Through Kafka a table's topic lost the characters a topic name cannot hold (event::KafkaTopicName):
// the view still finds its events; a table named as the replaced name comes first.
TEST(ViewEngineTest, ReadsATableUnderItsKafkaTopicName) {
  auto hostile = std::make_shared<event::TableSchema>(*Orders());
  hostile->table = "or<d ers";
  sql::Catalog catalog;
  catalog["public.or<d ers"] = *hostile;
  sql::ViewSet set;
  set.file = "test.sql";
  set.views = Plans(ByCustomer());
  set.views[0].inputs[0].table = "or<d ers";
  ViewEngine engine(&set, &catalog, EventSettings{});
  event::EncoderOptions o;
  o.kafka_topic_names = true;
  event::DebeziumEncoder encoder(o);
  event::ChangeEvent ev = Created(hostile, Row{V("1"), V("7"), V("10.50"), V("a")}, 100);
  std::vector<event::EncodedRecord> out;
  ASSERT_TRUE(encoder.Encode(ev, 1000, &out).ok());
  ASSERT_EQ(out.at(0).topic, "dbserver1.public.or_d_ers");
  EXPECT_TRUE(engine.Reads(out.at(0).topic));
  ASSERT_TRUE(engine.ApplyRaw(out.at(0).topic, *out.at(0).value).ok());
  EXPECT_EQ(engine.stored_rows(), 1u);
  EXPECT_TRUE(engine.Reads("dbserver1.public.or<d ers"));  // the embedded pipeline's whole name
  EXPECT_FALSE(engine.Reads("dbserver1.public.or_d_er"));

  // Both "or<d ers" and "or_d_ers" in the views: each topic is its own table's. (A view set of its own:
  // `engine` keeps pointing into `set`, whose plans must not move while it lives.)
  catalog["public.or_d_ers"] = *Orders();
  catalog["public.or_d_ers"].table = "or_d_ers";
  sql::ViewSet set2;
  set2.file = set.file;
  set2.views = Plans(ByCustomer());
  set2.views[0].inputs[0].table = "or<d ers";
  set2.views.push_back(ByCustomer());
  set2.views[1].name = "by_customer_2";
  set2.views[1].inputs[0].table = "or_d_ers";
  ViewEngine both(&set2, &catalog, EventSettings{});
  ev.table = std::make_shared<event::TableSchema>(catalog["public.or_d_ers"]);
  out.clear();
  ASSERT_TRUE(encoder.Encode(ev, 1000, &out).ok());
  ASSERT_TRUE(both.ApplyRaw(out.at(0).topic, *out.at(0).value).ok());
  EXPECT_EQ(both.Stats(0).groups, 0u);
  EXPECT_EQ(both.Stats(1).groups, 1u);
}

TEST(ViewEngineTest, PrimaryKeyChangeAndTruncate) {
  std::vector<sql::ViewPlan> plans;
  plans.push_back(ByCustomer());
  plans.push_back(Totals());
  Harness h(std::move(plans), /*schemas=*/false);
  using event::Op;
  EXPECT_EQ(h.Text(1), (Strings{"0|∅"}));  // one row over no input
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("1"), V("7"), V("10.00"), V("a")}).ok());
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("2"), V("7"), V("5.00"), V("a")}).ok());
  // id 1 -> 3 (the before image carries the old key only).
  ASSERT_TRUE(h.Order(Op::kUpdate, Row{V("1"), N(), N(), N()}, Row{V("3"), V("8"), V("10.00"), V("b")}).ok());
  EXPECT_EQ(h.engine().stored_rows(), 2u);
  EXPECT_EQ(h.Text(0), (Strings{"7|1|5.00|5.00|5.00|1", "8|1|10.00|10.00|10.00|1"}));
  EXPECT_EQ(h.Text(1), (Strings{"2|15.00"}));
  // Deleting the old key now finds nothing.
  ASSERT_TRUE(h.Order(Op::kDelete, Row{V("1"), N(), N(), N()}, {}).ok());
  EXPECT_EQ(h.Text(1), (Strings{"2|15.00"}));
  ASSERT_TRUE(h.Order(Op::kTruncate, {}, {}).ok());
  EXPECT_EQ(h.Text(0), Strings{});
  EXPECT_EQ(h.Text(1), (Strings{"0|∅"}));
  EXPECT_EQ(h.engine().stored_rows(), 0u);
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("1"), V("7"), V("1.00"), V("a")}).ok());
  EXPECT_EQ(h.Text(1), (Strings{"1|1.00"}));
}

TEST(ViewEngineTest, BagRepeatsRowsAndDistinctDoesNot) {
  auto plans = Plans(Bag());
  sql::ViewPlan d = Bag();
  d.name = "distinct";
  d.distinct = true;
  plans.push_back(std::move(d));
  Harness h(std::move(plans));
  using event::Op;
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("1"), V("7"), V("1.00"), V("a")}).ok());
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("2"), V("7"), V("2.00"), V("a")}).ok());
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("3"), N(), V("2.00"), V("a")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"a|7", "a|7", "a|∅"}));  // NULLs last
  EXPECT_EQ(h.Text(1), (Strings{"a|7", "a|∅"}));
  EXPECT_EQ(h.engine().Stats(0).groups, 3u);  // a bag's rows, repeated
  EXPECT_EQ(h.engine().Stats(1).groups, 2u);
  EXPECT_GT(h.engine().Stats(0).state_bytes, 0u);
}

TEST(ViewEngineTest, JoinBothSidesWithLeftNullExtension) {
  std::vector<sql::ViewPlan> plans;
  plans.push_back(CountryJoin(/*left=*/true));
  plans.push_back(CountryJoin(/*left=*/false));
  Harness h(std::move(plans));
  using event::Op;
  ASSERT_TRUE(h.Customer(Op::kCreate, {}, Row{V("1"), V("PL")}).ok());
  ASSERT_TRUE(h.Customer(Op::kCreate, {}, Row{V("2"), V("DE")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"DE|1|0|∅", "PL|1|0|∅"}));  // null-extended
  EXPECT_EQ(h.Text(1), Strings{});
  // A matching order replaces PL's null-extended row.
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("10"), V("1"), V("5.00"), V("a")}).ok());
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("11"), V("1"), V("6.00"), V("a")}).ok());
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("12"), N(), V("7.00"), V("a")}).ok());  // NULL key: no match
  EXPECT_EQ(h.Text(0), (Strings{"DE|1|0|∅", "PL|2|2|11.00"}));
  EXPECT_EQ(h.Text(1), (Strings{"PL|2|2|11.00"}));
  // Move an order from PL to DE, then delete the other PL order: PL becomes null-extended again.
  ASSERT_TRUE(h.Order(Op::kUpdate, {}, Row{V("10"), V("2"), V("5.00"), V("a")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"DE|1|1|5.00", "PL|1|1|6.00"}));
  ASSERT_TRUE(h.Order(Op::kDelete, Row{V("11"), N(), N(), N()}, {}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"DE|1|1|5.00", "PL|1|0|∅"}));
  EXPECT_EQ(h.Text(1), (Strings{"DE|1|1|5.00"}));
  // Left side changes: customer 2 changes country, then its key; then it is deleted.
  ASSERT_TRUE(h.Customer(Op::kUpdate, {}, Row{V("2"), V("CZ")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"CZ|1|1|5.00", "PL|1|0|∅"}));
  ASSERT_TRUE(h.Customer(Op::kUpdate, Row{V("2"), N()}, Row{V("3"), V("CZ")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"CZ|1|0|∅", "PL|1|0|∅"}));
  EXPECT_EQ(h.Text(1), Strings{});
  // The order follows the customer's new key: a right-side update with an unchanged key.
  ASSERT_TRUE(h.Order(Op::kUpdate, {}, Row{V("10"), V("3"), V("5.00"), V("b")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"CZ|1|1|5.00", "PL|1|0|∅"}));
  ASSERT_TRUE(h.Customer(Op::kDelete, Row{V("3"), N()}, {}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"PL|1|0|∅"}));
  EXPECT_EQ(h.Text(1), Strings{});
  // A NULL-keyed order updated to a real key joins.
  ASSERT_TRUE(h.Order(Op::kUpdate, {}, Row{V("12"), V("1"), V("7.00"), V("a")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"PL|1|1|7.00"}));
  // TRUNCATE of the right side brings the null-extended rows back.
  ASSERT_TRUE(h.Order(Op::kTruncate, {}, {}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"PL|1|0|∅"}));
  EXPECT_EQ(h.Text(1), Strings{});
}

TEST(ViewEngineTest, RuntimeErrorLeavesStateUnchanged) {
  std::vector<sql::ViewPlan> plans;
  plans.push_back(Totals());
  plans.push_back(Divide());
  Harness h(std::move(plans));
  using event::Op;
  ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V("1"), V("5"), V("1.00"), V("a")}).ok());
  std::string before;
  h.engine().Save(&before);
  Lsn lsn = h.engine().max_lsn();
  // The insert passes `totals` but fails in `divide`: nothing of it may stay.
  Status st = h.Order(Op::kCreate, {}, Row{V("2"), V("0"), V("2.00"), V("a")});
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("view \"divide\""), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("table public.orders"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("(id)=(2)"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find(Lsn(h.lsn_).ToString()), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("division by zero"), std::string::npos) << st.ToString();
  // A primary-key change whose second half fails: the first half (the delete) is undone too.
  st = h.Order(Op::kUpdate, Row{V("1"), N(), N(), N()}, Row{V("3"), V("0"), V("1.00"), V("a")});
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  std::string after;
  h.engine().Save(&after);
  EXPECT_EQ(before, after);
  EXPECT_EQ(h.engine().max_lsn(), lsn);
  EXPECT_EQ(h.Text(0), (Strings{"1|1.00"}));
  EXPECT_EQ(h.Text(1), (Strings{"5|20"}));
}

TEST(ViewEngineTest, SaveLoadRoundTripAndCorruption) {
  std::vector<sql::ViewPlan> plans;
  plans.push_back(ByCustomer());
  plans.push_back(CountryJoin(true));
  Harness h(std::move(plans));
  using event::Op;
  ASSERT_TRUE(h.Customer(Op::kCreate, {}, Row{V("1"), V("PL")}).ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(h.Order(Op::kCreate, {}, Row{V(std::to_string(i)), V(std::to_string(i % 3)),
                                              V(std::to_string(i) + ".25"), V(i % 2 ? "a" : "b")}).ok());
  }
  Strings t0 = h.Text(0), t1 = h.Text(1);
  std::string saved;
  h.engine().Save(&saved);

  Harness other({});
  other.set_.views.push_back(ByCustomer());
  other.set_.views.push_back(CountryJoin(true));
  other.engine_ = std::make_unique<ViewEngine>(&other.set_, &other.catalog_, EventSettings{});
  ASSERT_TRUE(other.engine().Load(saved).ok());
  EXPECT_EQ(other.Text(0), t0);
  EXPECT_EQ(other.Text(1), t1);
  EXPECT_EQ(other.engine().max_lsn(), h.engine().max_lsn());
  // The loaded state keeps working: min after deleting the minimum, joins via the rebuilt index.
  ASSERT_TRUE(other.Order(Op::kDelete, Row{V("0"), N(), N(), N()}, {}).ok());
  ASSERT_TRUE(h.Order(Op::kDelete, Row{V("0"), N(), N(), N()}, {}).ok());
  EXPECT_EQ(other.Text(0), h.Text(0));
  ASSERT_TRUE(other.Customer(Op::kCreate, {}, Row{V("2"), V("DE")}).ok());
  ASSERT_TRUE(h.Customer(Op::kCreate, {}, Row{V("2"), V("DE")}).ok());
  EXPECT_EQ(other.Text(1), h.Text(1));

  // Every flipped byte and every truncation is Corruption, and leaves the engine cleared.
  for (size_t i = 0; i < saved.size(); i += std::max<size_t>(1, saved.size() / 97)) {
    std::string bad = saved;
    bad[i] ^= 0x20;
    Status st = other.engine().Load(bad);
    EXPECT_TRUE(st.IsCorruption()) << i << " " << st.ToString();
    EXPECT_EQ(other.engine().stored_rows(), 0u);
  }
  for (size_t n : {size_t{0}, size_t{5}, saved.size() / 2, saved.size() - 1}) {
    Status st = other.engine().Load(std::string_view(saved).substr(0, n));
    EXPECT_TRUE(st.IsCorruption()) << n << " " << st.ToString();
  }
  // Other views: FailedPrecondition.
  Harness changed(Plans(ByCustomer()));
  Status st = changed.engine().Load(saved);
  EXPECT_TRUE(st.IsFailedPrecondition()) << st.ToString();
  // Other table columns: FailedPrecondition.
  Harness retyped({});
  retyped.catalog_["public.orders"].columns[2].type_modifier = NumericTypmod(12, 2);
  retyped.set_.views.push_back(ByCustomer());
  retyped.set_.views.push_back(CountryJoin(true));
  retyped.engine_ = std::make_unique<ViewEngine>(&retyped.set_, &retyped.catalog_, EventSettings{});
  st = retyped.engine().Load(saved);
  EXPECT_TRUE(st.IsFailedPrecondition()) << st.ToString();
}

TEST(ViewEngineTest, TableWithoutKeyUsesValueIdentity) {
  auto t = std::make_shared<event::TableSchema>();
  t->schema = "public";
  t->table = "log";
  t->columns = {{"status", 25, -1, false, true}, {"customer_id", 23, -1, false, true}};
  sql::ViewPlan p = Bag();
  p.inputs = {{"public", "log", {0, 1}}};
  Harness h(Plans(std::move(p)));
  h.catalog_["public.log"] = *t;
  h.engine_ = std::make_unique<ViewEngine>(&h.set_, &h.catalog_, EventSettings{});
  using event::Op;
  ASSERT_TRUE(h.Apply(Op::kCreate, t, {}, Row{V("a"), V("1")}).ok());
  ASSERT_TRUE(h.Apply(Op::kCreate, t, {}, Row{V("a"), V("1")}).ok());
  ASSERT_TRUE(h.Apply(Op::kCreate, t, {}, Row{V("b"), V("2")}).ok());
  ASSERT_TRUE(h.Apply(Op::kUpdate, t, Row{V("a"), V("1")}, Row{V("c"), V("1")}).ok());
  EXPECT_EQ(h.Text(0), (Strings{"a|1", "b|2", "c|1"}));
  ASSERT_TRUE(h.Apply(Op::kDelete, t, Row{V("a"), V("1")}, {}).ok());
  ASSERT_TRUE(h.Apply(Op::kDelete, t, Row{V("a"), V("1")}, {}).ok());  // no such row left: ignored
  EXPECT_EQ(h.Text(0), (Strings{"b|2", "c|1"}));
}

// ---------------------------------------------------------------------------------------------------
// Column values in every form capture writes

TEST(EventValuesTest, EveryTypeDecodes) {
  auto t = std::make_shared<event::TableSchema>();
  t->schema = "public";
  t->table = "typed";
  t->columns = {{"id", 23, -1, true, false},
                {"b", 16, -1, false, true},
                {"i2", 21, -1, false, true},
                {"i8", 20, -1, false, true},
                {"f8", 701, -1, false, true},
                {"n", 1700, NumericTypmod(12, 3), false, true},
                {"nu", 1700, -1, false, true},
                {"d", 1082, -1, false, true},
                {"ts3", 1114, 3, false, true},
                {"ts", 1114, -1, false, true},
                {"tz", 1184, -1, false, true},
                {"u", 2950, -1, false, true}};
  for (event::DecimalMode mode : {event::DecimalMode::kPrecise, event::DecimalMode::kString, event::DecimalMode::kDouble}) {
    sql::ViewPlan p;
    p.name = "all";
    p.inputs = {{"public", "typed", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}};
    std::vector<Type> types = {kBool, {TypeId::kInt2}, kInt8, {TypeId::kFloat8}, {TypeId::kNumeric, 12, 3}, kNumeric,
                               {TypeId::kDate}, {TypeId::kTimestamp}, {TypeId::kTimestamp}, {TypeId::kTimestampTz}, kText};
    p.input_types = types;
    for (size_t i = 0; i < types.size(); ++i) p.group_keys.push_back(Col(static_cast<int>(i), types[i]));
    p.aggregates.push_back(Agg(sql::AggregateKind::kCountStar, nullptr, kInt8));
    for (size_t i = 0; i < types.size(); ++i) Output(&p, Cat("c", i), static_cast<int>(i), types[i]);
    p.bag = true;
    sql::Catalog catalog{{"public.typed", *t}};
    sql::ViewSet set;
    set.views.push_back(std::move(p));
    ViewEngine engine(&set, &catalog, EventSettings{mode});
    event::EncoderOptions o;
    o.decimal_mode = mode;
    event::DebeziumEncoder enc(o);
    event::ChangeEvent ev = Created(t, Row{V("1"), V("t"), V("-7"), V("9000000000"), V("2.5"), V("-12.345"),
                                           V("123456789.000001"), V("2024-01-02"), V("2024-01-02 10:00:00.123"),
                                           V("2024-01-02 10:00:00.123456"), V("2024-01-02 12:00:00.5+02"),
                                           V("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")},
                                    77);
    std::vector<event::EncodedRecord> out;
    ASSERT_TRUE(enc.Encode(ev, 0, &out).ok());
    ASSERT_TRUE(engine.ApplyRaw(out[0].topic, *out[0].value).ok());
    auto rows = engine.Rows(0);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->rows.size(), 1u);
    const auto& r = rows->rows[0];
    EXPECT_TRUE(r[0].b);
    EXPECT_EQ(r[1].i, -7);
    EXPECT_EQ(r[2].i, 9000000000);
    EXPECT_EQ(r[3].f, 2.5);
    const int64_t day = 19724;  // 2024-01-02
    EXPECT_EQ(r[6].i, day);
    EXPECT_EQ(r[7].i, (day * 86400 + 36000) * 1000000 + 123000);
    EXPECT_EQ(r[8].i, (day * 86400 + 36000) * 1000000 + 123456);
    EXPECT_EQ(r[9].i, (day * 86400 + 36000) * 1000000 + 500000);
    EXPECT_EQ(r[10].s, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    if (mode == event::DecimalMode::kDouble) {
      EXPECT_EQ(r[4].kind, Datum::Kind::kFloat);
      EXPECT_DOUBLE_EQ(r[4].f, -12.345);
    } else {
      EXPECT_EQ(sql::ToText(r[4], {TypeId::kNumeric, 12, 3}), "-12.345");
      EXPECT_EQ(sql::ToText(r[5], kNumeric), "123456789.000001");
    }
  }
}

TEST(EventValuesTest, NumericBeyond38DigitsNamesTableKeyLsn) {
  auto t = std::make_shared<event::TableSchema>();
  t->schema = "public";
  t->table = "big";
  t->columns = {{"id", 23, -1, true, false}, {"n", 1700, -1, false, true}};
  sql::ViewPlan p;
  p.name = "big";
  p.inputs = {{"public", "big", {1}}};
  p.input_types = {kNumeric};
  p.aggregates.push_back(Agg(sql::AggregateKind::kSum, Col(0, kNumeric), kNumeric));
  Output(&p, "s", 0, kNumeric);
  p.always_one_group = true;
  sql::Catalog catalog{{"public.big", *t}};
  sql::ViewSet set;
  set.views.push_back(std::move(p));
  ViewEngine engine(&set, &catalog, EventSettings{});
  event::DebeziumEncoder enc({});
  event::ChangeEvent ev;
  ev.table = t;
  ev.lsn = Lsn(0x1234);
  ev.after = Row{V("5"), V("1" + std::string(39, '0'))};
  std::vector<event::EncodedRecord> out;
  ASSERT_TRUE(enc.Encode(ev, 0, &out).ok());
  Status st = engine.ApplyRaw(out[0].topic, *out[0].value);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("table public.big, key (id)=(5), LSN 0/1234"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("38 digits"), std::string::npos) << st.ToString();
  // 38 nines fit.
  ev.after = Row{V("6"), V(std::string(38, '9'))};
  out.clear();
  ASSERT_TRUE(enc.Encode(ev, 0, &out).ok());
  EXPECT_TRUE(engine.ApplyRaw(out[0].topic, *out[0].value).ok());
  EXPECT_EQ(engine.stored_rows(), 1u);
  // Tombstones and unread topics are ignored; garbage is Corruption.
  EXPECT_TRUE(engine.ApplyRaw(out[0].topic, std::nullopt).ok());
  EXPECT_TRUE(engine.ApplyRaw("dbserver1.public.other", "{}").ok());
  EXPECT_TRUE(engine.ApplyRaw(out[0].topic, "{\"op\":").IsCorruption());
}

TEST(EventValuesTest, Helpers) {
  int64_t us;
  ASSERT_TRUE(ParseIsoTimestamp("1969-12-31T23:59:59.999999Z", &us));
  EXPECT_EQ(us, -1);
  ASSERT_TRUE(ParseIsoTimestamp("2024-01-02T10:00:00Z", &us));
  EXPECT_EQ(us, (19724LL * 86400 + 36000) * 1000000);
  EXPECT_FALSE(ParseIsoTimestamp("2024-01-02 10:00:00", &us));
  __int128 n;
  int scale;
  ASSERT_TRUE(ParseDecimal("-0012.340", &n, &scale));
  EXPECT_TRUE(n == -12340 && scale == 3);
  EXPECT_FALSE(ParseDecimal("1" + std::string(38, '0'), &n, &scale));
  ASSERT_TRUE(UnscaledFromBytes(std::string("\xff\x7f", 2), &n));
  EXPECT_TRUE(n == -129);
  ASSERT_TRUE(UnscaledFromBytes(std::string(20, '\xff'), &n));
  EXPECT_TRUE(n == -1);
}

TEST(RowCodecTest, SortKeysOrderLikeCompareAndRoundTrip) {
  std::vector<Datum> values = {Datum::Null(), Datum::Int(0), Datum::Int(-1), Datum::Int(INT64_MIN), Datum::Int(INT64_MAX),
                               Datum::Int(7)};
  std::vector<Datum> nums = {Datum::Null(), Datum::Numeric(0, 3), Datum::Numeric(150, 2), Datum::Numeric(15, 1),
                             Datum::Numeric(155, 2), Datum::Numeric(-15, 1), Datum::Numeric(-155, 2),
                             Datum::Numeric(1, 38), Datum::Numeric(-1, 38), Datum::Numeric(sql::kMaxNumericUnscaled, 0),
                             Datum::Numeric(-sql::kMaxNumericUnscaled, 0), Datum::Numeric(99, 0), Datum::Numeric(100, 0),
                             Datum::Numeric(5, 2)};
  std::vector<Datum> floats = {Datum::Null(), Datum::Float(0.0), Datum::Float(-0.0), Datum::Float(-1.5),
                               Datum::Float(std::numeric_limits<double>::infinity()),
                               Datum::Float(-std::numeric_limits<double>::infinity()),
                               Datum::Float(std::numeric_limits<double>::quiet_NaN()), Datum::Float(1e-300)};
  std::vector<Datum> texts = {Datum::Null(), Datum::Text(""), Datum::Text("a"), Datum::Text(std::string("a\0b", 3)),
                              Datum::Text("ab"), Datum::Text("\xc3\xa9"), Datum::Text("b")};
  std::vector<Datum> bools = {Datum::Null(), Datum::Bool(false), Datum::Bool(true)};
  for (const auto* set : {&values, &nums, &floats, &texts, &bools}) {
    for (const Datum& a : *set) {
      std::string ka;
      PutSortKey(&ka, a);
      std::string_view in = ka;
      Datum back;
      ASSERT_TRUE(GetSortKey(&in, &back));
      EXPECT_TRUE(in.empty());
      EXPECT_EQ(sql::Compare(a, back), 0) << sql::ToText(a, kNumeric);
      for (const Datum& b : *set) {
        std::string kb;
        PutSortKey(&kb, b);
        int want = sql::Compare(a, b);
        int got = ka.compare(kb);
        EXPECT_EQ(want < 0, got < 0);
        EXPECT_EQ(want == 0, got == 0);
      }
    }
  }
}

TEST(RowCodecTest, ByteTable) {
  ByteTable t;
  for (int i = 0; i < 1000; ++i) t.Put(Cat("k", i), std::string(i % 40, 'v'));
  for (int i = 0; i < 1000; i += 2) ASSERT_TRUE(t.Erase(Cat("k", i)));
  for (int i = 0; i < 1000; ++i) t.Put(Cat("k", i), Cat("w", i));
  EXPECT_EQ(t.size(), 1000u);
  std::string_view v;
  ASSERT_TRUE(t.Get("k999", &v));
  EXPECT_EQ(v, "w999");
  EXPECT_FALSE(t.Get("k1000", &v));
  std::string d;
  PutDatum(&d, Datum::Numeric(150, 2), true);
  std::string e;
  PutDatum(&e, Datum::Numeric(15, 1), true);
  EXPECT_EQ(d, e);
}

// A table that grew and then emptied shrinks (a join key's set: reading its keys costs about its size,
// not the most it held), and keeps every entry findable through the shrinks; Keys lists each live key
// once; the batched lookup (Hash, PrefetchSlot, PrefetchBlock, Get with the hash) finds what Get finds.
TEST(RowCodecTest, ByteTableShrinksAndListsItsKeys) {
  ByteTable t;
  for (int i = 0; i < 5000; ++i) t.Put(Cat("k", i), Cat("v", i));
  const uint64_t full = t.bytes();
  for (int i = 0; i < 5000; ++i) {
    if (i % 500 != 0) {
      ASSERT_TRUE(t.Erase(Cat("k", i)));
    }
  }
  EXPECT_EQ(t.size(), 10u);
  EXPECT_LT(t.bytes(), full / 20);  // the slots shrank with the entries
  std::vector<std::string_view> keys;
  t.Keys(&keys);
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> want;
  for (int i = 0; i < 5000; i += 500) want.push_back(Cat("k", i));
  std::sort(want.begin(), want.end());
  ASSERT_EQ(keys.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(keys[i], want[i]);
  }
  for (int i = 0; i < 5000; ++i) {
    const std::string k = Cat("k", i);
    const uint64_t h = ByteTable::Hash(k);
    t.PrefetchSlot(h);
    t.PrefetchBlock(h);
    std::string_view v;
    ASSERT_EQ(t.Get(k, h, &v), i % 500 == 0) << k;
    if (i % 500 == 0) {
      EXPECT_EQ(v, Cat("v", i));
    }
  }
  ASSERT_TRUE(t.Erase("k0"));
  for (int i = 500; i < 5000; i += 500) {
    ASSERT_TRUE(t.Erase(Cat("k", i)));
  }
  EXPECT_EQ(t.size(), 0u);
  keys.clear();
  t.Keys(&keys);
  EXPECT_TRUE(keys.empty());
  ByteTable empty;
  empty.PrefetchSlot(1);
  empty.PrefetchBlock(1);
  std::string_view v;
  EXPECT_FALSE(empty.Get("x", ByteTable::Hash("x"), &v));
}

// ---------------------------------------------------------------------------------------------------
// Parquet output. The file's types and values were checked with DuckDB by hand:
//   CDC_VIEW_PARQUET=/tmp/view.parquet analytics_engine_test --gtest_filter=*Parquet*
//   node tests/node/duckdb_query.mjs "DESCRIBE SELECT * FROM '/tmp/view.parquet'"   (and SELECT *)

TEST(ParquetResultTest, EveryOutputType) {
  sql::ViewPlan p;
  p.name = "typed";
  std::vector<Type> types = {kBool, kInt4, kInt8, kNum102, kNumeric, {TypeId::kFloat4}, {TypeId::kFloat8}, kText,
                             {TypeId::kDate}, {TypeId::kTimestamp}, {TypeId::kTimestampTz}};
  for (size_t i = 0; i < types.size(); ++i) Output(&p, Cat("c", static_cast<int>(i)), static_cast<int>(i), types[i]);
  ViewRows rows;
  rows.rows.push_back({Datum::Bool(true), Datum::Int(-5), Datum::Int(9000000000), Datum::Numeric(-1250, 2),
                       Datum::Numeric(1, 17) /* rounds half away from zero at scale 16 */, Datum::Float(1.5),
                       Datum::Float(-2.25), Datum::Text("zażółć"), Datum::Int(19724),
                       Datum::Int((19724LL * 86400 + 36000) * 1000000 + 123456),
                       Datum::Int((19724LL * 86400 + 36000) * 1000000)});
  rows.rows.push_back(std::vector<Datum>(types.size()));  // all NULL
  rows.rows.push_back({Datum::Bool(false), Datum::Int(0), Datum::Int(-1), Datum::Numeric(99999999, 0),
                       Datum::Numeric(-123456789, 3), Datum::Float(0), Datum::Float(0), Datum::Text(""),
                       Datum::Int(-1), Datum::Int(-1), Datum::Int(-1)});
  auto bytes = EncodeParquet(p, rows);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(bytes->substr(0, 4), "PAR1");
  EXPECT_EQ(bytes->substr(bytes->size() - 4), "PAR1");
  if (const char* path = std::getenv("CDC_VIEW_PARQUET")) {
    FILE* f = std::fopen(path, "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes->data(), 1, bytes->size(), f);
    std::fclose(f);
  }
  // numeric(10,2) holding a value beyond 10 digits: an error naming view and column.
  rows.rows.resize(1);
  rows.rows[0][3] = Datum::Numeric(static_cast<__int128>(1) << 60, 2);
  auto bad = EncodeParquet(p, rows);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("view \"typed\", column \"c3\""), std::string::npos) << bad.status().ToString();
}

// ---------------------------------------------------------------------------------------------------
// Memory with 1,000,000 groups (issue 16's target: <= 200 MB RSS for a count/sum/avg view). Slow, so
// disabled; run with --gtest_also_run_disabled_tests --gtest_filter=*Million*.

int64_t RssKb() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  int64_t kb = 0;
  while (std::fgets(line, sizeof(line), f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kb = std::atoll(line + 6);
  }
  std::fclose(f);
  return kb;
}

TEST(ViewEngineMemoryTest, DISABLED_MillionGroupsCountSumAvg) {
  sql::ViewPlan p;
  p.name = "million";
  p.inputs = {{"public", "orders", {kOCustomer, kOAmount}}};
  p.input_types = {kInt4, kNum102};
  p.group_keys.push_back(Col(0, kInt4));
  p.aggregates.push_back(Agg(sql::AggregateKind::kCountStar, nullptr, kInt8));
  p.aggregates.push_back(Agg(sql::AggregateKind::kSum, Col(1, kNum102), kNumeric));
  p.aggregates.push_back(Agg(sql::AggregateKind::kAvg, Col(1, kNum102), kNumeric));
  Output(&p, "customer_id", 0, kInt4);
  Output(&p, "n", 1, kInt8);
  Output(&p, "s", 2, kNumeric);
  Output(&p, "a", 3, kNumeric);
  Harness h(Plans(std::move(p)), /*schemas=*/false);
  const int n = 1000000;
  std::vector<std::string> events;
  events.reserve(10000);
  int64_t rss0 = RssKb();
  double apply_s = 0;
  for (int i = 0; i < n; i += 10000) {
    events.clear();
    for (int j = i; j < i + 10000; ++j) {
      std::string id = std::to_string(j);
      events.push_back(h.Encode(event::Op::kCreate, h.orders_, {},
                                Row{V(id), V(id), V(std::to_string(j % 1000) + ".25"), V("a")}));
    }
    // CPU time, not wall time: the machine may be shared.
    std::clock_t t0 = std::clock();
    for (const std::string& value : events) ASSERT_TRUE(h.engine().ApplyRaw(h.topic(), value).ok());
    apply_s += static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
  }
  events.clear();
  events.shrink_to_fit();
  int64_t rss1 = RssKb();
  std::printf("ApplyRaw insert: %.2f us CPU per event\n", apply_s * 1e6 / n);
  ViewStats st = h.engine().Stats(0);
  EXPECT_EQ(st.groups, static_cast<uint64_t>(n));
  // 100,000 updates (DEFAULT identity: no before image) that move a row to another group.
  double update_s = 0;
  for (int i = 0; i < 100000; i += 10000) {
    events.clear();
    for (int j = i; j < i + 10000; ++j) {
      std::string id = std::to_string(j * 7 % n);
      events.push_back(h.Encode(event::Op::kUpdate, h.orders_, {},
                                Row{V(id), V(std::to_string(j * 13 % n)), V(std::to_string(j % 500) + ".50"), V("b")}));
    }
    std::clock_t t0 = std::clock();
    for (const std::string& value : events) ASSERT_TRUE(h.engine().ApplyRaw(h.topic(), value).ok());
    update_s += static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
  }
  std::printf("ApplyRaw update: %.2f us CPU per event\n", update_s * 1e6 / 100000);
  {
    // The streamed file first (Rows() would leave its peak in the RSS).
    auto streamed = EncodeParquet(h.engine(), 0);
    ASSERT_TRUE(streamed.ok());
    int64_t rss_streamed = RssKb();
    auto rows = h.engine().Rows(0);
    ASSERT_TRUE(rows.ok());
    int64_t rss_rows = RssKb();
    auto file = EncodeParquet(h.engine().view(0), *rows);
    ASSERT_TRUE(file.ok());
    EXPECT_TRUE(*file == *streamed);  // the same bytes
    std::printf("EncodeParquet(engine): %zu bytes, RSS %lld kB; Rows(): %zu rows, RSS %lld kB with them; "
                "EncodeParquet(rows): RSS %lld kB\n",
                streamed->size(), static_cast<long long>(rss_streamed), rows->rows.size(), static_cast<long long>(rss_rows),
                static_cast<long long>(RssKb()));
  }
  std::printf("rows %llu groups %llu group bytes %llu (%.1f per group); RSS +%lld kB (%.1f bytes per row+group), total %lld kB\n",
              static_cast<unsigned long long>(h.engine().stored_rows()), static_cast<unsigned long long>(st.groups),
              static_cast<unsigned long long>(st.state_bytes), static_cast<double>(st.state_bytes) / st.groups,
              static_cast<long long>(rss1 - rss0), (rss1 - rss0) * 1024.0 / n, static_cast<long long>(rss1));
}

// ---------------------------------------------------------------------------------------------------
// Randomized: incremental state == recomputation from the final rows.

using ModelRow = std::vector<Datum>;  // catalog order

// The view evaluated from scratch over input rows (insert-only aggregation).
std::vector<std::vector<Datum>> BruteForce(const sql::ViewPlan& p, const std::vector<std::vector<Datum>>& inputs) {
  struct G {
    int64_t rows = 0;
    std::vector<Datum> keys;
    std::vector<sql::AggregateState> aggs;
  };
  std::map<std::string, G> groups;
  if (p.always_one_group) groups[""].aggs.resize(p.aggregates.size());
  for (const auto& in : inputs) {
    Datum tmp;
    if (p.where) {
      EXPECT_TRUE(p.where->Eval(in.data(), &tmp).ok());
      if (tmp.kind != Datum::Kind::kBool || !tmp.b) continue;
    }
    std::string key;
    std::vector<Datum> keys;
    for (const auto& g : p.group_keys) {
      EXPECT_TRUE(g->Eval(in.data(), &tmp).ok());
      PutDatum(&key, tmp, true);
      keys.push_back(tmp);
    }
    G& g = groups[key];
    if (g.aggs.empty()) g.aggs.resize(p.aggregates.size());
    g.keys = keys;
    ++g.rows;
    for (size_t j = 0; j < p.aggregates.size(); ++j) {
      Datum arg;
      if (p.aggregates[j].arg) {
        EXPECT_TRUE(p.aggregates[j].arg->Eval(in.data(), &arg).ok());
      }
      EXPECT_TRUE(sql::Accumulate(p.aggregates[j], &g.aggs[j], arg, +1).ok());
    }
  }
  std::vector<std::vector<Datum>> out;
  for (auto& [k, g] : groups) {
    std::vector<Datum> grow = g.keys;
    grow.resize(p.group_keys.size());
    for (size_t j = 0; j < p.aggregates.size(); ++j) {
      Datum d;
      EXPECT_TRUE(sql::Finalize(p.aggregates[j], sql::FinalState(p.aggregates, g.aggs, j), &d).ok());
      grow.push_back(d);
    }
    if (p.having) {
      Datum h;
      EXPECT_TRUE(p.having->Eval(grow.data(), &h).ok());
      if (h.kind != Datum::Kind::kBool || !h.b) continue;
    }
    std::vector<Datum> row;
    for (const auto& o : p.outputs) {
      Datum d;
      EXPECT_TRUE(o.expr->Eval(grow.data(), &d).ok());
      row.push_back(d);
    }
    for (int64_t r = 0; r < (p.bag && !p.distinct ? g.rows : 1); ++r) out.push_back(row);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    for (size_t c = 0; c < a.size(); ++c) {
      int r = sql::Compare(a[c], b[c]);
      if (r != 0) return r < 0;
    }
    return false;
  });
  return out;
}

std::vector<Datum> Pick(const ModelRow* row, const std::vector<int>& cols) {
  std::vector<Datum> out;
  for (int c : cols) out.push_back(row ? (*row)[c] : Datum::Null());
  return out;
}

std::vector<std::vector<Datum>> Inputs(const sql::ViewPlan& p, const std::map<int, ModelRow>& orders,
                                       const std::map<int, ModelRow>& customers) {
  std::vector<std::vector<Datum>> out;
  auto table = [&](int s) -> const std::map<int, ModelRow>& { return p.inputs[s].table == "orders" ? orders : customers; };
  if (!p.join) {
    for (const auto& [id, r] : table(0)) out.push_back(Pick(&r, p.inputs[0].columns));
    return out;
  }
  int n0 = static_cast<int>(p.inputs[0].columns.size());
  for (const auto& [lid, l] : table(0)) {
    std::vector<Datum> left = Pick(&l, p.inputs[0].columns);
    bool matched = false;
    for (const auto& [rid, r] : table(1)) {
      std::vector<Datum> right = Pick(&r, p.inputs[1].columns);
      const Datum& a = left[p.join->left_key];
      const Datum& b = right[p.join->right_key - n0];
      if (a.is_null() || b.is_null() || sql::Compare(a, b) != 0) continue;
      matched = true;
      std::vector<Datum> in = left;
      in.insert(in.end(), right.begin(), right.end());
      out.push_back(in);
    }
    if (!matched && p.join->kind == sql::JoinSpec::Kind::kLeft) {
      std::vector<Datum> in = left;
      in.resize(left.size() + p.inputs[1].columns.size());
      out.push_back(in);
    }
  }
  return out;
}

// Random inserts, snapshot reads, updates (FULL and DEFAULT identity, primary-key changes), deletes
// (full and key-only before images) and TRUNCATEs on orders and customers; every 10 steps each
// view's rows must equal the view evaluated from scratch over the model's rows.
void RandomWorkload(const std::function<std::vector<sql::ViewPlan>()>& make_plans, uint32_t seeds) {
  for (uint32_t seed = 1; seed <= seeds; ++seed) {
    Harness h(make_plans(), seed % 2 == 0);
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    std::map<int, ModelRow> orders, customers;
    std::map<int, Row> order_text, customer_text;
    const char* statuses[] = {"a", "b", "c"};
    const char* countries[] = {"PL", "DE", "CZ"};
    auto order_row = [&](int id) {
      Row r{V(std::to_string(id)), pick(6) == 0 ? N() : V(std::to_string(pick(5))), N(), V(statuses[pick(3)])};
      if (pick(8) != 0) {
        int cents = pick(20001) - 1000;
        r[2] = V((cents < 0 ? "-" : "") + std::to_string(std::abs(cents) / 100) + "." +
                 std::to_string(std::abs(cents) % 100 / 10) + std::to_string(std::abs(cents) % 10));
      }
      return r;
    };
    auto to_model = [&](const Row& r, const event::TableSchema& t) {
      ModelRow m;
      for (size_t c = 0; c < r.size(); ++c) {
        if (r[c].kind == event::Value::Kind::kNull) {
          m.push_back(Datum::Null());
        } else if (t.columns[c].type_oid == 23) {
          m.push_back(Datum::Int(std::stoll(r[c].text)));
        } else if (t.columns[c].type_oid == 1700) {
          __int128 n;
          int s;
          EXPECT_TRUE(ParseDecimal(r[c].text, &n, &s));
          m.push_back(Datum::Numeric(n, static_cast<int16_t>(s)));
        } else {
          m.push_back(Datum::Text(r[c].text));
        }
      }
      return m;
    };
    using event::Op;
    for (int step = 0; step < 600; ++step) {
      bool on_orders = pick(3) != 0;
      auto& model = on_orders ? orders : customers;
      auto& text = on_orders ? order_text : customer_text;
      auto schema = on_orders ? h.orders_ : h.customers_;
      int id = pick(on_orders ? 12 : 7);
      int what = pick(100);
      Status st;
      Row row = on_orders ? order_row(id) : Row{V(std::to_string(id)), pick(5) == 0 ? N() : V(countries[pick(3)])};
      Row key_only(row.size(), N());
      key_only[0] = V(std::to_string(id));
      if (what < 1) {
        st = h.Apply(Op::kTruncate, schema, {}, {});
        model.clear();
        text.clear();
      } else if (what < 40 || !model.count(id)) {
        st = h.Apply(pick(2) ? Op::kCreate : Op::kRead, schema, {}, row);
        model[id] = to_model(row, *schema);
        text[id] = row;
      } else if (what < 70) {
        // Update: FULL or DEFAULT identity; sometimes a primary-key change to a free id.
        int to = pick(on_orders ? 12 : 7);
        if (pick(4) == 0 && !model.count(to)) {
          row[0] = V(std::to_string(to));
          st = h.Apply(Op::kUpdate, schema, pick(2) ? text[id] : key_only, row);
          model.erase(id);
          text.erase(id);
          model[to] = to_model(row, *schema);
          text[to] = row;
        } else {
          st = h.Apply(Op::kUpdate, schema, pick(2) ? std::optional<Row>(text[id]) : std::nullopt, row);
          model[id] = to_model(row, *schema);
          text[id] = row;
        }
      } else {
        st = h.Apply(Op::kDelete, schema, pick(2) ? text[id] : key_only, {});
        model.erase(id);
        text.erase(id);
      }
      ASSERT_TRUE(st.ok()) << "seed " << seed << " step " << step << ": " << st.ToString();
      if (step % 50 == 49) {
        // Round-trip through a checkpoint now and then.
        std::string saved;
        h.engine().Save(&saved);
        ASSERT_TRUE(h.engine().Load(saved).ok());
      }
      if (step % 10 != 9 && step != 599) continue;
      for (size_t v = 0; v < h.set_.views.size(); ++v) {
        const sql::ViewPlan& p = h.set_.views[v];
        auto want = BruteForce(p, Inputs(p, orders, customers));
        auto got = h.engine().Rows(v);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        // The chunked rows equal Rows(), in the same order.
        ViewRows chunked;
        ASSERT_TRUE(h.engine().ForEachRowChunk(v, 3, [&](const ViewRows& c) {
          EXPECT_LE(c.rows.size(), 3u);
          chunked.rows.insert(chunked.rows.end(), c.rows.begin(), c.rows.end());
          return Status::OK();
        }).ok());
        ASSERT_EQ(chunked.rows.size(), got->rows.size()) << p.name;
        for (size_t r = 0; r < chunked.rows.size(); ++r) {
          for (size_t c = 0; c < chunked.rows[r].size(); ++c) {
            ASSERT_EQ(sql::Compare(chunked.rows[r][c], got->rows[r][c]), 0) << p.name << " row " << r << " col " << c;
          }
        }
        ASSERT_EQ(got->rows.size(), want.size()) << "seed " << seed << " step " << step << " view " << p.name;
        for (size_t r = 0; r < want.size(); ++r) {
          for (size_t c = 0; c < want[r].size(); ++c) {
            ASSERT_EQ(sql::Compare(got->rows[r][c], want[r][c]), 0)
                << "seed " << seed << " step " << step << " view " << p.name << " row " << r << " col " << c << ": "
                << sql::ToText(got->rows[r][c], p.outputs[c].type) << " vs " << sql::ToText(want[r][c], p.outputs[c].type);
          }
        }
      }
    }
  }
}

TEST(ViewEngineTest, RandomizedAgainstRecomputation) {
  RandomWorkload([] {
    std::vector<sql::ViewPlan> plans;
    plans.push_back(ByCustomer());
    plans.push_back(Totals());
    plans.push_back(Bag());
    plans.push_back(CountryJoin(true));
    plans.push_back(CountryJoin(false));
    plans.push_back(SelfJoin(true));
    plans.push_back(SelfJoin(false));
    return plans;
  }, 8);
}

// The same with plans from src/sql's LoadViews (the parser's conventions: join key positions,
// bags, DISTINCT, HAVING, always_one_group).
TEST(ViewEngineTest, RandomizedSqlViewsAgainstRecomputation) {
  const char* text = R"sql(
CREATE VIEW by_customer AS SELECT customer_id, count(*) AS n, sum(amount) AS s, min(amount) AS lo,
  max(amount) AS hi, count(DISTINCT status) AS statuses, avg(amount) AS a
  FROM orders WHERE amount > 0 GROUP BY customer_id HAVING count(*) > 1;
CREATE VIEW totals AS SELECT count(*) AS n, sum(amount) AS s, max(status) AS m FROM orders;
CREATE VIEW bag AS SELECT status, customer_id, amount * 2 AS twice FROM orders WHERE status <> 'c';
CREATE VIEW statuses AS SELECT DISTINCT status FROM orders;
CREATE VIEW by_country AS SELECT c.country, count(o.id) AS n, sum(o.amount) AS s
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.country;
CREATE VIEW pairs AS SELECT o.status, c.country, count(*) AS n
  FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY o.status, c.country;
CREATE VIEW self AS SELECT o.status, count(p.id) AS n, min(p.amount) AS lo
  FROM orders o LEFT JOIN orders p ON o.customer_id = p.id GROUP BY o.status;
CREATE VIEW shaped AS SELECT upper(status) AS s, coalesce(customer_id, -1) AS c, bool_or(amount > 10) AS b
  FROM orders GROUP BY 1, 2;
)sql";
  sql::Catalog catalog;
  catalog["public.orders"] = *Orders();
  catalog["public.customers"] = *Customers();
  {
    auto loaded = sql::LoadViews("views.sql", text, catalog);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ASSERT_EQ(loaded->views.size(), 8u);
  }
  // Each run takes fresh plans (a ViewPlan owns its expressions): load again per seed.
  RandomWorkload([&] {
    auto loaded = sql::LoadViews("views.sql", text, catalog);
    EXPECT_TRUE(loaded.ok());
    return std::move(loaded->views);
  }, 6);
}

}  // namespace
}  // namespace cdc::analytics
