// The fault harness (issue 19 item 1, docs/RELIABILITY.md): one driver for a CI test (a short schedule)
// and bench/fault_bench.sh (CDCPIPE_FAULT_SECONDS=300 per path). It runs a paced workload of inserts, updates,
// deletes and primary-key changes against klienci while it injects a seeded random mixture of faults,
// one at a time, each followed by its repair and a wait until everything committed before the repair is
// in the output (the time to recover):
//   - embedded `cdcpipe run`, output and checkpoint on S3 (s3rver behind the SigV4 proxy), PostgreSQL
//     through a TcpProxy (tests/support/tcp_proxy.h): kill -9 of run, PostgreSQL fast and immediate
//     restarts, S3 5xx answers, S3 connection resets, slow S3 answers, and PostgreSQL black-holed (every
//     connection open now and every new one hangs: open, silent, never closed);
//   - `cdcpipe capture` + `cdcpipe stream` through a librdkafka mock broker, local output: kill -9 of
//     either, PostgreSQL fast and immediate restarts, the broker down and up, and the broker hung (it
//     reads requests and answers none).
// A hung connection must be detected by cdcpipe's own timeouts, which the harness shortens
// (--replication-timeout 4s, socket.timeout.ms=3000): such a fault lasts that much longer, so that the
// timeout fires while it lasts.
//
// Every workload transaction also writes what it changed into fault_audit (not captured), in the same
// transaction, so a transaction cut by a restart is in the audit exactly when it committed. At the end
// the committed output is replayed against the audit: every committed change is in it (lost = 0), exactly
// once for `run`, at least once for the Kafka path (the duplicates are counted), nothing that was not
// committed, and each key's changes in commit order. At each kill -9 of `run`, the slot's confirmed LSN
// is checked against the output: every transaction that ended before it is committed there.
//
// Environment: CDCPIPE_FAULT_SEED (default: random), CDCPIPE_FAULT_SECONDS (per path, default 15),
// CDCPIPE_FAULT_REPORT (a file the figures are appended to, as JSON lines, for the bench),
// CDCPIPE_FAULT_KINDS (comma-separated: only these kinds, for investigating one; a path none of whose
// kinds is named is skipped), CDCPIPE_FAULT_LOGS (a directory the processes' logs are copied to at the
// end, for investigating).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "fault_components.h"
#include "pg/connection.h"
#include "support/tcp_proxy.h"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// One workload transaction's effect, as fault_audit recorded it.
struct AuditRow {
  int64_t seq = 0;
  std::string op;  // c, u, d, k (primary key change)
  int64_t id = 0, new_id = 0;
  std::string v_old, v_new;
};

// A change event as the output holds it, identified by (op, key, v): v is the email column, which each
// change sets to a fresh value of the sequence fault_v ("v123"); a delete carries its before image's.
struct ChangeKey {
  std::string op;
  int64_t id;
  std::string v;
  bool operator<(const ChangeKey& o) const { return std::tie(op, id, v) < std::tie(o.op, o.id, o.v); }
};

// The change events of one audit row, in order.
std::vector<ChangeKey> EventsOf(const AuditRow& a) {
  if (a.op == "c") return {{"c", a.id, a.v_new}};
  if (a.op == "u") return {{"u", a.id, a.v_new}};
  if (a.op == "d") return {{"d", a.id, a.v_old}};
  return {{"d", a.id, a.v_old}, {"c", a.new_id, a.v_new}};  // a key change: delete of the old key, create of the new
}

// A paced single-session workload: transactions of 1-4 random changes every ~20 ms on one connection (a
// transaction cut by a PostgreSQL restart fails, the driver connects again and goes on; the audit says
// whether it committed). After a failure it reads the live ids again.
class Workload {
 public:
  Workload(PgCluster& pg, const std::string& db, uint32_t seed) : conninfo_(pg.Conninfo(db)), rng_(seed) {}
  ~Workload() { Stop(); }

  static void CreateTables(PgCluster& pg, const std::string& db) {
    pg.Psql(db,
            "CREATE SEQUENCE fault_v; CREATE TABLE fault_audit (seq bigserial PRIMARY KEY, op text NOT NULL, "
            "id int, new_id int, v_old text, v_new text, lsn_after pg_lsn)");
  }
  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t transactions() const { return ok_; }
  int64_t failed() const { return failed_; }

 private:
  void Loop() {
    while (!stop_) {
      if (!conn_) {
        auto c = pg::PgConnection::Connect(conninfo_);
        auto r = c.ok() ? c->Exec("SELECT id FROM klienci WHERE id >= 1000000") : Result<pg::PgResult>(c.status());
        if (!r.ok()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        live_.clear();
        for (int i = 0; i < r->rows(); ++i) live_.push_back(std::stoi(std::string(r->Get(i, 0))));
        conn_ = std::make_unique<pg::PgConnection>(std::move(*c));
      }
      std::string sql = "BEGIN;\n";
      int n = std::uniform_int_distribution<int>(1, 4)(rng_);
      for (int i = 0; i < n; ++i) sql += Change();
      // After the commit: an LSN at or after this transaction's end (the confirmed-LSN check's bound).
      sql +=
          "COMMIT;\nUPDATE fault_audit SET lsn_after = pg_current_wal_insert_lsn() WHERE seq > "
          "(SELECT coalesce(max(seq), 0) FROM fault_audit WHERE lsn_after IS NOT NULL);\n";
      if (conn_->Run(sql).ok()) {
        ++ok_;
      } else {
        ++failed_;
        conn_.reset();  // a new session, and the live ids read again
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // One random change, audited in the same statement. Updates the model of live ids.
  std::string Change() {
    int kind = std::uniform_int_distribution<int>(0, 9)(rng_);
    if (live_.size() < 20) kind = 0;
    const std::string v = "'v' || nextval('fault_v')";
    if (kind <= 3) {
      int id = next_id_++;
      live_.push_back(id);
      return "WITH w AS (INSERT INTO klienci VALUES (" + std::to_string(id) + ", 'F', " + v +
             ", 'Polska', NULL) ON CONFLICT DO NOTHING RETURNING id, email) INSERT INTO fault_audit (op, id, "
             "new_id, v_new) SELECT 'c', id, id, email FROM w;\n";
    }
    size_t at = std::uniform_int_distribution<size_t>(0, live_.size() - 1)(rng_);
    int id = live_[at];
    const std::string sid = std::to_string(id);
    if (kind <= 6) {
      return "WITH w AS (UPDATE klienci SET email = " + v + " WHERE id = " + sid +
             " RETURNING id, email) INSERT INTO fault_audit (op, id, new_id, v_new) SELECT 'u', id, id, email FROM "
             "w;\n";
    }
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(at));
    if (kind <= 8) {
      return "WITH w AS (DELETE FROM klienci WHERE id = " + sid +
             " RETURNING id, email) INSERT INTO fault_audit (op, id, v_old) SELECT 'd', id, email FROM w;\n";
    }
    int to = next_id_++;
    live_.push_back(to);
    return "WITH o AS (SELECT id, email FROM klienci WHERE id = " + sid +
           "), w AS (UPDATE klienci k SET id = " + std::to_string(to) + ", email = " + v +
           " FROM o WHERE k.id = o.id RETURNING o.id AS old_id, o.email AS old_v, k.id, k.email) INSERT INTO "
           "fault_audit (op, id, new_id, v_old, v_new) SELECT 'k', old_id, id, old_v, email FROM w;\n";
  }

  std::string conninfo_;
  std::unique_ptr<pg::PgConnection> conn_;
  std::mt19937 rng_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ok_{0}, failed_{0};
  std::vector<int> live_;
  int next_id_ = 1000000;
};

// What the harness measured for one path.
struct Figures {
  std::map<std::string, int> survived;                 // fault kind -> times injected and recovered from
  std::map<std::string, std::vector<double>> recover;  // fault kind -> seconds from repair to caught up
  int64_t changes = 0, events = 0, lost = 0, duplicated = 0, unexpected = 0, order_errors = 0;
};

class FaultHarness : public PipelineHarness {
 protected:
  void SetUp() override {
    PipelineHarness::SetUp();
    const char* s = std::getenv("CDCPIPE_FAULT_SEED");
    seed_ = s && *s ? static_cast<uint32_t>(std::strtoul(s, nullptr, 10)) : std::random_device{}();
    std::printf("fault harness seed: %u (CDCPIPE_FAULT_SEED=%u reproduces the schedule)\n", seed_, seed_);
    std::fflush(stdout);
    rng_.seed(seed_);
    seconds_ = EnvInt("CDCPIPE_FAULT_SECONDS", 15);
    Workload::CreateTables(pg(), db_);
  }
  void TearDown() override {
    if (const char* keep = std::getenv("CDCPIPE_FAULT_LOGS"); keep && *keep) {
      std::error_code ec;
      std::filesystem::create_directories(keep, ec);
      for (const auto& e : std::filesystem::directory_iterator(dir_.path(), ec)) {
        if (e.path().extension() == ".log") {
          std::filesystem::copy_file(e.path(), std::filesystem::path(keep) / e.path().filename(),
                                     std::filesystem::copy_options::overwrite_existing, ec);
        }
      }
    }
    PipelineHarness::TearDown();
  }

  std::vector<AuditRow> ReadAudit(int64_t max_seq = -1) {
    std::string where = max_seq >= 0 ? " WHERE seq <= " + std::to_string(max_seq) : "";
    std::string out =
        Sql("SELECT seq, op, id, coalesce(new_id, 0), coalesce(v_old, ''), coalesce(v_new, '') FROM "
            "fault_audit" +
            where + " ORDER BY seq");
    std::vector<AuditRow> rows;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      std::vector<std::string> f;
      std::stringstream ls(line);
      for (std::string x; std::getline(ls, x, '|');) f.push_back(x);
      f.resize(6);
      rows.push_back({std::stoll(f[0]), f[1], std::stoll(f[2]), std::stoll(f[3]), f[4], f[5]});
    }
    return rows;
  }
  int64_t AuditMaxSeq() {
    CommandResult r = pg().PsqlResult(db_, "SELECT coalesce(max(seq), 0) FROM fault_audit");
    return r.exit_code == 0 ? std::stoll(r.out) : -1;
  }

  // The workload's change events in the committed output, in output order per key (topic partition
  // offset order; a key always goes to the same partition).
  struct OutEvent {
    int64_t partition, offset;
    ChangeKey key;
  };
  std::vector<OutEvent> ReadOutput() {
    CommittedOutput c = Committed();
    if (c.root.empty()) return {};
    std::string out = QueryCommitted(
        c.root,
        "SELECT \"partition\", \"offset\", coalesce(json_extract_string(value, '$.payload.op'), "
        "json_extract_string(value, '$.op')), coalesce(json_extract(key, '$.payload.id'), json_extract(key, "
        "'$.id'))::BIGINT, CASE WHEN coalesce(json_extract_string(value, '$.payload.op'), json_extract_string(value, "
        "'$.op')) = 'd' THEN coalesce(json_extract_string(value, '$.payload.before.email'), json_extract_string(value, "
        "'$.before.email')) ELSE coalesce(json_extract_string(value, '$.payload.after.email'), "
        "json_extract_string(value, '$.after.email')) END FROM raw WHERE topic = 'dbserver1.public.klienci' AND value "
        "IS NOT NULL ORDER BY \"partition\", \"offset\"",
        dir_ / "harness-files.csv", c.uri_prefix);
    std::vector<OutEvent> events;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line);
      if (j[2].get<std::string>() == "r") continue;  // the initial snapshot
      events.push_back({j[0].get<int64_t>(),
                        j[1].get<int64_t>(),
                        {j[2].get<std::string>(), j[3].get<int64_t>(), j[4].is_null() ? "" : j[4].get<std::string>()}});
    }
    return events;
  }

  // True when every change of the audit rows up to max_seq is in the output.
  bool CaughtUp(int64_t max_seq) {
    std::set<ChangeKey> have;
    for (const OutEvent& e : ReadOutput()) have.insert(e.key);
    for (const AuditRow& a : ReadAudit(max_seq)) {
      for (const ChangeKey& k : EventsOf(a)) {
        if (!have.count(k)) return false;
      }
    }
    return true;
  }

  // Replays the output against the whole audit (see the file comment).
  void Verify(bool exactly_once, Figures* f) {
    std::vector<AuditRow> audit = ReadAudit();
    std::map<ChangeKey, int64_t> seq_of;
    for (const AuditRow& a : audit) {
      for (const ChangeKey& k : EventsOf(a)) {
        seq_of[k] = a.seq;
        ++f->changes;
      }
    }
    std::map<ChangeKey, int> count;
    std::map<int64_t, int64_t> last_seq;                      // key -> audit seq of the last first occurrence seen
    std::map<int64_t, std::pair<int64_t, int64_t>> last_pos;  // partition -> last offset (uniqueness)
    for (const OutEvent& e : ReadOutput()) {
      ++f->events;
      auto it = seq_of.find(e.key);
      if (it == seq_of.end()) {
        ++f->unexpected;
        ADD_FAILURE() << "the output holds a change that was never committed: op " << e.key.op << " id " << e.key.id
                      << " " << e.key.v << " at " << e.partition << "/" << e.offset;
        continue;
      }
      if (count[e.key]++ > 0) continue;  // a duplicate (at-least-once)
      int64_t& last = last_seq[e.key.id];
      if (it->second < last) {
        ++f->order_errors;
        ADD_FAILURE() << "key " << e.key.id << ": change " << e.key.op << " " << e.key.v << " (audit " << it->second
                      << ") after audit " << last;
      }
      last = std::max(last, it->second);
    }
    for (const auto& [k, seq] : seq_of) {
      auto c = count.find(k);
      if (c == count.end()) {
        ++f->lost;
        ADD_FAILURE() << "lost: op " << k.op << " id " << k.id << " " << k.v << " (audit " << seq << ")";
      } else {
        f->duplicated += c->second - 1;
      }
    }
    if (exactly_once) {
      EXPECT_EQ(f->duplicated, 0);
    }
    EXPECT_EQ(f->lost, 0);
    EXPECT_GT(f->changes, 100) << "the workload made too few changes to prove anything";
  }

  // The fault kinds of a path that CDCPIPE_FAULT_KINDS lets run (all when it is unset).
  static std::vector<std::string> Kinds(const std::vector<std::string>& all) {
    const char* only = std::getenv("CDCPIPE_FAULT_KINDS");
    if (!only || !*only) return all;
    std::set<std::string> named;
    std::stringstream ss(only);
    for (std::string k; std::getline(ss, k, ',');) named.insert(k);
    std::vector<std::string> kinds;
    for (const auto& k : all) {
      if (named.count(k)) kinds.push_back(k);
    }
    return kinds;
  }

  // The schedule: until the time is up, pick a fault kind, inject it for a random 1-4 s (plus
  // extra_hold_ms_ of the kind) while the workload runs, repair it, and wait until everything committed
  // by the repair is in the output.
  void RunSchedule(const std::vector<std::string>& kinds, const std::function<void(const std::string&)>& inject,
                   const std::function<void(const std::string&)>& repair, Figures* f) {
    const auto end = Clock::now() + std::chrono::seconds(seconds_);
    std::uniform_int_distribution<size_t> pick(0, kinds.size() - 1);
    std::uniform_int_distribution<int> hold(1000, 4000);
    while (Clock::now() < end) {
      const std::string kind = kinds[pick(rng_)];
      std::printf("fault: %s\n", kind.c_str());
      std::fflush(stdout);
      inject(kind);
      const int held = hold(rng_) + (extra_hold_ms_.count(kind) ? extra_hold_ms_.at(kind) : 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(held));  // the fault lasts (not an assertion)
      repair(kind);
      const auto repaired = Clock::now();
      int64_t target = -1;
      ASSERT_TRUE(WaitFor([&] { return (target = AuditMaxSeq()) >= 0; }, 120000)) << "PostgreSQL did not come back";
      const std::string lsn = Sql("SELECT pg_current_wal_insert_lsn()");
      ASSERT_TRUE(WaitFor([&] { return Recovered(target, lsn); }, 180000))
          << "after " << kind << ": the pipeline did not catch up with audit " << target << " (LSN " << lsn << ")\n"
          << Logs();
      f->recover[kind].push_back(std::chrono::duration<double>(Clock::now() - repaired).count());
      ++f->survived[kind];
      AfterRecovery(kind);
    }
  }

  // PostgreSQL stops ("fast": clients are disconnected, a checkpoint is written; "immediate": a crash,
  // recovery from WAL at the next start) and starts again.
  void RestartPostgres(const std::string& mode) {
    if (mode == "immediate") {
      RunCommand({"runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", pg().data_dir(), "-m",
                  "immediate", "-w", "stop"});
    }
    pg().Stop();  // fast (a no-op after the immediate stop)
  }

  virtual std::string Logs() { return ""; }
  // Called once the pipeline caught up after a fault of `kind` (clean-up that must wait until then).
  virtual void AfterRecovery(const std::string& /*kind*/) {}
  // Everything committed up to audit row target_seq (insert LSN lsn) has gone through the pipeline.
  virtual bool Recovered(int64_t target_seq, const std::string& lsn) = 0;
  bool SlotConfirmed(const std::string& lsn) {
    CommandResult r =
        pg().PsqlResult(db_, "SELECT coalesce((SELECT confirmed_flush_lsn >= '" + lsn +
                                 "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'cdcpipe'), false)");
    return r.exit_code == 0 && r.out.rfind("t", 0) == 0;
  }

  void Report(const std::string& path, const Figures& f, const std::string& rss) {
    nlohmann::json j = {{"path", path},
                        {"seed", seed_},
                        {"seconds", seconds_},
                        {"changes", f.changes},
                        {"events", f.events},
                        {"lost", f.lost},
                        {"duplicated", f.duplicated},
                        {"unexpected", f.unexpected},
                        {"order_errors", f.order_errors},
                        {"survived", f.survived},
                        {"recover_seconds", f.recover},
                        {"rss_kb", rss}};
    std::printf("fault harness: %s\n", j.dump().c_str());
    if (const char* file = std::getenv("CDCPIPE_FAULT_REPORT"); file && *file) {
      std::ofstream(file, std::ios::app) << j.dump() << "\n";
    }
  }

  static std::string RssKb(const BackgroundProcess& p) {
    std::string s = ReadFile("/proc/" + std::to_string(p.pid()) + "/status");
    size_t at = s.find("VmRSS:");
    if (at == std::string::npos) return "?";
    return std::to_string(std::strtoll(s.c_str() + at + 6, nullptr, 10));
  }

  uint32_t seed_ = 0;
  int seconds_ = 30;
  std::map<std::string, int> extra_hold_ms_;  // fault kind -> added to its 1-4 s
};

// Embedded `cdcpipe run` writing to S3, reaching PostgreSQL through a TcpProxy.
class EmbeddedFaultHarness : public WithS3Output<FaultHarness> {
 protected:
  std::string SourceUri() override {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(pg_proxy_.port()) + "/" + db_;
  }
  std::string Logs() override { return run_ ? run_->Log() : ""; }
  void AfterRecovery(const std::string& kind) override {
    if (kind == "postgres black hole") pg_proxy_.CloseBlackHoled();  // run replaced them: free their backends
  }
  // `run` confirms an LSN only after the batch holding everything before it is committed (checked at
  // each kill -9 and by the final replay), so the slot tells cheaply when the output has caught up.
  bool Recovered(int64_t, const std::string& lsn) override { return run_->Running() && SlotConfirmed(lsn); }

  // After a kill -9 (the slot is then no longer moved): every transaction that ended at or before the
  // slot's confirmed LSN is in the committed output. `lsn_after` bounds each transaction's end from above,
  // so a transaction whose bound is at or before the confirmed LSN surely ended before it.
  void CheckConfirmedLsnIsDurable() {
    std::string confirmed =
        Sql("SELECT coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots WHERE "
            "slot_name = 'cdcpipe'");
    if (confirmed.empty()) return;
    std::set<ChangeKey> have;
    for (const OutEvent& e : ReadOutput()) have.insert(e.key);
    std::string must =
        Sql("SELECT string_agg(seq::text, ',') FROM fault_audit WHERE lsn_after <= '" + confirmed + "'::pg_lsn");
    std::set<int64_t> required;
    std::stringstream ss(must);
    for (std::string x; std::getline(ss, x, ',');) required.insert(std::stoll(x));
    for (const AuditRow& a : ReadAudit()) {
      if (!required.count(a.seq)) continue;
      for (const ChangeKey& k : EventsOf(a)) {
        EXPECT_TRUE(have.count(k)) << "the slot confirmed " << confirmed << " but audit " << a.seq << " (op " << k.op
                                   << " id " << k.id << ") is not in the committed output";
      }
    }
    ++lsn_checks_;
  }

  TcpProxy pg_proxy_{"127.0.0.1", PgCluster::Shared().port()};
  std::unique_ptr<BackgroundProcess> run_;
  int lsn_checks_ = 0;
};

TEST_F(EmbeddedFaultHarness, EveryCommittedChangeExactlyOnceThroughAMixtureOfFaults) {
  const std::vector<std::string> kinds = Kinds({"kill -9 run", "postgres fast restart", "postgres immediate restart",
                                                "s3 5xx", "s3 connection reset", "s3 slow", "postgres black hole"});
  if (kinds.empty()) GTEST_SKIP() << "CDCPIPE_FAULT_KINDS names none of this path's kinds";
  const std::vector<std::string> args = {"--max-batch-rows", "500", "--replication-timeout", "4s"};
  extra_hold_ms_["postgres black hole"] = 4000;
  run_ = StartRun(args);
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << run_->Log();
  const std::string rss_start = RssKb(*run_);
  Workload workload(pg(), db_, seed_);
  workload.Start();
  Figures f;
  RunSchedule(
      kinds,
      [&](const std::string& kind) {
        if (kind == "kill -9 run") {
          run_->Kill9();
          CheckConfirmedLsnIsDurable();
        } else if (kind == "postgres fast restart") {
          RestartPostgres("fast");
        } else if (kind == "postgres immediate restart") {
          RestartPostgres("immediate");
        } else if (kind == "postgres black hole") {
          pg_proxy_.set_black_hole_new(true);
          pg_proxy_.BlackHoleAll();
        } else if (kind == "s3 5xx") {
          s3_.Admin("fail?count=1000000&status=503");
        } else if (kind == "s3 slow") {
          s3_.Admin("slow?count=1000000&delay_ms=1500");  // every answer 1.5 s late
        } else {
          s3_.Admin("drop?count=1000000");
        }
      },
      [&](const std::string& kind) {
        if (kind == "kill -9 run") {
          run_ = StartRun(args);
        } else if (kind == "postgres black hole") {
          pg_proxy_.set_black_hole_new(false);  // the hung connections stay hung: run must replace them
        } else if (kind.rfind("postgres", 0) == 0) {
          pg().Start();
        } else {
          s3_.Admin("reset");
        }
      },
      &f);
  workload.Stop();
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(AuditMaxSeq()); }, 180000)) << run_->Log();
  ASSERT_TRUE(WaitSlotCaughtUp(run_.get())) << run_->Log();
  const std::string rss_end = RssKb(*run_);
  ASSERT_EQ(run_->Stop(SIGINT), 0) << run_->Log();
  Verify(/*exactly_once=*/true, &f);
  EXPECT_GT(workload.transactions(), 0);
  Report("run (embedded, S3 output)", f, rss_start + " -> " + rss_end);
}

// `cdcpipe capture` + `cdcpipe stream` through an in-process mock broker, local output.
class KafkaFaultHarness : public FaultHarness {
 protected:
  std::string Logs() override { return (capture_ ? capture_->Log() : "") + (stream_ ? stream_->Log() : ""); }
  // Capture confirms after Kafka acknowledged; the stream then has to commit it.
  bool Recovered(int64_t target_seq, const std::string& lsn) override {
    return SlotConfirmed(lsn) && CaughtUp(target_seq);
  }
  std::unique_ptr<BackgroundProcess> capture_, stream_;
};

TEST_F(KafkaFaultHarness, EveryCommittedChangeAtLeastOnceThroughAMixtureOfFaults) {
  const std::vector<std::string> kinds = Kinds({"kill -9 capture", "kill -9 stream", "postgres fast restart",
                                                "postgres immediate restart", "kafka broker down", "kafka broker hung"});
  if (kinds.empty()) GTEST_SKIP() << "CDCPIPE_FAULT_KINDS names none of this path's kinds";
  MockKafkaBroker kafka;
  const std::string brokers = kafka.Bootstraps();
  // A request the broker does not answer in 3 s fails and its connection is replaced (default 30 s).
  const std::vector<std::string> kafka_args = {"-X", "socket.timeout.ms=3000"};
  extra_hold_ms_["kafka broker hung"] = 3000;
  capture_ = StartCapture(brokers, kafka_args);
  stream_ = StartStream(brokers, {}, kafka_args);
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << Logs();
  const std::string rss_start = RssKb(*capture_) + " + " + RssKb(*stream_);
  Workload workload(pg(), db_, seed_);
  workload.Start();
  Figures f;
  RunSchedule(
      kinds,
      [&](const std::string& kind) {
        if (kind == "kill -9 capture") {
          capture_->Kill9();
        } else if (kind == "kill -9 stream") {
          stream_->Kill9();
        } else if (kind == "postgres fast restart") {
          RestartPostgres("fast");
        } else if (kind == "postgres immediate restart") {
          RestartPostgres("immediate");
        } else if (kind == "kafka broker hung") {
          kafka.SetRtt(3600 * 1000);  // answers held back an hour: hung until socket.timeout.ms
        } else {
          kafka.Down();
        }
      },
      [&](const std::string& kind) {
        if (kind == "kill -9 capture") {
          capture_ = StartCapture(brokers, kafka_args);
        } else if (kind == "kill -9 stream") {
          stream_ = StartStream(brokers, {}, kafka_args);
        } else if (kind.rfind("postgres", 0) == 0) {
          pg().Start();
        } else if (kind == "kafka broker hung") {
          kafka.SetRtt(0);
        } else {
          kafka.Up();
        }
      },
      &f);
  workload.Stop();
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(AuditMaxSeq()); }, 180000)) << Logs();
  const std::string rss_end = RssKb(*capture_) + " + " + RssKb(*stream_);
  ASSERT_EQ(stream_->Stop(SIGINT), 0) << stream_->Log();
  ASSERT_EQ(capture_->Stop(SIGINT), 0) << capture_->Log();
  Verify(/*exactly_once=*/false, &f);
  // The stream copies the Kafka records exactly once: no (partition, offset) twice.
  std::set<std::pair<int64_t, int64_t>> seen;
  for (const OutEvent& e : ReadOutput()) {
    EXPECT_TRUE(seen.insert({e.partition, e.offset}).second) << "offset " << e.partition << "/" << e.offset << " twice";
  }
  Report("capture + stream (Kafka mock, local output)", f, rss_start + " -> " + rss_end);
}

}  // namespace
}  // namespace cdc::testing
