// Issue 19 item 7: TLS with a private CA, to PostgreSQL (sslmode=verify-full) and to S3 over HTTPS
// (output.s3_ca_file). The test makes a CA and a server certificate for "localhost" with openssl; the
// private PostgreSQL cluster runs with ssl = on and that certificate; s3rver (plain HTTP) sits behind
// tests/node/sigv4_proxy.mjs, which terminates TLS with the same certificate (node:tls) and checks every
// signature. For each: success, a wrong host name (127.0.0.1, which the certificate does not name) and
// an untrusted certificate (another CA), each a clear error that leaks neither the database password
// nor the S3 secret key.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "raw_output.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

constexpr char kPgPassword[] = "pg-tls-Secret-4f1d9a";
constexpr char kS3Secret[] = "s3-tls-Secret-8c27e5";
constexpr char kBucket[] = "tls-bucket";
constexpr int kExitPrecondition = 6;  // README.md "Exit codes"

// The CA, a server certificate for DNS:localhost signed by it, and an unrelated CA; made once.
class Certificates {
 public:
  explicit Certificates(const std::string& dir) : dir_(dir) {
    CommandResult r = RunShell(
        "set -e; cd '" + dir + "'\n"
        "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
        "openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=cdcpipe-test-ca 2>/dev/null\n"
        "openssl req -x509 $ec -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca 2>/dev/null\n"
        "openssl req $ec -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null\n"
        "printf 'subjectAltName=DNS:localhost\\n' > san.ext\n"
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext "
        "-out server.crt 2>/dev/null\n"
        // PostgreSQL reads the key only when its owner alone may read it.
        "cp server.key pg-server.key; chmod 600 pg-server.key; if [ $(id -u) = 0 ]; then chown postgres pg-server.key; fi\n");
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
  }
  std::string operator/(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_dir_ = new TempDir("cdcpipe-tls-certs");
    certs_ = new Certificates(certs_dir_->path());
    PgCluster::Options o;
    o.password_auth = true;
    o.extra_conf = "ssl = on\nssl_cert_file = '" + (*certs_ / "server.crt") + "'\nssl_key_file = '" +
                   (*certs_ / "pg-server.key") + "'\n";
    cluster_ = new PgCluster(o);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete certs_;
    delete certs_dir_;
  }
  void SetUp() override {
    db_ = cluster_->CreateTestDatabase();
    cluster_->Psql(db_, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tls_user') THEN "
                        "CREATE ROLE tls_user LOGIN SUPERUSER PASSWORD '" + std::string(kPgPassword) +
                        "'; END IF; END $$; CREATE TABLE t (id int PRIMARY KEY, v text); "
                        "INSERT INTO t SELECT g, 'r' || g FROM generate_series(1, 5) g");
  }
  void TearDown() override { cluster_->DropSlots(db_); }

  std::string Db(const std::string& host, const std::string& root_cert) const {
    return "postgresql://tls_user@" + host + ":" + std::to_string(cluster_->port()) + "/" + db_ +
           "?sslmode=verify-full&sslrootcert=" + root_cert;
  }
  std::vector<std::string> RunArgs(const std::string& db, const std::string& output) {
    if (!std::filesystem::exists(dir_ / "empty.yaml")) WriteFile(dir_ / "empty.yaml", "");
    return {CdcpipeBin(), "run", "--config", dir_ / "empty.yaml", "--db", db, "--output", output, "--slot", db_,
            "--publication", db_, "--trigger", "200ms", "--heartbeat", "0", "--http", "off", "--tables", "t"};
  }
  std::map<std::string, std::string> Env() const {
    return {{"PGPASSWORD", kPgPassword}, {"AWS_ACCESS_KEY_ID", "S3RVER"}, {"AWS_SECRET_ACCESS_KEY", kS3Secret}};
  }
  // A run expected to fail at start: its exit code and output, which must not hold a secret.
  CommandResult RunFails(const std::vector<std::string>& argv) {
    CommandResult r = RunCommand(argv, Env());
    EXPECT_EQ(r.out.find(kPgPassword), std::string::npos) << r.Describe();
    EXPECT_EQ(r.err.find(kPgPassword), std::string::npos) << r.Describe();
    EXPECT_EQ(r.err.find(kS3Secret), std::string::npos) << r.Describe();
    return r;
  }
  // Caught up: a row inserted once the slot exists is confirmed, which `run` does only after the batch
  // holding it (and the snapshot before it) is committed. (A target read before the slot existed was met
  // by the new slot's own position, during the snapshot, with nothing committed: flaky.)
  bool WaitCaughtUp(BackgroundProcess* p) {
    auto slot_exists = [&] {
      return cluster_->Psql(db_, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + db_ + "'") == "1";
    };
    if (!WaitFor([&] { return p->Running() && slot_exists(); }, 60000)) return false;
    std::string target =
        cluster_->Psql(db_, "INSERT INTO t VALUES (1000, 'after the slot'); SELECT pg_current_wal_insert_lsn()");
    return WaitFor(
        [&] {
          return p->Running() && cluster_->Psql(db_, "SELECT coalesce((SELECT confirmed_flush_lsn >= '" + target +
                                                         "'::pg_lsn FROM pg_replication_slots WHERE slot_name = '" +
                                                         db_ + "'), false)") == "t";
        },
        60000);
  }

  static TempDir* certs_dir_;
  static Certificates* certs_;
  static PgCluster* cluster_;
  TempDir dir_{"cdcpipe-tls-test"};
  std::string db_;
};
TempDir* TlsTest::certs_dir_ = nullptr;
Certificates* TlsTest::certs_ = nullptr;
PgCluster* TlsTest::cluster_ = nullptr;

TEST_F(TlsTest, PostgresVerifyFullWithPrivateCa) {
  auto run = std::make_unique<BackgroundProcess>(RunArgs(Db("localhost", *certs_ / "ca.crt"), dir_ / "out"),
                                                 dir_ / "run.log", Env());
  ASSERT_TRUE(WaitCaughtUp(run.get())) << run->Log() << cluster_->LogTail();
  // Both of run's connections to the database, the walsender's included, are encrypted.
  EXPECT_EQ(cluster_->Psql(db_, "SELECT count(*) > 0 AND bool_and(s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s "
                                "USING (pid) WHERE a.usename = 'tls_user'"),
            "t");
  EXPECT_EQ(cluster_->Psql(db_, "SELECT bool_and(s.ssl) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)"),
            "t");
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();
  EXPECT_EQ(run->Log().find(kPgPassword), std::string::npos) << run->Log();
}

TEST_F(TlsTest, PostgresWrongHostNameIsAClearError) {
  CommandResult r = RunFails(RunArgs(Db("127.0.0.1", *certs_ / "ca.crt"), dir_ / "out"));
  EXPECT_EQ(r.exit_code, kExitPrecondition) << r.Describe();
  EXPECT_NE(r.err.find("does not match host name \"127.0.0.1\""), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("sslrootcert"), std::string::npos) << r.Describe();
}

TEST_F(TlsTest, PostgresUntrustedCertificateIsAClearError) {
  CommandResult r = RunFails(RunArgs(Db("localhost", *certs_ / "other-ca.crt"), dir_ / "out"));
  EXPECT_EQ(r.exit_code, kExitPrecondition) << r.Describe();
  EXPECT_NE(r.err.find("certificate verify failed"), std::string::npos) << r.Describe();
}

// s3rver behind the SigV4-checking proxy, which speaks HTTPS with the server certificate.
class TlsS3Test : public TlsTest {
 protected:
  void SetUp() override {
    TlsTest::SetUp();
    s3rver_port_ = FreePort();
    proxy_port_ = FreePort();
    while (proxy_port_ == s3rver_port_) proxy_port_ = FreePort();
    s3rver_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"node", "--openssl-legacy-provider", NodeModulesDir() + "/s3rver/bin/s3rver.js", "-d",
                                 dir_ / "s3", "-a", "127.0.0.1", "-p", std::to_string(s3rver_port_),
                                 "--configure-bucket", kBucket},
        dir_ / "s3rver.log");
    ASSERT_TRUE(WaitFor([&] { return s3rver_->Log().find("listening") != std::string::npos; }, 30000))
        << s3rver_->Log();
    proxy_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"node", SourceDir() + "/tests/node/sigv4_proxy.mjs", "--port",
                                 std::to_string(proxy_port_), "--upstream",
                                 "http://127.0.0.1:" + std::to_string(s3rver_port_), "--access-key", "S3RVER",
                                 "--secret", kS3Secret, "--tls-cert", *certs_ / "server.crt", "--tls-key",
                                 *certs_ / "server.key"},
        dir_ / "proxy.log");
    ASSERT_TRUE(WaitFor([&] { return proxy_->Log().find("listening") != std::string::npos; }, 30000))
        << proxy_->Log();
  }
  std::vector<std::string> S3RunArgs(const std::string& host, const std::string& ca_file) {
    std::vector<std::string> argv = RunArgs(Db("localhost", *certs_ / "ca.crt"), std::string("s3://") + kBucket);
    argv.insert(argv.end(), {"--s3-endpoint", "https://" + host + ":" + std::to_string(proxy_port_), "--s3-ca-file",
                             ca_file});
    return argv;
  }
  std::unique_ptr<BackgroundProcess> s3rver_, proxy_;
  int s3rver_port_ = 0, proxy_port_ = 0;
};

TEST_F(TlsS3Test, HttpsWithPrivateCa) {
  auto run = std::make_unique<BackgroundProcess>(S3RunArgs("localhost", *certs_ / "ca.crt"), dir_ / "run.log", Env());
  ASSERT_TRUE(WaitCaughtUp(run.get())) << run->Log() << proxy_->Log();
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();
  EXPECT_EQ(run->Log().find(kS3Secret), std::string::npos) << run->Log();
  // Every request passed the proxy's signature check over TLS, and the committed batches are in s3rver
  // (copied straight from it with the MinIO client, then read as Spark would).
  CommandResult stats = RunCommand({"curl", "-sS", "--cacert", *certs_ / "ca.crt",
                                    "https://localhost:" + std::to_string(proxy_port_) + "/__proxy/stats"});
  ASSERT_EQ(stats.exit_code, 0) << stats.Describe();
  nlohmann::json j = nlohmann::json::parse(stats.out);
  EXPECT_EQ(j["rejected"], 0) << stats.out;
  EXPECT_GT(j["forwarded"].get<int>(), 0) << stats.out;
  CommandResult m = RunNode("s3_mirror.mjs", {"--endpoint", "http://127.0.0.1:" + std::to_string(s3rver_port_),
                                              "--access-key", "S3RVER", "--secret", kS3Secret, kBucket,
                                              "raw-kafka-data/", dir_ / "mirror/raw-kafka-data"});
  ASSERT_EQ(m.exit_code, 0) << m.Describe();
  MetadataCheck meta = ReadSparkMetadata(dir_ / "mirror", std::string("s3a://") + kBucket + "/raw-kafka-data/");
  EXPECT_GE(meta.latest, 0) << run->Log();
  EXPECT_FALSE(meta.files.empty());
  // `cdcpipe status` reaches the same store with the same CA file (regression: it ignored s3_ca_file and
  // failed the storage check with the system's CA store).
  CommandResult status = RunCommand({CdcpipeBin(), "status", "--config", dir_ / "empty.yaml", "--component", "storage",
                                     "--json", "--output", std::string("s3://") + kBucket, "--s3-endpoint",
                                     "https://localhost:" + std::to_string(proxy_port_), "--s3-ca-file",
                                     *certs_ / "ca.crt"},
                                    Env());
  EXPECT_EQ(status.exit_code, 0) << status.Describe();
  EXPECT_EQ(status.out.find("SSL certificate problem"), std::string::npos) << status.Describe();
  EXPECT_EQ(status.out.find(kS3Secret), std::string::npos) << status.Describe();
}

TEST_F(TlsS3Test, HttpsWrongHostNameIsAClearError) {
  CommandResult r = RunFails(S3RunArgs("127.0.0.1", *certs_ / "ca.crt"));
  EXPECT_EQ(r.exit_code, kExitPrecondition) << r.Describe();
  EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("s3_ca_file"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("TLS"), std::string::npos) << r.Describe();
}

TEST_F(TlsS3Test, HttpsUntrustedCertificateIsAClearError) {
  CommandResult r = RunFails(S3RunArgs("localhost", *certs_ / "other-ca.crt"));
  EXPECT_EQ(r.exit_code, kExitPrecondition) << r.Describe();
  EXPECT_NE(r.err.find("SSL certificate problem"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("other-ca.crt"), std::string::npos) << r.Describe();
}

}  // namespace
}  // namespace cdc::testing
