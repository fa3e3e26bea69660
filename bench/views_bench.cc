// views-bench: the views engine (analytics::ViewEngine over sql::LoadViews plans) on Debezium events
// made by the project's own encoder, for bench/views_bench.sh (docs/BENCHMARKS.md, issue 16).
//
//   views-bench compare --dir DIR --views FILE [--rows N] [--changes M] [--runs R] [--seed S]
//     Benchmark (a). Generates a table big(id bigint primary key, grp int, val numeric(12,2),
//     name text, ts timestamptz, flag boolean) of N rows and dim(id int primary key, region text)
//     of 900 rows, then M changes of big and dim, and writes, for the peers:
//       DIR/big.tsv, DIR/dim.tsv   the rows in COPY text format
//       DIR/changes.sql            the M changes as SQL statements, in order, one transaction
//       DIR/raw-kafka-data/        every event (inserts, then the changes) as the raw sink stores it
//     Events are encoded as capture encodes them (event::DebeziumEncoder) with schemas.enable=false,
//     tombstones on, and decimal.handling.mode=string (so that DuckDB can cast the numeric values
//     in SQL); an update without a key change has before=null and a delete the key only (REPLICA
//     IDENTITY DEFAULT); a primary-key change is a delete and a create, as capture emits it.
//     Then it loads the views file against a catalog built here, applies the inserts to a
//     ViewEngine (timed in chunks, excluding the encoding), saves the state, and R times: restores
//     it (untimed; run 1 uses the fresh state) and times applying the change events. Prints
//     key=value lines and writes each view's rows in PostgreSQL's text form to DIR/cdcpipe/<view>.txt.
//
//   With CDCPIPE_BENCH_PERF_CTL=CTL,ACK (the fifos of `perf record --control fifo:CTL,ACK -D -1`), perf
//   samples only the change batches.
//
//   views-bench memory --kind K --groups G [--rows N] [--baseline]
//     Benchmark (c). One view of kind K over m(id bigint primary key, g bigint, val numeric(12,2),
//     name text) with N rows whose g takes G values (row i in group i % G):
//       count     SELECT g, count(*) ... GROUP BY g       sum       SELECT g, sum(val) ...
//       avg       SELECT g, avg(val) ...                  minmax    SELECT g, min(val), max(val) ...
//       distinct  SELECT g, count(DISTINCT name) ...      csa       SELECT g, count(*), sum(val), avg(val) ...
//     --baseline instead loads a one-group view that reads the same columns (`SELECT count(*) FROM m
//     WHERE g IS NULL AND ...`, matching no row): its row store is the same, so the difference of the
//     two processes' RSS growth is what the groups cost. Events are encoded and applied one at a
//     time (nothing else grows). Prints RSS before and after (after malloc_trim), the engine's
//     groups and state_bytes, and the row store's rows.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "analytics/view_engine.h"
#include "event/debezium_encoder.h"
#include "lake/raw_fixture_writer.h"
#include "sql/plan.h"
#include "store/object_store.h"

namespace {

using cdc::Status;
using cdc::event::Column;
using cdc::event::Row;
using cdc::event::TableSchema;
using cdc::event::Value;

constexpr uint32_t kInt8 = 20, kInt4 = 23, kText = 25, kNumeric = 1700, kTimestamptz = 1184, kBool = 16;
constexpr int32_t kNumeric122 = ((12 << 16) | 2) + 4;  // numeric(12,2)'s atttypmod

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// `perf record --control fifo:CTL,ACK -D -1` samples only the change batches when
// CDCPIPE_BENCH_PERF_CTL=CTL,ACK names its fifos: Perf("enable") before each batch, Perf("disable")
// after it (each waits for perf's ack, outside the timed part).
void Perf(const char* command) {
  static FILE* ctl = nullptr;
  static FILE* ack = nullptr;
  const char* env = std::getenv("CDCPIPE_BENCH_PERF_CTL");
  if (env == nullptr) return;
  if (ctl == nullptr) {
    std::string s(env);
    size_t comma = s.find(',');
    ctl = std::fopen(s.substr(0, comma).c_str(), "w");
    ack = comma == std::string::npos ? nullptr : std::fopen(s.substr(comma + 1).c_str(), "r");
    if (ctl == nullptr || ack == nullptr) {
      std::fprintf(stderr, "views-bench: CDCPIPE_BENCH_PERF_CTL=%s: cannot open the fifos\n", env);
      std::exit(1);
    }
  }
  std::fprintf(ctl, "%s\n", command);
  std::fflush(ctl);
  char reply[16];
  if (std::fgets(reply, sizeof reply, ack) == nullptr) std::exit(1);
}

double CpuNow() {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

long RssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "views-bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& st, const char* what) {
  if (!st.ok()) Die(std::string(what) + ": " + st.ToString());
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) Die("cannot read " + path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Cents -> "-12.34".
std::string Money(int64_t cents) {
  std::string s = cents < 0 ? "-" : "";
  int64_t a = cents < 0 ? -cents : cents;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(a / 100), static_cast<long long>(a % 100));
  return s + buf;
}

// Microseconds since the epoch -> PostgreSQL's timestamptz text in UTC ("2026-03-01 10:00:00.123456+00").
std::string Timestamptz(int64_t us) {
  time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
  return buf;
}

// ---------------------------------------------------------------------------------------------------
// (a) compare

struct BigRow {
  int64_t id = 0;
  int32_t grp = 0;
  std::optional<int64_t> val;  // cents
  std::optional<std::string> name;
  int64_t ts_us = 0;
  bool flag = false;
};

class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed) {}

  BigRow NewRow(int64_t id) {
    BigRow r;
    r.id = id;
    r.grp = 1 + static_cast<int32_t>(rng_() % 1000);
    r.val = NewVal();
    if (rng_() % 100 != 0) r.name = NewName();
    r.ts_us = NewTs();
    r.flag = rng_() % 3 == 0;
    return r;
  }
  std::optional<int64_t> NewVal() {
    if (rng_() % 100 == 0) return std::nullopt;
    int64_t v = static_cast<int64_t>(rng_() % 1000000);
    return rng_() % 20 == 0 ? -v : v;
  }
  std::string NewName() {
    // 20,000 names, some not ASCII.
    uint64_t n = rng_() % 20000;
    return (n % 7 == 0 ? "imię-" : "name-") + std::to_string(n);
  }
  int64_t NewTs() {
    // 2026-01-01 00:00:00 UTC + up to a year.
    return 1767225600ll * 1000000 + static_cast<int64_t>(rng_() % (365ull * 86400 * 1000000));
  }
  uint64_t Next() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

Row BigImage(const BigRow& r) {
  Row row(6);
  row[0] = Value::Text(std::to_string(r.id));
  row[1] = Value::Text(std::to_string(r.grp));
  row[2] = r.val ? Value::Text(Money(*r.val)) : Value::Null();
  row[3] = r.name ? Value::Text(*r.name) : Value::Null();
  row[4] = Value::Text(Timestamptz(r.ts_us));
  row[5] = Value::Text(r.flag ? "t" : "f");
  return row;
}

Row KeyOnly(int64_t id, size_t columns) {
  Row row(columns);
  row[0] = Value::Text(std::to_string(id));
  return row;
}

std::string CopyLine(const Row& row) {
  std::string s;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) s += '\t';
    s += row[i].kind == Value::Kind::kNull ? "\\N" : row[i].text;
  }
  s += '\n';
  return s;
}

std::string SqlLiteral(const Value& v) {
  if (v.kind == Value::Kind::kNull) return "NULL";
  std::string s = "'";
  for (char c : v.text) {
    if (c == '\'') s += '\'';
    s += c;
  }
  return s + "'";
}

// Encodes events into raw records (topic, key, value; tombstones included).
class Events {
 public:
  Events() {
    cdc::event::EncoderOptions o;
    o.schemas = false;
    o.decimal_mode = cdc::event::DecimalMode::kString;
    o.tombstones = true;
    encoder_ = std::make_unique<cdc::event::DebeziumEncoder>(o);
  }
  void Add(cdc::event::Op op, const std::shared_ptr<const TableSchema>& t, std::optional<Row> before,
           std::optional<Row> after) {
    cdc::event::ChangeEvent ev;
    ev.op = op;
    ev.table = t;
    ev.before = std::move(before);
    ev.after = std::move(after);
    ev.xid = 1000 + static_cast<uint32_t>(lsn_ / 100);
    ev.lsn = cdc::Lsn(lsn_ += 64);
    ev.commit_lsn = cdc::Lsn(lsn_ + 32);
    ev.commit_time_us = 1767225600ll * 1000000 + static_cast<int64_t>(lsn_);
    ev.order_in_tx = 1;
    out_.clear();
    Check(encoder_->Encode(ev, 1767225600000, &out_), "encode");
    for (auto& r : out_) records.push_back({std::move(r.topic), std::move(r.key), std::move(r.value), 0});
    ++events;
  }
  std::vector<cdc::lake::testutil::FixtureEvent> records;
  uint64_t events = 0;

 private:
  std::unique_ptr<cdc::event::DebeziumEncoder> encoder_;
  std::vector<cdc::event::EncodedRecord> out_;
  uint64_t lsn_ = 0x10000000;
};

std::shared_ptr<TableSchema> BigSchema() {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 16400;
  t->schema = "public";
  t->table = "big";
  t->columns = {{"id", kInt8, -1, true, false},          {"grp", kInt4, -1, false, true},
                {"val", kNumeric, kNumeric122, false, true}, {"name", kText, -1, false, true},
                {"ts", kTimestamptz, -1, false, true},   {"flag", kBool, -1, false, true}};
  return t;
}

std::shared_ptr<TableSchema> DimSchema() {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 16410;
  t->schema = "public";
  t->table = "dim";
  t->columns = {{"id", kInt4, -1, true, false}, {"region", kText, -1, false, true}};
  return t;
}

std::string RegionOf(int id, int variant) { return "region-" + std::to_string((id + variant) % 25); }

// Applies records to the engine; returns the seconds spent in ApplyRaw only (wall clock; `cpu` gets
// the process CPU seconds, which a busy shared machine does not inflate).
double Apply(cdc::analytics::ViewEngine* engine, const std::vector<cdc::lake::testutil::FixtureEvent>& records,
             double* cpu) {
  double t0 = Now(), c0 = CpuNow();
  for (const auto& r : records) {
    std::optional<std::string_view> v;
    if (r.value) v = *r.value;
    Check(engine->ApplyRaw(r.topic, v), "apply");
  }
  *cpu += CpuNow() - c0;
  return Now() - t0;
}

int Compare(const std::string& dir, const std::string& views_file, long rows, long changes, int runs,
            uint64_t seed) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  auto big = BigSchema();
  auto dim = DimSchema();
  cdc::sql::Catalog catalog{{"public.big", *big}, {"public.dim", *dim}};
  auto views = cdc::sql::LoadViews(views_file, ReadFile(views_file), catalog);
  if (!views.ok()) Die(views.status().ToString());
  cdc::analytics::EventSettings settings;
  settings.decimal_mode = cdc::event::DecimalMode::kString;
  auto engine = std::make_unique<cdc::analytics::ViewEngine>(&*views, &catalog, settings);

  cdc::store::StoreOptions so;
  so.local_fsync = false;
  auto store = cdc::store::OpenStore(dir, so);
  if (!store.ok()) Die(store.status().ToString());
  cdc::lake::testutil::RawFixtureWriter raw(store->get());

  Workload w(seed);
  std::ofstream big_tsv(dir + "/big.tsv"), dim_tsv(dir + "/dim.tsv");
  std::vector<int64_t> live;  // the ids big holds, for picking a row to change
  std::unordered_map<int64_t, BigRow> rows_by_id;
  rows_by_id.reserve(static_cast<size_t>(rows) + 4096);

  // Initial rows: dim first, then big, in chunks of 100,000 events (one committed raw batch each).
  double load_seconds = 0, load_cpu = 0;
  uint64_t load_events = 0;
  const long chunk = 100000;
  {
    Events ev;
    for (int id = 1; id <= 900; ++id) {
      Row r = {Value::Text(std::to_string(id)), Value::Text(RegionOf(id, 0))};
      dim_tsv << CopyLine(r);
      ev.Add(cdc::event::Op::kCreate, dim, std::nullopt, r);
    }
    for (long i = 1; i <= rows; ++i) {
      BigRow r = w.NewRow(i);
      Row img = BigImage(r);
      big_tsv << CopyLine(img);
      ev.Add(cdc::event::Op::kCreate, big, std::nullopt, std::move(img));
      live.push_back(r.id);
      rows_by_id.emplace(r.id, std::move(r));
      if (static_cast<long>(ev.records.size()) >= chunk || i == rows) {
        Check(raw.CommitBatch(ev.records, 1).status(), "write raw batch");
        load_seconds += Apply(engine.get(), ev.records, &load_cpu);
        load_events += ev.events;
        ev.records.clear();
        ev.events = 0;
      }
    }
  }
  big_tsv.close();
  dim_tsv.close();
  std::printf("load_events=%llu\nload_apply_seconds=%.3f\nload_apply_cpu_seconds=%.3f\nload_rate=%.0f\n"
              "load_cpu_rate=%.0f\nrss_after_load_mb=%.1f\n",
              static_cast<unsigned long long>(load_events), load_seconds, load_cpu, load_events / load_seconds,
              load_events / load_cpu, RssKb() / 1024.0);

  // The changes: per 10,000: 3,900 val updates, 2,400 grp (+val) updates, 500 name/flag/ts updates,
  // 1,500 deletes, 1,640 inserts, 50 primary-key changes, 10 dim region changes (each moves about
  // 1,100 big rows between regions in the join view).
  Events ch;
  std::ofstream sql(dir + "/changes.sql");
  sql << "BEGIN;\n";
  int64_t next_id = rows + 1, next_pk = 2000000001;
  struct Mix {
    const char* what;
    long per10k;
  };
  const Mix mix[] = {{"val", 3900}, {"grp", 2400}, {"other", 500}, {"delete", 1500},
                     {"insert", 1640}, {"pk", 50},  {"dim", 10}};
  std::vector<int> plan;
  for (int k = 0; k < 7; ++k) {
    for (long j = 0; j < mix[k].per10k * changes / 10000; ++j) plan.push_back(k);
  }
  std::mt19937_64 shuf(seed + 7);
  std::shuffle(plan.begin(), plan.end(), shuf);
  long counts[7] = {0};
  for (int k : plan) {
    ++counts[k];
    size_t idx = static_cast<size_t>(w.Next() % live.size());
    int64_t id = live[idx];
    BigRow& r = rows_by_id[id];
    std::string what = mix[k].what;
    if (what == "val" || what == "grp" || what == "other") {
      std::string set;
      if (what == "val") {
        r.val = w.NewVal();
        set = "val = " + (r.val ? Money(*r.val) : "NULL");
      } else if (what == "grp") {
        r.grp = 1 + static_cast<int32_t>(w.Next() % 1000);
        set = "grp = " + std::to_string(r.grp);
        if (w.Next() % 2) {
          r.val = w.NewVal();
          set += ", val = " + (r.val ? Money(*r.val) : "NULL");
        }
      } else {
        if (w.Next() % 5 == 0) r.name = std::nullopt; else r.name = w.NewName();
        r.flag = !r.flag;
        r.ts_us = w.NewTs();
        Row img = BigImage(r);
        set = "name = " + SqlLiteral(img[3]) + ", flag = " + (r.flag ? "true" : "false") + ", ts = " + SqlLiteral(img[4]);
      }
      sql << "UPDATE big SET " << set << " WHERE id = " << id << ";\n";
      ch.Add(cdc::event::Op::kUpdate, big, std::nullopt, BigImage(r));
    } else if (what == "delete") {
      sql << "DELETE FROM big WHERE id = " << id << ";\n";
      ch.Add(cdc::event::Op::kDelete, big, KeyOnly(id, 6), std::nullopt);
      rows_by_id.erase(id);
      live[idx] = live.back();
      live.pop_back();
    } else if (what == "insert") {
      BigRow n = w.NewRow(next_id++);
      Row img = BigImage(n);
      sql << "INSERT INTO big VALUES (" << SqlLiteral(img[0]) << ", " << SqlLiteral(img[1]) << ", "
          << SqlLiteral(img[2]) << ", " << SqlLiteral(img[3]) << ", " << SqlLiteral(img[4]) << ", "
          << SqlLiteral(img[5]) << ");\n";
      ch.Add(cdc::event::Op::kCreate, big, std::nullopt, std::move(img));
      live.push_back(n.id);
      rows_by_id.emplace(n.id, std::move(n));
    } else if (what == "pk") {
      // Capture turns a key change into a delete of the old key and a create of the new one.
      BigRow moved = r;
      moved.id = next_pk++;
      sql << "UPDATE big SET id = " << moved.id << " WHERE id = " << id << ";\n";
      ch.Add(cdc::event::Op::kDelete, big, KeyOnly(id, 6), std::nullopt);
      ch.Add(cdc::event::Op::kCreate, big, std::nullopt, BigImage(moved));
      rows_by_id.erase(id);
      live[idx] = moved.id;
      rows_by_id.emplace(moved.id, std::move(moved));
    } else {  // dim
      int did = 1 + static_cast<int>(w.Next() % 900);
      std::string region = RegionOf(did, 1 + static_cast<int>(w.Next() % 24));
      sql << "UPDATE dim SET region = '" << region << "' WHERE id = " << did << ";\n";
      ch.Add(cdc::event::Op::kUpdate, dim, std::nullopt, Row{Value::Text(std::to_string(did)), Value::Text(region)});
    }
  }
  sql << "COMMIT;\n";
  sql.close();
  Check(raw.CommitBatch(ch.records, 1).status(), "write raw batch");
  std::printf("changes=%zu\nchange_events=%llu\nchange_records=%zu\n", plan.size(),
              static_cast<unsigned long long>(ch.events), ch.records.size());
  std::printf("change_mix=val:%ld grp:%ld other:%ld delete:%ld insert:%ld pk:%ld dim:%ld\n", counts[0], counts[1],
              counts[2], counts[3], counts[4], counts[5], counts[6]);

  std::string saved;
  double t0 = Now();
  engine->Save(&saved);
  std::printf("checkpoint_bytes=%zu\ncheckpoint_save_seconds=%.3f\n", saved.size(), Now() - t0);
  double best = 1e9, best_cpu = 1e9;
  std::string all, all_cpu;
  for (int run = 1; run <= runs; ++run) {
    if (run > 1) {
      t0 = Now();
      Check(engine->Load(saved), "load checkpoint");
      if (run == 2) std::printf("checkpoint_load_seconds=%.3f\n", Now() - t0);
    }
    double cpu = 0;
    Perf("enable");
    double w0 = Now();
    double t = Apply(engine.get(), ch.records, &cpu);
    Perf("disable");
    // CLOCK_MONOTONIC seconds: `perf record -k CLOCK_MONOTONIC` samples inside this window are the
    // change batch's (perf script --time START,END).
    std::printf("apply_window_%d=%.6f,%.6f\n", run, w0, Now());
    best = std::min(best, t);
    best_cpu = std::min(best_cpu, cpu);
    all += (all.empty() ? "" : ",") + std::to_string(t);
    all_cpu += (all_cpu.empty() ? "" : ",") + std::to_string(cpu);
  }
  std::printf("apply_seconds=%s\napply_cpu_seconds=%s\napply_best_seconds=%.6f\napply_best_cpu_seconds=%.6f\napply_rate=%.0f\n",
              all.c_str(), all_cpu.c_str(), best, best_cpu, ch.events / best);
  std::printf("stored_rows=%llu\nrss_mb=%.1f\n", static_cast<unsigned long long>(engine->stored_rows()),
              RssKb() / 1024.0);

  fs::create_directories(dir + "/cdcpipe");
  for (size_t i = 0; i < engine->view_count(); ++i) {
    const cdc::sql::ViewPlan& plan_i = engine->view(i);
    auto vr = engine->Rows(i);
    if (!vr.ok()) Die(vr.status().ToString());
    std::ofstream out(dir + "/cdcpipe/" + plan_i.name + ".txt");
    for (const auto& row : vr->rows) {
      for (size_t c = 0; c < row.size(); ++c) {
        if (c) out << '|';
        if (!row[c].is_null()) out << cdc::sql::ToText(row[c], plan_i.outputs[c].type);
      }
      out << '\n';
    }
    auto st = engine->Stats(i);
    std::printf("view %s rows=%zu groups=%llu state_bytes=%llu\n", plan_i.name.c_str(), vr->rows.size(),
                static_cast<unsigned long long>(st.groups), static_cast<unsigned long long>(st.state_bytes));
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// (c) memory

int Memory(const std::string& kind, long rows, long groups, bool baseline) {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 16420;
  t->schema = "public";
  t->table = "m";
  t->columns = {{"id", kInt8, -1, true, false},
                {"g", kInt8, -1, false, true},
                {"val", kNumeric, kNumeric122, false, true},
                {"name", kText, -1, false, true}};
  std::string select, reads;
  if (kind == "count") select = "count(*) AS n", reads = "g IS NULL";
  else if (kind == "sum") select = "sum(val) AS s", reads = "g IS NULL AND val IS NULL";
  else if (kind == "avg") select = "avg(val) AS a", reads = "g IS NULL AND val IS NULL";
  else if (kind == "minmax") select = "min(val) AS lo, max(val) AS hi", reads = "g IS NULL AND val IS NULL";
  else if (kind == "distinct") select = "count(DISTINCT name) AS d", reads = "g IS NULL AND name IS NULL";
  else if (kind == "csa") select = "count(*) AS n, sum(val) AS s, avg(val) AS a", reads = "g IS NULL AND val IS NULL";
  else Die("unknown --kind " + kind + " (count|sum|avg|minmax|distinct|csa)");
  std::string text = baseline ? "CREATE VIEW v AS SELECT count(*) AS n FROM m WHERE " + reads + ";\n"
                              : "CREATE VIEW v AS SELECT g, " + select + " FROM m GROUP BY g;\n";
  cdc::sql::Catalog catalog{{"public.m", *t}};
  auto views = cdc::sql::LoadViews("memory.sql", text, catalog);
  if (!views.ok()) Die(views.status().ToString());
  cdc::analytics::EventSettings settings;
  settings.decimal_mode = cdc::event::DecimalMode::kString;
  cdc::analytics::ViewEngine engine(&*views, &catalog, settings);

  cdc::event::EncoderOptions o;
  o.schemas = false;
  o.decimal_mode = cdc::event::DecimalMode::kString;
  cdc::event::DebeziumEncoder encoder(o);
  std::vector<cdc::event::EncodedRecord> out;
  std::mt19937_64 rng(1);
  cdc::event::ChangeEvent ev;
  ev.op = cdc::event::Op::kCreate;
  ev.table = t;
  ev.after.emplace(4);
  malloc_trim(0);
  long rss0 = RssKb();
  double t0 = Now();
  for (long i = 0; i < rows; ++i) {
    Row& r = *ev.after;
    r[0] = Value::Text(std::to_string(i + 1));
    r[1] = Value::Text(std::to_string(i % groups));
    r[2] = Value::Text(Money(static_cast<int64_t>(rng() % 100000000)));  // ~all distinct
    r[3] = Value::Text("name-" + std::to_string(i + 1));                 // all distinct
    ev.lsn = cdc::Lsn(0x1000000 + static_cast<uint64_t>(i));
    out.clear();
    Check(encoder.Encode(ev, 0, &out), "encode");
    Check(engine.ApplyRaw(out[0].topic, *out[0].value), "apply");
  }
  double secs = Now() - t0;
  malloc_trim(0);
  long rss1 = RssKb();
  auto st = engine.Stats(0);
  std::printf("kind=%s baseline=%d rows=%ld groups_wanted=%ld groups=%llu state_bytes=%llu stored_rows=%llu "
              "rss_before_kb=%ld rss_after_kb=%ld rss_delta_kb=%ld seconds=%.2f\n",
              kind.c_str(), baseline ? 1 : 0, rows, groups, static_cast<unsigned long long>(st.groups),
              static_cast<unsigned long long>(st.state_bytes), static_cast<unsigned long long>(engine.stored_rows()),
              rss0, rss1, rss1 - rss0, secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: views-bench compare --dir DIR --views FILE [--rows N --changes M --runs R --seed S]\n"
                 "       views-bench memory --kind count|sum|avg|minmax|distinct|csa --groups G [--rows N] [--baseline]\n");
    return 2;
  }
  std::string mode = argv[1], dir, views, kind;
  long rows = 1000000, changes = 10000, groups = 1000000;
  int runs = 3;
  uint64_t seed = 1;
  bool baseline = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--dir") dir = next();
    else if (a == "--views") views = next();
    else if (a == "--rows") rows = std::atol(next().c_str());
    else if (a == "--changes") changes = std::atol(next().c_str());
    else if (a == "--runs") runs = std::atoi(next().c_str());
    else if (a == "--seed") seed = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--kind") kind = next();
    else if (a == "--groups") groups = std::atol(next().c_str());
    else if (a == "--baseline") baseline = true;
    else Die("unknown argument " + a);
  }
  if (mode == "compare") {
    if (dir.empty() || views.empty()) Die("compare needs --dir and --views");
    return Compare(dir, views, rows, changes, runs, seed);
  }
  if (mode == "memory") return Memory(kind, rows, groups, baseline);
  Die("unknown mode " + mode);
}
