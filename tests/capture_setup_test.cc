// Capture set-up against the private PostgreSQL 15: nothing in the user's database changes unless asked
// (docs/CAPTURE.md, "Set-up"). A start that fails leaves pg_publication, pg_publication_rel,
// pg_replication_slots, every relation and its relreplident exactly as they were, and its error names the
// fix; a start that succeeds adds the slot (and the publication where there was none), nothing else.
// The snapshot marker lives in the state location; the legacy table public.cdcpipe_offsets is only read.
//
// The tables are not the seed's: customers and orders have primary keys, audit_log has none.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/failpoint.h"
#include "base/shutdown.h"
#include "jobs/capture.h"
#include "jobs/run.h"
#include "log/null_sink.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

using json = nlohmann::json;

class CaptureSetupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    Sql("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);"
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, total numeric(10,2));"
        "CREATE TABLE audit_log (at timestamptz DEFAULT now(), what text);"
        "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 7) g;"
        "INSERT INTO orders SELECT g, 1 + g % 7, g * 1.5 FROM generate_series(1, 11) g;"
        "INSERT INTO audit_log (what) VALUES ('x');");
  }
  void TearDown() override {
    ResetShutdown();
    unsetenv("CDCPIPE_FAILPOINTS");
    FailpointReload();
    pg().DropSlots(db_);
  }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }

  jobs::CaptureOptions Options() {
    jobs::CaptureOptions o;
    o.conninfo = pg().Conninfo(db_);
    o.tables = {"customers", "orders"};
    o.slot = "setup";
    o.state_uri = state_.path();
    o.heartbeat = std::chrono::milliseconds(0);
    o.status_interval = std::chrono::milliseconds(500);
    return o;
  }
  // A login role of this test (roles are cluster-wide; the database holding its grants was dropped by
  // CreateTestDatabase, so the old one can go).
  std::string Role(const std::string& name, const std::string& attributes) {
    Sql("DROP ROLE IF EXISTS " + name + "; CREATE ROLE " + name + " LOGIN " + attributes);
    return "host=127.0.0.1 port=" + std::to_string(pg().port()) + " user=" + name + " dbname=" + db_;
  }

  // What capture may change, as the catalog shows it. Only this database's slots: other tests' slots
  // are not this test's business.
  struct Catalog {
    std::string publications, publication_rels, slots, relations;
  };
  Catalog Snapshot() {
    Catalog c;
    c.publications = Sql("SELECT pubname, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate "
                         "FROM pg_publication ORDER BY 1");
    c.publication_rels = Sql("SELECT p.pubname, r.prrelid::regclass FROM pg_publication_rel r JOIN pg_publication p "
                             "ON p.oid = r.prpubid ORDER BY 1, 2");
    c.slots = Sql("SELECT slot_name, slot_type, plugin FROM pg_replication_slots WHERE database = '" + db_ +
                  "' ORDER BY 1");
    c.relations = Sql("SELECT n.nspname, c.relname, c.relkind, c.relreplident, c.relowner::regrole FROM pg_class c "
                      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                      "'information_schema') AND n.nspname !~ '^pg_toast' ORDER BY 1, 2");
    return c;
  }
  static void ExpectSame(const Catalog& a, const Catalog& b) {
    EXPECT_EQ(a.publications, b.publications);
    EXPECT_EQ(a.publication_rels, b.publication_rels);
    EXPECT_EQ(a.slots, b.slots);
    EXPECT_EQ(a.relations, b.relations);
  }

  // Runs capture until the WAL position now is durable (or set-up fails).
  Status Capture(jobs::CaptureOptions o, uint64_t* snapshot_rows = nullptr, uint64_t* events = nullptr) {
    o.end_lsn = *Lsn::Parse(Sql("SELECT pg_current_wal_insert_lsn()"));
    log::NullSink sink;
    jobs::CaptureJob job(o, &sink);
    Status st = job.Run();
    if (snapshot_rows) *snapshot_rows = job.stats().snapshot_rows;
    if (events) *events = job.stats().events;
    return st;
  }

  // A start with `o` must fail with `code`, its message must contain each of `fixes`, and the database
  // (and the state location) must be as they were.
  void ExpectFailsAndChangesNothing(const jobs::CaptureOptions& o, StatusCode code,
                                    const std::vector<std::string>& fixes) {
    Catalog before = Snapshot();
    Status st = Capture(o);
    EXPECT_EQ(st.code(), code) << st.ToString();
    for (const auto& fix : fixes) EXPECT_NE(st.message().find(fix), std::string::npos) << fix << "\n" << st.ToString();
    ExpectSame(before, Snapshot());
    EXPECT_TRUE(std::filesystem::is_empty(state_.path())) << "the state location was written";
  }

  json Marker(const std::string& slot) {
    std::string path = state_ / ("slot-" + slot + ".json");
    return std::filesystem::exists(path) ? json::parse(ReadFile(path)) : json();
  }

  std::string db_;
  TempDir state_{"capture-state"};
};

TEST_F(CaptureSetupTest, MissingTableNamesTheTablesThatExistAndWhereTheListCameFrom) {
  jobs::CaptureOptions o = Options();
  o.tables = {"customers", "ordres"};
  o.tables_origin = "cdcpipe.yaml:4:11 (source.tables)";
  ExpectFailsAndChangesNothing(o, StatusCode::kInvalidArgument,
                               {"table public.ordres does not exist", "cdcpipe.yaml:4:11 (source.tables)",
                                "did you mean public.orders?", "public.audit_log, public.customers, public.orders"});
}

TEST_F(CaptureSetupTest, SlotNameClashChangesNothing) {
  Sql("SELECT pg_create_logical_replication_slot('setup', 'test_decoding')");
  ExpectFailsAndChangesNothing(Options(), StatusCode::kFailedPrecondition,
                               {"replication slot \"setup\" exists", "test_decoding",
                                "SELECT pg_drop_replication_slot('setup');"});
}

TEST_F(CaptureSetupTest, RoleWithoutReplicationChangesNothing) {
  jobs::CaptureOptions o = Options();
  o.conninfo = Role("cdc_norepl", "");
  Sql("ALTER DATABASE " + db_ + " OWNER TO cdc_norepl; ALTER TABLE customers OWNER TO cdc_norepl;"
      "ALTER TABLE orders OWNER TO cdc_norepl");
  ExpectFailsAndChangesNothing(o, StatusCode::kPermissionDenied, {"ALTER ROLE \"cdc_norepl\" REPLICATION;"});
}

TEST_F(CaptureSetupTest, RoleWithoutSelectChangesNothing) {
  jobs::CaptureOptions o = Options();
  o.conninfo = Role("cdc_noselect", "REPLICATION");
  Sql("CREATE PUBLICATION cdcpipe FOR TABLE customers, orders; GRANT SELECT ON customers TO cdc_noselect");
  ExpectFailsAndChangesNothing(o, StatusCode::kPermissionDenied,
                               {"GRANT SELECT ON \"public\".\"orders\" TO \"cdc_noselect\";"});
}

TEST_F(CaptureSetupTest, RoleThatMayNotCreateThePublicationGetsTheStatementForAnAdmin) {
  jobs::CaptureOptions o = Options();
  o.conninfo = Role("cdc_notowner", "REPLICATION");
  Sql("GRANT SELECT ON customers, orders TO cdc_notowner");
  ExpectFailsAndChangesNothing(o, StatusCode::kPermissionDenied,
                               {"may not create it", "CREATE PUBLICATION \"cdcpipe\" FOR TABLE \"public\".\"customers\", "
                                "\"public\".\"orders\";"});
}

TEST_F(CaptureSetupTest, TableWithoutPrimaryKeyNeedsReplicaIdentity) {
  jobs::CaptureOptions o = Options();
  o.tables = {"customers", "audit_log"};
  ExpectFailsAndChangesNothing(o, StatusCode::kFailedPrecondition,
                               {"\"public\".\"audit_log\" has no primary key",
                                "ALTER TABLE \"public\".\"audit_log\" REPLICA IDENTITY FULL;",
                                "replica_identity_full: true"});
  // The user's own UPDATE still works: the table was not put into a publication.
  Sql("UPDATE audit_log SET what = 'y'");
}

TEST_F(CaptureSetupTest, MissingPublicationWithCreatePublicationFalsePrintsTheStatement) {
  jobs::CaptureOptions o = Options();
  o.create_publication = false;
  ExpectFailsAndChangesNothing(
      o, StatusCode::kFailedPrecondition,
      {"CREATE PUBLICATION \"cdcpipe\" FOR TABLE \"public\".\"customers\", \"public\".\"orders\";"});
}

TEST_F(CaptureSetupTest, PublicationLackingATableWithCreatePublicationFalsePrintsTheStatement) {
  Sql("CREATE PUBLICATION cdcpipe FOR TABLE customers");
  jobs::CaptureOptions o = Options();
  o.create_publication = false;
  ExpectFailsAndChangesNothing(o, StatusCode::kFailedPrecondition,
                               {"ALTER PUBLICATION \"cdcpipe\" ADD TABLE \"public\".\"orders\";"});
}

TEST_F(CaptureSetupTest, NoTablesAndNoPublicationListsTheDatabasesTables) {
  jobs::CaptureOptions o = Options();
  o.tables.clear();
  ExpectFailsAndChangesNothing(o, StatusCode::kInvalidArgument,
                               {"no tables to capture", "public.audit_log, public.customers, public.orders",
                                "CREATE PUBLICATION \"cdcpipe\" FOR TABLE"});
}

// Every problem at once, with the configuration error deciding the code (exit 2 in the CLI).
TEST_F(CaptureSetupTest, EveryProblemIsReportedAtOnce) {
  Sql("SELECT pg_create_logical_replication_slot('setup', 'test_decoding')");
  jobs::CaptureOptions o = Options();
  o.tables = {"customers", "audit_log", "nope"};
  ExpectFailsAndChangesNothing(o, StatusCode::kInvalidArgument,
                               {"3 problems", "public.nope does not exist", "audit_log\" has no primary key",
                                "replication slot \"setup\" exists"});
}

// A failure after the publication and replica identity were set (here: creating the slot) puts them back.
TEST_F(CaptureSetupTest, FailureWhenCreatingTheSlotPutsBackWhatThisStartChanged) {
  jobs::CaptureOptions o = Options();
  o.tables = {"customers", "audit_log"};
  o.replica_identity_full = true;
  setenv("CDCPIPE_FAILPOINTS", "capture.before_create_slot=error", 1);
  FailpointReload();
  Catalog before = Snapshot();
  Status st = Capture(o);
  EXPECT_NE(st.message().find("capture.before_create_slot"), std::string::npos) << st.ToString();
  ExpectSame(before, Snapshot());
}

TEST_F(CaptureSetupTest, SuccessfulRunWithDefaultsAddsOnlyTheSlotAndThePublication) {
  Catalog before = Snapshot();
  uint64_t rows = 0;
  Status st = Capture(Options(), &rows);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(rows, 18u);
  Catalog after = Snapshot();
  EXPECT_EQ(after.relations, before.relations);  // no table created, no replica identity changed
  EXPECT_EQ(before.publications, "");
  EXPECT_EQ(after.publications, "cdcpipe|f|t|t|t|t");
  EXPECT_EQ(after.publication_rels, "cdcpipe|customers\ncdcpipe|orders");
  EXPECT_EQ(after.slots, "setup|logical|pgoutput");
  json m = Marker("setup");
  EXPECT_EQ(m["snapshot"], "complete") << m.dump();
  EXPECT_EQ(m["database"], db_);
  EXPECT_EQ(m["slot"], "setup");
  EXPECT_EQ(m["system_identifier"], Sql("SELECT system_identifier FROM pg_control_system()"));
  EXPECT_TRUE(Lsn::Parse(m["snapshot_lsn"].get<std::string>()).has_value()) << m.dump();

  // With the publication there, a second slot adds the slot and nothing else.
  before = Snapshot();
  jobs::CaptureOptions o = Options();
  o.slot = "setup2";
  ASSERT_TRUE(Capture(o).ok());
  after = Snapshot();
  EXPECT_EQ(after.relations, before.relations);
  EXPECT_EQ(after.publications, before.publications);
  EXPECT_EQ(after.publication_rels, before.publication_rels);
  EXPECT_EQ(after.slots, "setup|logical|pgoutput\nsetup2|logical|pgoutput");
}

TEST_F(CaptureSetupTest, ReplicaIdentityFullOnlyWhenAsked) {
  jobs::CaptureOptions o = Options();
  o.tables = {"customers", "audit_log"};
  o.replica_identity_full = true;
  ASSERT_TRUE(Capture(o).ok());
  EXPECT_EQ(Sql("SELECT string_agg(relname || '=' || relreplident::text, ',' ORDER BY relname) FROM pg_class "
                "WHERE relname IN ('customers', 'orders', 'audit_log')"),
            "audit_log=f,customers=f,orders=d");
}

TEST_F(CaptureSetupTest, TablesDefaultToThePublicationsTables) {
  Sql("CREATE PUBLICATION cdcpipe FOR TABLE orders");
  jobs::CaptureOptions o = Options();
  o.tables.clear();
  uint64_t rows = 0;
  ASSERT_TRUE(Capture(o, &rows).ok());
  EXPECT_EQ(rows, 11u);
}

// A publication FOR ALL TABLES is fine; only the configured tables' changes are captured.
TEST_F(CaptureSetupTest, PublicationForAllTablesCapturesOnlyTheConfiguredTables) {
  Sql("CREATE PUBLICATION cdcpipe FOR ALL TABLES; ALTER TABLE audit_log REPLICA IDENTITY FULL");
  Catalog before = Snapshot();
  jobs::CaptureOptions o = Options();
  o.tables = {"customers"};
  uint64_t rows = 0, events = 0;
  ASSERT_TRUE(Capture(o, &rows).ok());
  EXPECT_EQ(rows, 7u);
  Sql("INSERT INTO customers VALUES (100, 'new'); INSERT INTO orders VALUES (100, 1, 1);"
      "INSERT INTO audit_log (what) VALUES ('z'); UPDATE customers SET name = 'n' WHERE id = 1;"
      "TRUNCATE audit_log");
  ASSERT_TRUE(Capture(o, &rows, &events).ok());
  EXPECT_EQ(rows, 0u);
  EXPECT_EQ(events, 2u);
  Catalog after = Snapshot();
  EXPECT_EQ(after.publications, before.publications);
  EXPECT_EQ(after.publication_rels, before.publication_rels);
  EXPECT_EQ(after.relations, before.relations);
}

TEST_F(CaptureSetupTest, RestartAfterACompletedSnapshotDoesNotSnapshotAgain) {
  uint64_t rows = 0;
  ASSERT_TRUE(Capture(Options(), &rows).ok());
  EXPECT_EQ(rows, 18u);
  ASSERT_TRUE(Capture(Options(), &rows).ok());
  EXPECT_EQ(rows, 0u);
  // Without its marker the slot's snapshot counts as unfinished: the slot is made again, with a snapshot.
  std::filesystem::remove(state_ / "slot-setup.json");
  ASSERT_TRUE(Capture(Options(), &rows).ok());
  EXPECT_EQ(rows, 18u);
}

// A slot dropped behind cdcpipe's back after its snapshot completed: the changes since are gone, so
// capture stops (FailedPrecondition, exit 6) naming the slot and the fix, and neither makes the slot
// again nor snapshots again by itself (issue 19 item 4; capture_slot_test covers `run` and exit 6).
TEST_F(CaptureSetupTest, MarkerWhoseSlotIsGoneStopsWithoutASilentNewSnapshot) {
  uint64_t rows = 0;
  ASSERT_TRUE(Capture(Options(), &rows).ok());
  std::string first_lsn = Marker("setup")["snapshot_lsn"];
  Sql("SELECT pg_drop_replication_slot('setup')");
  rows = 0;
  Status st = Capture(Options(), &rows);
  ASSERT_TRUE(st.IsFailedPrecondition()) << st.ToString();
  EXPECT_NE(st.message().find("replication slot \"setup\" no longer exists"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("--snapshot initial"), std::string::npos) << st.ToString();
  EXPECT_EQ(rows, 0u);
  EXPECT_EQ(Marker("setup")["snapshot_lsn"], first_lsn);
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'setup'"), "0");
}

// Before the state location, the marker was a row of public.cdcpipe_offsets in the user's database. A
// slot whose marker is only there is not snapshotted again; the row is read, never written.
TEST_F(CaptureSetupTest, LegacyOffsetsTableIsHonouredReadOnly) {
  uint64_t rows = 0;
  ASSERT_TRUE(Capture(Options(), &rows).ok());
  ASSERT_EQ(rows, 18u);
  std::string lsn = Marker("setup")["snapshot_lsn"];
  std::filesystem::remove(state_ / "slot-setup.json");
  Sql("CREATE TABLE public.cdcpipe_offsets (slot_name text PRIMARY KEY, snapshot_lsn pg_lsn NOT NULL, "
      "snapshot_completed_at timestamptz NOT NULL DEFAULT now());"
      "INSERT INTO cdcpipe_offsets VALUES ('setup', '" + lsn + "', '2025-01-02 03:04:05+00'),"
      "('gone', '0/1', now())");
  // Read-only: the capture role may only read it, and the rows' versions must stay the same.
  std::string rows_before = Sql("SELECT xmin, * FROM cdcpipe_offsets ORDER BY slot_name");
  Catalog before = Snapshot();
  ASSERT_TRUE(Capture(Options(), &rows).ok());
  EXPECT_EQ(rows, 0u) << "the legacy marker was not honoured";
  EXPECT_EQ(Sql("SELECT xmin, * FROM cdcpipe_offsets ORDER BY slot_name"), rows_before);
  ExpectSame(before, Snapshot());
  json m = Marker("setup");
  EXPECT_EQ(m["snapshot"], "complete") << m.dump();
  EXPECT_EQ(m["snapshot_lsn"], lsn);
  EXPECT_EQ(m["completed_at"], "2025-01-02T03:04:05Z");
  // A legacy row whose slot does not exist says nothing: a new slot takes its snapshot.
  jobs::CaptureOptions o = Options();
  o.slot = "gone";
  ASSERT_TRUE(Capture(o, &rows).ok());
  EXPECT_EQ(rows, 18u);
  // --drop-slot leaves the legacy table alone too.
  ASSERT_TRUE(jobs::DropCapture(pg().Conninfo(db_), "setup", "cdcpipe", state_.path()).ok());
  EXPECT_EQ(Sql("SELECT xmin, * FROM cdcpipe_offsets ORDER BY slot_name"), rows_before);
  EXPECT_TRUE(Marker("setup").is_null());
}

// A crash after the slot was made but before the snapshot was durable: the marker says pending, even if a
// legacy row for that slot name claims a finished snapshot, so the next start takes the snapshot again:
// it resumes after the rows the marker records as durable (issue 18) and reads the rest.
TEST_F(CaptureSetupTest, PendingMarkerWinsOverALegacyRow) {
  Sql("CREATE TABLE public.cdcpipe_offsets (slot_name text PRIMARY KEY, snapshot_lsn pg_lsn NOT NULL, "
      "snapshot_completed_at timestamptz NOT NULL DEFAULT now());"
      "INSERT INTO cdcpipe_offsets VALUES ('setup', '0/1', now())");
  setenv("CDCPIPE_FAILPOINTS", "capture.before_snapshot_marker=error", 1);
  FailpointReload();
  EXPECT_FALSE(Capture(Options()).ok());
  unsetenv("CDCPIPE_FAILPOINTS");
  FailpointReload();
  EXPECT_EQ(Marker("setup")["snapshot"], "pending");
  uint64_t durable = Marker("setup").value("/position/rows"_json_pointer, uint64_t{0});
  uint64_t rows = 0;
  ASSERT_TRUE(Capture(Options(), &rows).ok());
  EXPECT_EQ(durable + rows, 18u);
  EXPECT_EQ(Marker("setup")["snapshot"], "complete");
}

// `cdcpipe run` (embedded): a stop after the batch holding the snapshot was committed but before capture
// marked the snapshot complete. The output's checkpoint proves the snapshot durable, so the next run
// completes the marker instead of taking (and appending) the snapshot a second time.
TEST_F(CaptureSetupTest, RunCompletesTheMarkerOfASnapshotItHasCommitted) {
  TempDir out;
  auto run = [&](uint64_t* rows) {
    jobs::RunOptions ro;
    ro.capture = Options();
    ro.capture.end_lsn = *Lsn::Parse(Sql("SELECT pg_current_wal_insert_lsn()"));
    ro.output.output = out.path();
    ro.output.trigger = std::chrono::milliseconds(50);
    jobs::Pipeline p(ro);
    Status st = p.Run();
    *rows = p.stats().rows;
    return st;
  };
  setenv("CDCPIPE_FAILPOINTS", "capture.before_snapshot_marker=error", 1);
  FailpointReload();
  uint64_t rows = 0;
  Status st = run(&rows);
  EXPECT_NE(st.message().find("capture.before_snapshot_marker"), std::string::npos) << st.ToString();
  ASSERT_EQ(rows, 18u);
  ASSERT_EQ(Marker("setup")["snapshot"], "pending");
  unsetenv("CDCPIPE_FAILPOINTS");
  FailpointReload();
  Sql("INSERT INTO customers VALUES (100, 'after')");
  ASSERT_TRUE(run(&rows).ok());
  EXPECT_EQ(rows, 1u) << "the snapshot was taken (and committed) a second time";
  EXPECT_EQ(Marker("setup")["snapshot"], "complete");
}

TEST_F(CaptureSetupTest, StateLocationIsRequiredAndCheckedFirst) {
  jobs::CaptureOptions o = Options();
  o.state_uri.clear();
  Catalog before = Snapshot();
  Status st = Capture(o);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("state location"), std::string::npos) << st.ToString();
  ExpectSame(before, Snapshot());
}

}  // namespace
}  // namespace cdc::testing
