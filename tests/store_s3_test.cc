// S3 store against a real S3 protocol server: s3rver (npm), with tests/node/sigv4_proxy.mjs in
// front of it recomputing every SigV4 signature with the `aws4` package, so a signing bug fails
// these tests. What cdcpipe writes is read back and listed by the MinIO JS client. Faults (500s,
// dropped connections) are injected by the proxy on request.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <random>
#include <thread>

#include "store/object_store.h"
#include "store/s3_store.h"
#include "support/test_env.h"

namespace cdc::store {
namespace {

using cdc::testing::BackgroundProcess;
using cdc::testing::CommandResult;
using cdc::testing::FreePort;
using cdc::testing::NodeModulesDir;
using cdc::testing::RunCommand;
using cdc::testing::RunNode;
using cdc::testing::TempDir;
using cdc::testing::WaitFor;

constexpr char kBucket[] = "cdc-test";
constexpr char kKey[] = "S3RVER";     // s3rver's fixed credentials
constexpr char kSecret[] = "S3RVER";

// One s3rver + one signing proxy for the whole binary.
class S3Env {
 public:
  static S3Env& Get() {
    static S3Env env;
    return env;
  }

  std::string ProxyEndpoint() const { return "http://127.0.0.1:" + std::to_string(proxy_port_); }
  std::string DirectEndpoint() const { return "http://127.0.0.1:" + std::to_string(s3_port_); }

  StoreOptions Options() const {
    StoreOptions o;
    o.s3_endpoint = ProxyEndpoint();
    o.access_key_id = kKey;
    o.secret_access_key = kSecret;
    o.region = "us-east-1";
    o.retry_base_delay_ms = 10;
    o.retry_max_delay_ms = 50;
    return o;
  }

  // POST /__proxy/<what> (fail, drop, reset) or GET stats; returns the proxy's counters.
  nlohmann::json Admin(const std::string& what) {
    CommandResult r = RunCommand({"curl", "-sS", "-X", what == "stats" ? "GET" : "POST",
                                  ProxyEndpoint() + "/__proxy/" + what});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return nlohmann::json::parse(r.out);
  }

  // The MinIO JS client through the signing proxy (so its requests are checked too).
  CommandResult Minio(const std::vector<std::string>& args, const std::string& secret = kSecret) {
    std::vector<std::string> all = {"--endpoint", ProxyEndpoint(), "--access-key", kKey, "--secret", secret};
    all.insert(all.end(), args.begin(), args.end());
    return RunNode("minio_client.mjs", all);
  }

  std::string Logs() const { return s3rver_->Log() + proxy_->Log(); }

 private:
  S3Env() : dir_("cdcpipe-s3") {
    // --openssl-legacy-provider: s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with DES,
    // which Node 20's OpenSSL 3 refuses otherwise (every second page would be a 500).
    s3_port_ = FreePort();
    s3rver_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"node", "--openssl-legacy-provider", NodeModulesDir() + "/s3rver/bin/s3rver.js", "-d", dir_ / "data", "-a",
                                 "127.0.0.1", "-p", std::to_string(s3_port_), "--configure-bucket", kBucket,
                                 "--silent"},
        dir_ / "s3rver.log");
    bool up = WaitFor([&] { return s3rver_->Log().find("listening") != std::string::npos; }, 30000);
    EXPECT_TRUE(up) << "s3rver did not start:\n" << s3rver_->Log();
    proxy_port_ = FreePort();
    proxy_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"node", cdc::testing::SourceDir() + "/tests/node/sigv4_proxy.mjs", "--port",
                                 std::to_string(proxy_port_), "--upstream", DirectEndpoint(), "--access-key", kKey,
                                 "--secret", kSecret},
        dir_ / "proxy.log", std::map<std::string, std::string>{{"NODE_PATH", NodeModulesDir()}});
    up = WaitFor([&] { return proxy_->Log().find("listening") != std::string::npos; }, 30000);
    EXPECT_TRUE(up) << "sigv4_proxy did not start:\n" << proxy_->Log();
  }

  TempDir dir_;
  int s3_port_ = 0, proxy_port_ = 0;
  std::unique_ptr<BackgroundProcess> s3rver_, proxy_;
};

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = &S3Env::Get();
    env_->Admin("reset");
    // Each test works under its own prefix.
    prefix_ = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
  }
  void TearDown() override {
    // No test may pass with a request the signature checker refused, unless it expects that.
    if (!expect_rejections_) {
      EXPECT_EQ(env_->Admin("stats")["rejected"], 0) << env_->Logs();
    }
  }

  std::unique_ptr<ObjectStore> Open(StoreOptions o, const std::string& bucket = kBucket) {
    auto s = OpenStore("s3://" + bucket + "/" + prefix_, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString() << "\n" << env_->Logs();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::unique_ptr<ObjectStore> Open() { return Open(env_->Options()); }

  // "<size> <sha256>" as the MinIO client sees the object.
  std::string MinioSha(const std::string& key) {
    CommandResult r = env_->Minio({"sha256", kBucket, prefix_ + key});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.out;
  }
  static std::string Expected(const std::string& data) {
    return std::to_string(data.size()) + " " + Sha256Hex(data) + "\n";
  }

  S3Env* env_ = nullptr;
  std::string prefix_;
  bool expect_rejections_ = false;
};

TEST_F(S3StoreTest, RoundTripCheckedBySigningProxyAndMinio) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> keys = {"plain.txt", "date=2026-11-25/part 0.parquet", "unicode/é中.bin",
                                         "_spark_metadata/0", "odd/a&b'c(d)!~*.x"};
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string data = "payload-" + std::to_string(i) + std::string(i * 1000, static_cast<char>('a' + i));
    ASSERT_TRUE(store->Put(keys[i], data).ok()) << keys[i] << "\n" << env_->Logs();
    auto got = store->Get(keys[i]);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, data);
    EXPECT_EQ(MinioSha(keys[i]), Expected(data)) << keys[i];
    auto head = store->Head(keys[i]);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->size, data.size());
    EXPECT_GT(head->mtime_micros, 1700000000LL * 1000000);
  }
  ASSERT_TRUE(store->Put("empty", "").ok());
  EXPECT_EQ(*store->Get("empty"), "");

  // Listing: ours and the MinIO client's agree.
  auto listed = store->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> ours;
  for (const auto& o : *listed) ours.push_back(o.key);
  CommandResult ml = env_->Minio({"list", kBucket, prefix_});
  ASSERT_EQ(ml.exit_code, 0) << ml.Describe();
  std::vector<std::string> theirs;
  std::istringstream lines(ml.out);
  for (std::string line; std::getline(lines, line);) {
    std::string key = nlohmann::json::parse(line)["key"].get<std::string>().substr(prefix_.size());
    // s3rver writes ' as &#x27; and the MinIO client does not decode numeric references (ours does).
    for (size_t p; (p = key.find("&#x27;")) != std::string::npos;) key.replace(p, 6, "'");
    theirs.push_back(key);
  }
  std::sort(theirs.begin(), theirs.end());
  EXPECT_EQ(ours, theirs);
  EXPECT_EQ(ours.size(), keys.size() + 1);

  EXPECT_EQ(store->AbsoluteUri("date=2026-11-25/part 0.parquet"),
            "s3a://cdc-test/" + prefix_ + "date=2026-11-25/part%200.parquet");
  EXPECT_EQ(store->Describe(), "s3://cdc-test/" + prefix_.substr(0, prefix_.size() - 1));
  EXPECT_GT(env_->Admin("stats")["forwarded"].get<int>(), 10);
  // The body hash is signed on every kind of request (libcurl signs the headers we set).
  auto signed_headers = env_->Admin("stats")["signedHeaders"];
  for (const char* method : {"PUT", "GET", "HEAD"}) {
    EXPECT_EQ(signed_headers[method], method == std::string("PUT") ? "content-type;host;x-amz-content-sha256;x-amz-date"
                                                                   : "host;x-amz-content-sha256;x-amz-date")
        << signed_headers.dump();
  }
}

TEST_F(S3StoreTest, ReadsWhatMinioWrote) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  TempDir dir;
  std::string data(100000, '\0');
  std::mt19937 rng(7);
  for (auto& c : data) c = static_cast<char>(rng());
  cdc::testing::WriteFile(dir / "in.bin", data);
  CommandResult r = env_->Minio({"put", kBucket, prefix_ + "from-minio.bin", dir / "in.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(*store->Get("from-minio.bin"), data);
  EXPECT_EQ(*store->GetRange("from-minio.bin", 1000, 10), data.substr(1000, 10));
  EXPECT_EQ(*store->GetRange("from-minio.bin", 99990, 100), data.substr(99990));
  EXPECT_TRUE(store->GetRange("from-minio.bin", 100000, 1).status().IsInvalidArgument());
}

TEST_F(S3StoreTest, ListPaginatesWithContinuationTokensAndDecodesKeys) {
  StoreOptions o = env_->Options();
  o.list_page_size = 3;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back("p/" + std::to_string(i) + (i == 4 ? "&<amp>\"q\"" : ""));
  for (const auto& k : want) ASSERT_TRUE(store->Put(k, k).ok()) << k;
  ASSERT_TRUE(store->Put("other", "x").ok());
  std::sort(want.begin(), want.end());
  env_->Admin("reset");
  auto listed = store->List("p/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString() << env_->Logs();
  std::vector<std::string> got;
  for (const auto& o : *listed) {
    got.push_back(o.key);
    EXPECT_EQ(o.size, o.key.size());
  }
  EXPECT_EQ(got, want);
  // 10 keys in pages of 3: four GETs.
  EXPECT_EQ(env_->Admin("stats")["methods"]["GET"], 4);
}

TEST_F(S3StoreTest, PutIfAbsentCreatesOnceAndKeepsFirstContent) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->PutIfAbsent("_commits/1", "first").ok());
  Status s = store->PutIfAbsent("_commits/1", "second");
  EXPECT_TRUE(s.IsAlreadyExists()) << s.ToString();
  EXPECT_NE(s.message().find("_commits/1"), std::string::npos) << s.ToString();
  EXPECT_EQ(MinioSha("_commits/1"), Expected("first"));
  // The conditional header is signed, so a proxy cannot strip it unnoticed.
  EXPECT_EQ(env_->Admin("stats")["signedHeaders"]["PUT"],
            "content-type;host;if-none-match;x-amz-content-sha256;x-amz-date");
}

// With a server that honours If-None-Match (the proxy emulates AWS S3/MinIO here), racing writers
// that all pass the HEAD still get exactly one winner.
TEST_F(S3StoreTest, PutIfAbsentIsAtomicWhereServerHonoursIfNoneMatch) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  env_->Admin("conditional?on=1");
  constexpr int kWriters = 8;
  std::atomic<int> winners{0}, losers{0};
  std::vector<std::string> errors(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      Status s = store->PutIfAbsent("_commits/race", "writer-" + std::to_string(i));
      if (s.ok()) ++winners;
      else if (s.IsAlreadyExists()) ++losers;
      else errors[i] = s.ToString();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(losers.load(), kWriters - 1);
  CommandResult r = env_->Minio({"sha256", kBucket, prefix_ + "_commits/race"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  bool one_of_ours = false;
  for (int i = 0; i < kWriters; ++i) one_of_ours |= r.out == Expected("writer-" + std::to_string(i));
  EXPECT_TRUE(one_of_ours) << r.out;
}

// The conditional PUT reached the server but its answer was lost: the retry gets 412, and
// PutIfAbsent recognises its own bytes instead of reporting AlreadyExists.
TEST_F(S3StoreTest, LostAnswerOfConditionalPutIsRecognisedAsOurs) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  env_->Admin("conditional?on=1");
  env_->Admin("lose?count=1&method=PUT");
  Status s = store->PutIfAbsent("_commits/lost", "mine");
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto stats = env_->Admin("stats");
  EXPECT_EQ(stats["lost"], 1) << stats.dump();
  EXPECT_EQ(stats["preconditionFailed"], 1) << stats.dump();
  EXPECT_EQ(MinioSha("_commits/lost"), Expected("mine"));
  EXPECT_TRUE(store->PutIfAbsent("_commits/lost", "other").IsAlreadyExists());
  // A plain Put whose answer is lost is simply retried (PUT is idempotent).
  env_->Admin("lose?count=1&method=PUT");
  ASSERT_TRUE(store->Put("plain", "v2").ok());
  EXPECT_EQ(env_->Admin("stats")["lost"], 2);
  EXPECT_EQ(MinioSha("plain"), Expected("v2"));
}

TEST_F(S3StoreTest, DeleteAndMissingObjects) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("gone", "x").ok());
  ASSERT_TRUE(store->Delete("gone").ok());
  auto g = store->Get("gone");
  EXPECT_TRUE(g.status().IsNotFound()) << g.status().ToString();
  EXPECT_NE(g.status().message().find("s3://cdc-test/" + prefix_ + "gone"), std::string::npos);
  EXPECT_TRUE(store->Head("gone").status().IsNotFound());
  EXPECT_TRUE(store->Delete("gone").ok());  // idempotent
  EXPECT_NE(env_->Minio({"stat", kBucket, prefix_ + "gone"}).exit_code, 0);
}

TEST_F(S3StoreTest, MultipartUploadAboveThresholdReadBackByMinio) {
  StoreOptions o = env_->Options();
  o.multipart_threshold = 5 << 20;
  o.multipart_part_size = 5 << 20;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  std::string data(12 * 1024 * 1024 + 123, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  env_->Admin("reset");
  ASSERT_TRUE(store->Put("big.bin", data).ok()) << env_->Logs();
  auto stats = env_->Admin("stats");
  EXPECT_EQ(stats["methods"]["POST"], 2) << stats.dump();  // initiate + complete
  EXPECT_EQ(stats["methods"]["PUT"], 3) << stats.dump();   // 5 + 5 + 2 MiB parts
  EXPECT_EQ(MinioSha("big.bin"), Expected(data));
  // Streaming from a file takes the same path.
  TempDir dir;
  cdc::testing::WriteFile(dir / "f.bin", data.substr(0, 11 * 1024 * 1024));
  ASSERT_TRUE(store->PutFile("big-file.bin", dir / "f.bin").ok());
  EXPECT_EQ(MinioSha("big-file.bin"), Expected(data.substr(0, 11 * 1024 * 1024)));
  EXPECT_EQ(*store->GetRange("big.bin", 6 << 20, 100), data.substr(6 << 20, 100));
}

// The checker is not a pass-through: curl's own SigV4 (the command-line tool) with a body hash that does
// not match the body is refused, and accepted with the right one.
TEST_F(S3StoreTest, ProxyChecksTheSignedBodyHash) {
  expect_rejections_ = true;
  auto put = [&](const std::string& claimed_sha) {
    return RunCommand({"curl", "-sS", "-o", "/dev/stdout", "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3",
                       "--user", std::string(kKey) + ":" + kSecret, "-H", "x-amz-content-sha256: " + claimed_sha,
                       "-H", "Content-Type: application/octet-stream", "-X", "PUT", "--data-binary", "the body",
                       env_->ProxyEndpoint() + "/cdc-test/" + prefix_ + "k"});
  };
  CommandResult bad = put(Sha256Hex("another body"));
  EXPECT_NE(bad.out.find("XAmzContentSHA256Mismatch"), std::string::npos) << bad.Describe();
  EXPECT_EQ(bad.out.substr(bad.out.size() - 3), "400") << bad.Describe();
  CommandResult good = put(Sha256Hex("the body"));
  EXPECT_EQ(good.out.substr(good.out.size() - 3), "200") << good.Describe();
  EXPECT_EQ(MinioSha("k"), Expected("the body"));
}

TEST_F(S3StoreTest, ServerErrorsTwiceThenPutSucceeds) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  env_->Admin("fail?count=2&status=500");
  ASSERT_TRUE(store->Put("retried", "after two 500s").ok()) << env_->Logs();
  EXPECT_EQ(env_->Admin("stats")["injected"], 2);
  EXPECT_EQ(MinioSha("retried"), Expected("after two 500s"));
  // 503 SlowDown and 429 are retried the same way, for reads too.
  env_->Admin("fail?count=2&status=503");
  EXPECT_EQ(*store->Get("retried"), "after two 500s");
  env_->Admin("fail?count=1&status=429");
  EXPECT_TRUE(store->Head("retried").ok());
  // Connections closed without an answer are retried.
  env_->Admin("drop?count=2");
  ASSERT_TRUE(store->Put("after-drops", "ok").ok());
  EXPECT_EQ(env_->Admin("stats")["dropped"], 2);
  EXPECT_EQ(MinioSha("after-drops"), Expected("ok"));
}

TEST_F(S3StoreTest, PersistentServerErrorsGiveUpWithClearError) {
  StoreOptions o = env_->Options();
  o.max_attempts = 3;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  env_->Admin("fail?count=1000&status=500");
  Status s = store->Put("never", "x");
  env_->Admin("reset");
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_NE(s.message().find("s3://cdc-test/" + prefix_ + "never"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("3 attempts"), std::string::npos) << s.ToString();
}

TEST_F(S3StoreTest, ServerDownIsUnavailableAfterRetries) {
  StoreOptions o = env_->Options();
  o.s3_endpoint = "http://127.0.0.1:" + std::to_string(FreePort());  // nothing listens there
  o.max_attempts = 3;
  auto s = OpenStore("s3://cdc-test/x/", o);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsUnavailable()) << s.status().ToString();
  EXPECT_NE(s.status().message().find(o.s3_endpoint), std::string::npos) << s.status().ToString();
  EXPECT_NE(s.status().message().find("after 3 attempts"), std::string::npos) << s.status().ToString();
}

TEST_F(S3StoreTest, WrongSecretIsRefusedWithoutLeakingIt) {
  expect_rejections_ = true;
  StoreOptions o = env_->Options();
  o.secret_access_key = "wrong-secret-d0n7-l34k";
  auto s = OpenStore("s3://cdc-test/" + prefix_, o);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsUnauthenticated()) << s.status().ToString();
  EXPECT_NE(s.status().message().find("cdc-test"), std::string::npos) << s.status().ToString();
  EXPECT_NE(s.status().message().find("SignatureDoesNotMatch"), std::string::npos) << s.status().ToString();
  EXPECT_EQ(s.status().ToString().find("wrong-secret-d0n7-l34k"), std::string::npos) << s.status().ToString();
  // Exactly one request: credential errors are not retried.
  auto stats = env_->Admin("stats");
  EXPECT_EQ(stats["requests"], 1) << stats.dump();
  EXPECT_EQ(stats["rejected"], 1) << stats.dump();
  // The checker also refuses an independent client with the wrong secret (it checks signatures at all).
  CommandResult m = env_->Minio({"list", kBucket, ""}, "wrong-secret");
  EXPECT_NE(m.exit_code, 0);
  EXPECT_NE(m.err.find("SignatureDoesNotMatch"), std::string::npos) << m.Describe();
  // A wrong access key id is refused as well.
  o.secret_access_key = kSecret;
  o.access_key_id = "NOT-THE-KEY";
  auto k = OpenStore("s3://cdc-test/" + prefix_, o);
  EXPECT_TRUE(k.status().IsUnauthenticated()) << k.status().ToString();
  // A wrong region signs a different scope: refused, and the message points at AWS_REGION.
  o.access_key_id = kKey;
  o.region = "eu-west-1";
  auto reg = OpenStore("s3://cdc-test/" + prefix_, o);
  EXPECT_TRUE(reg.status().IsUnauthenticated()) << reg.status().ToString();
  EXPECT_NE(reg.status().message().find("AWS_REGION"), std::string::npos) << reg.status().ToString();
}

TEST_F(S3StoreTest, MissingBucketIsClearAndCanBeCreated) {
  auto s = OpenStore("s3://no-such-bucket-1/data/", env_->Options());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsFailedPrecondition()) << s.status().ToString();
  EXPECT_NE(s.status().message().find("bucket 'no-such-bucket-1' does not exist"), std::string::npos)
      << s.status().ToString();
  StoreOptions o = env_->Options();
  o.create_bucket = true;
  auto created = OpenStore("s3://new-bucket-1/data/", o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_TRUE((*created)->Put("k", "in a new bucket").ok());
  CommandResult r = env_->Minio({"sha256", "new-bucket-1", "data/k"});
  EXPECT_EQ(r.out, Expected("in a new bucket")) << r.Describe();
  // Opening again with create_bucket finds it and keeps it.
  auto again = OpenStore("s3://new-bucket-1/data/", o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->Get("k"), "in a new bucket");
}

TEST_F(S3StoreTest, CredentialsFromEnvironment) {
  ::setenv("AWS_ACCESS_KEY_ID", kKey, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", kSecret, 1);
  ::setenv("CDCPIPE_S3_ENDPOINT", env_->ProxyEndpoint().c_str(), 1);
  auto s = OpenStore("s3://cdc-test/" + prefix_);
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("CDCPIPE_S3_ENDPOINT");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE((*s)->Put("env", "from env").ok());
  EXPECT_EQ(MinioSha("env"), Expected("from env"));
}

}  // namespace
}  // namespace cdc::store
