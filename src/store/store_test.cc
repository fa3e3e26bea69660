// Unit tests of the store module: the local store's contracts, URI parsing, key validation, the
// S3 XML parser and the SigV4 helpers. The S3 store against a server: tests/store_s3_test.cc.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "store/local_store.h"
#include "store/object_store.h"
#include "store/s3_store.h"
#include "store/s3_xml.h"
#include "store/crypto_api.h"
#include "store/curl_api.h"

namespace cdc::store {
namespace {

// Every LocalStore test runs with unnamed temp files (O_TMPFILE, the default) and with named ones (the
// way on filesystems without O_TMPFILE).
class LocalStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cdcpipe-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    StoreOptions options;
    options.local_tmpfile = GetParam();
    auto s = OpenStore(dir_ + "/root", options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> Keys(std::string_view prefix) {
    auto r = store_->List(prefix);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> keys;
    if (r.ok()) {
      for (const auto& o : *r) keys.push_back(o.key);
    }
    return keys;
  }

  std::string dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(LocalStoreTest, PutGetRoundTripAndOverwrite) {
  ASSERT_TRUE(store_->Put("a/b/c.bin", std::string("x\0y", 3)).ok());
  auto got = store_->Get("a/b/c.bin");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::string("x\0y", 3));
  ASSERT_TRUE(store_->Put("a/b/c.bin", "second").ok());
  EXPECT_EQ(*store_->Get("a/b/c.bin"), "second");
  // Independent check: the file is where the key says.
  std::ifstream in(dir_ + "/root/a/b/c.bin");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "second");
  ASSERT_TRUE(store_->Put("empty", "").ok());
  EXPECT_EQ(*store_->Get("empty"), "");
}

TEST_P(LocalStoreTest, GetMissingIsNotFound) {
  auto r = store_->Get("nope/x");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("nope/x"), std::string::npos);
  EXPECT_TRUE(store_->Head("nope").status().IsNotFound());
}

TEST_P(LocalStoreTest, GetBytesMapsTheObjectAndOutlivesAReplacement) {
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  ASSERT_TRUE(store_->Put("seg", big).ok());
  auto bytes = store_->GetBytes("seg");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_TRUE(bytes->data == big);
  EXPECT_EQ(*store_->Get("seg"), big);  // Get of a file exactly as large as fstat said
  // A Put replaces the file by a rename: the mapped bytes stay the old object's.
  ASSERT_TRUE(store_->Put("seg", "new").ok());
  EXPECT_TRUE(bytes->data == big);
  EXPECT_EQ(store_->GetBytes("seg")->data, "new");
  ASSERT_TRUE(store_->Put("empty", "").ok());
  auto empty = store_->GetBytes("empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->data.empty());
  EXPECT_TRUE(store_->GetBytes("nope/x").status().IsNotFound());
  ASSERT_TRUE(std::filesystem::create_directories(dir_ + "/root/adir"));
  EXPECT_TRUE(store_->GetBytes("adir").status().IsNotFound());
}

TEST_P(LocalStoreTest, PutIfAbsentCreatesOnceThenAlreadyExists) {
  ASSERT_TRUE(store_->PutIfAbsent("_commits/00001", "first").ok());
  Status s = store_->PutIfAbsent("_commits/00001", "second");
  EXPECT_TRUE(s.IsAlreadyExists()) << s.ToString();
  EXPECT_EQ(*store_->Get("_commits/00001"), "first");
  EXPECT_EQ(Keys("_commits/"), std::vector<std::string>{"_commits/00001"});  // no temp left over
}

TEST_P(LocalStoreTest, PutIfAbsentExactlyOneWinnerUnderConcurrency) {
  constexpr int kThreads = 8;
  std::atomic<int> winners{0}, losers{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Status s = store_->PutIfAbsent("marker", "writer-" + std::to_string(i));
      if (s.ok()) ++winners;
      else if (s.IsAlreadyExists()) ++losers;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(losers.load(), kThreads - 1);
  EXPECT_EQ(store_->Get("marker")->rfind("writer-", 0), 0u);
}

TEST_P(LocalStoreTest, RangeGet) {
  ASSERT_TRUE(store_->Put("r", "0123456789").ok());
  EXPECT_EQ(*store_->GetRange("r", 0, 3), "012");
  EXPECT_EQ(*store_->GetRange("r", 7, 3), "789");
  EXPECT_EQ(*store_->GetRange("r", 8, 100), "89");  // clipped at the end
  EXPECT_TRUE(store_->GetRange("r", 10, 1).status().IsInvalidArgument());
  EXPECT_TRUE(store_->GetRange("r", 0, 0).status().IsInvalidArgument());
  EXPECT_TRUE(store_->GetRange("missing", 0, 1).status().IsNotFound());
}

TEST_P(LocalStoreTest, ListByPrefixSortedWithSizes) {
  ASSERT_TRUE(store_->Put("t/b", "22").ok());
  ASSERT_TRUE(store_->Put("t/a", "1").ok());
  ASSERT_TRUE(store_->Put("t/sub/c", "333").ok());
  ASSERT_TRUE(store_->Put("tx", "4444").ok());
  ASSERT_TRUE(store_->Put("u/d", "").ok());
  EXPECT_EQ(Keys(""), (std::vector<std::string>{"t/a", "t/b", "t/sub/c", "tx", "u/d"}));
  EXPECT_EQ(Keys("t"), (std::vector<std::string>{"t/a", "t/b", "t/sub/c", "tx"}));
  EXPECT_EQ(Keys("t/"), (std::vector<std::string>{"t/a", "t/b", "t/sub/c"}));
  EXPECT_EQ(Keys("t/s"), (std::vector<std::string>{"t/sub/c"}));
  EXPECT_EQ(Keys("zzz"), std::vector<std::string>{});
  auto r = store_->List("t/sub/");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].size, 3u);
  EXPECT_GT((*r)[0].mtime_micros, 1700000000LL * 1000000);
}

TEST_P(LocalStoreTest, ListManyObjects) {
  // More than any page size a caller might pick: List returns all of them, in order.
  std::vector<std::string> want;
  for (int i = 0; i < 2500; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "many/%05d", i);
    want.push_back(key);
  }
  StoreOptions fast;
  fast.local_fsync = false;
  auto s = OpenStore(dir_ + "/root", fast);
  ASSERT_TRUE(s.ok());
  for (const auto& k : want) ASSERT_TRUE((*s)->Put(k, k).ok());
  EXPECT_EQ(Keys("many/"), want);
}

TEST_P(LocalStoreTest, TempFilesOfCrashedPutsAreNeverListed) {
  ASSERT_TRUE(store_->Put("d/real", "ok").ok());
  // What a Put killed between write and rename leaves behind.
  std::ofstream(dir_ + "/root/d/" + std::string(kLocalTempPrefix) + "real.123.0.abc") << "partial";
  std::ofstream(dir_ + "/root/" + std::string(kLocalTempPrefix) + "top.1.1.f") << "partial";
  EXPECT_EQ(Keys(""), std::vector<std::string>{"d/real"});
  auto* local = dynamic_cast<LocalStore*>(store_.get());
  ASSERT_NE(local, nullptr);
  auto removed = local->RemoveStaleTempFiles();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);
  EXPECT_EQ(Keys(""), std::vector<std::string>{"d/real"});
  EXPECT_EQ(*store_->Get("d/real"), "ok");
}

TEST_P(LocalStoreTest, ReaderNeverSeesPartialObject) {
  // A reader racing with writers of two different full contents only ever sees one of them whole.
  const std::string a(1 << 20, 'a'), b(3 << 19, 'b');  // different sizes
  ASSERT_TRUE(store_->Put("big", a).ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(store_->Put("big", i % 2 ? a : b).ok());
    stop = true;
  });
  int reads = 0;
  while (!stop) {
    auto r = store_->Get("big");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(*r == a || *r == b) << "saw a partial object of " << r->size() << " bytes";
    ++reads;
  }
  writer.join();
  EXPECT_GT(reads, 0);
}

TEST_P(LocalStoreTest, DeleteIsIdempotent) {
  ASSERT_TRUE(store_->Put("x/y", "1").ok());
  EXPECT_TRUE(store_->Delete("x/y").ok());
  EXPECT_TRUE(store_->Get("x/y").status().IsNotFound());
  EXPECT_TRUE(store_->Delete("x/y").ok());
  EXPECT_EQ(Keys(""), std::vector<std::string>{});
}

TEST_P(LocalStoreTest, PutFileCopiesBytes) {
  std::string src = dir_ + "/src.bin";
  std::string data;
  for (int i = 0; i < 3 * 1024 * 1024 + 7; ++i) data.push_back(static_cast<char>(i * 31));
  std::ofstream(src, std::ios::binary) << data;
  ASSERT_TRUE(store_->PutFile("f/copy.bin", src).ok());
  EXPECT_EQ(*store_->Get("f/copy.bin"), data);
  EXPECT_TRUE(store_->PutFile("f/x", dir_ + "/missing").IsIoError());
  EXPECT_TRUE(store_->Head("f/x").status().IsNotFound());
}

TEST_P(LocalStoreTest, InvalidKeysAreRejected) {
  for (const char* k : {"", "/abs", "a//b", "a/../b", "..", "a/.", "trailing/"}) {
    Status s = store_->Put(k, "x");
    EXPECT_TRUE(s.IsInvalidArgument()) << "key '" << k << "': " << s.ToString();
  }
  EXPECT_TRUE(store_->Put(std::string("a\0b", 3), "x").IsInvalidArgument());
}

TEST_P(LocalStoreTest, AbsoluteUriAndDescribe) {
  EXPECT_EQ(store_->AbsoluteUri("date=2026-11-25/part 0.parquet"),
            "file://" + dir_ + "/root/date=2026-11-25/part%200.parquet");
  EXPECT_EQ(store_->Describe(), "file://" + dir_ + "/root");
  // The URI opens the same store.
  auto again = OpenStore(store_->Describe());
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(store_->Put("k", "v").ok());
  EXPECT_EQ(*(*again)->Get("k"), "v");
}

// Puts and PutDeriveds of new and existing objects and refused PutIfAbsents leave nothing but the
// objects on disk.
TEST_P(LocalStoreTest, NoTempFilesAreLeftOnDisk) {
  ASSERT_TRUE(store_->Put("d/a", "1").ok());
  ASSERT_TRUE(store_->Put("d/a", "22").ok());
  ASSERT_TRUE(store_->PutIfAbsent("d/b", "3").ok());
  EXPECT_TRUE(store_->PutIfAbsent("d/b", "4").IsAlreadyExists());
  ASSERT_TRUE(store_->PutDerived("d/c", "5").ok());
  ASSERT_TRUE(store_->PutDerived("d/c", "66").ok());
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/root/d")) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*store_->Get("d/a"), "22");
  EXPECT_EQ(*store_->Get("d/b"), "3");
  EXPECT_EQ(*store_->Get("d/c"), "66");
}

INSTANTIATE_TEST_SUITE_P(UnnamedAndNamedTempFiles, LocalStoreTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Unnamed" : "Named"; });

TEST(ParseStoreUriTest, Forms) {
  auto s3 = ParseStoreUri("s3://bucket/some/prefix/");
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->kind, StoreLocation::Kind::kS3);
  EXPECT_EQ(s3->bucket, "bucket");
  EXPECT_EQ(s3->prefix, "some/prefix/");
  auto bare = ParseStoreUri("s3a://b");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->bucket, "b");
  EXPECT_EQ(bare->prefix, "");
  auto file = ParseStoreUri("file:///tmp/x%20y/");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->kind, StoreLocation::Kind::kLocal);
  EXPECT_EQ(file->local_dir, "/tmp/x y");
  auto rel = ParseStoreUri("rel/dir");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->local_dir, std::filesystem::current_path().string() + "/rel/dir");
  EXPECT_TRUE(ParseStoreUri("s3://").status().IsInvalidArgument());
  EXPECT_TRUE(ParseStoreUri("gs://b/x").status().IsInvalidArgument());
  EXPECT_TRUE(ParseStoreUri("s3://key:secret@b/x").status().IsInvalidArgument());
  EXPECT_EQ(ParseStoreUri("s3://key:secret@b/x").status().message().find("secret"), std::string::npos);
  EXPECT_TRUE(ParseStoreUri("s3://b/a/../c").status().IsInvalidArgument());
}

TEST(StoreOptionsTest, EnvironmentFallbacks) {
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  ::setenv("MINIO_ROOT_USER", "minio-user", 1);
  ::setenv("MINIO_ROOT_PASSWORD", "minio-pass", 1);
  ::setenv("CDCPIPE_S3_ENDPOINT", "http://127.0.0.1:1", 1);
  StoreOptions o = StoreOptions::FromEnvironment({});
  EXPECT_EQ(o.access_key_id, "minio-user");
  EXPECT_EQ(o.secret_access_key, "minio-pass");
  EXPECT_EQ(o.region, "us-east-1");
  EXPECT_EQ(o.s3_endpoint, "http://127.0.0.1:1");
  ::setenv("AWS_ACCESS_KEY_ID", "aws-id", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "aws-secret", 1);
  ::setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
  o = StoreOptions::FromEnvironment({});
  EXPECT_EQ(o.access_key_id, "aws-id");
  EXPECT_EQ(o.secret_access_key, "aws-secret");
  EXPECT_EQ(o.region, "eu-west-3");
  StoreOptions given;
  given.s3_endpoint = "http://explicit:9000";
  EXPECT_EQ(StoreOptions::FromEnvironment(given).s3_endpoint, "http://explicit:9000");
  for (const char* n : {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "CDCPIPE_S3_ENDPOINT", "AWS_ACCESS_KEY_ID",
                        "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"})
    ::unsetenv(n);
}

TEST(S3XmlTest, ListObjectsV2PageWithEntitiesAndToken) {
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix>p/</Prefix>"
      "<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
      "<Contents><Key>p/a&amp;b &lt;c&gt; &#233;&#x4e2d;.txt</Key><LastModified>2026-11-25T10:00:00.123Z</LastModified>"
      "<ETag>&quot;abc&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>"
      "<Contents><Key>p/z</Key><LastModified>1970-01-01T00:00:01.000Z</LastModified><ETag>\"d\"</ETag>"
      "<Size>0</Size></Contents>"
      "<NextContinuationToken>tok+/=&amp;1</NextContinuationToken></ListBucketResult>";
  auto page = s3xml::ParseListObjectsV2(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a&b <c> \xC3\xA9\xE4\xB8\xAD.txt");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_EQ(page->objects[0].etag, "abc");
  EXPECT_EQ(page->objects[0].mtime_micros, 1795600800123000LL);
  EXPECT_EQ(page->objects[1].key, "p/z");
  EXPECT_EQ(page->objects[1].mtime_micros, 1000000);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "tok+/=&1");
}

TEST(S3XmlTest, LastPageAndEmptyListing) {
  auto page = s3xml::ParseListObjectsV2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->objects.empty());
  EXPECT_FALSE(page->truncated);
}

TEST(S3XmlTest, MalformedInputIsCorruption) {
  EXPECT_TRUE(s3xml::ParseListObjectsV2("<Error><Code>x</Code></Error>").status().IsCorruption());
  EXPECT_TRUE(s3xml::ParseListObjectsV2("<ListBucketResult><Contents><Key>a&bogus;</Key></Contents>"
                                        "</ListBucketResult>")
                  .status()
                  .IsCorruption());
  EXPECT_TRUE(s3xml::ParseListObjectsV2("<ListBucketResult><Contents><Key>a</Key><Size>1x</Size></Contents>"
                                        "</ListBucketResult>")
                  .status()
                  .IsCorruption());
  EXPECT_TRUE(s3xml::ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")
                  .status()
                  .IsCorruption());
  EXPECT_TRUE(s3xml::DecodeText("&#0;").status().IsCorruption());
  EXPECT_TRUE(s3xml::DecodeText("&#x;").status().IsCorruption());
  EXPECT_TRUE(s3xml::DecodeText("a & b").status().IsCorruption());
}

TEST(S3XmlTest, ErrorBody) {
  auto e = s3xml::ParseError(
      "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not "
      "exist</Message><BucketName>b</BucketName></Error>");
  EXPECT_EQ(e.code, "NoSuchBucket");
  EXPECT_EQ(e.message, "The specified bucket does not exist");
  // <CodeX> is not <Code>.
  EXPECT_EQ(s3xml::ParseError("<Error><CodeX>1</CodeX></Error>").code, "");
}

// The installed libcurl and libcrypto have every function the tables name (store/curl_api.h).
TEST(S3LibrariesTest, LoadTheInstalledLibraries) {
  Status curl = LoadLibcurl();
  ASSERT_TRUE(curl.ok()) << curl.ToString();
  EXPECT_STREQ(curl_easy_strerror(CURLE_OK), "No error");
  Status crypto = LoadLibcrypto();
  ASSERT_TRUE(crypto.ok()) << crypto.ToString();
  EXPECT_NE(EVP_sha256(), nullptr);
}

TEST(SigV4HelpersTest, UriEncodeAndSha256) {
  EXPECT_EQ(AwsUriEncode("a b/c~d_e.f-g+h=i&j%é", true), "a%20b/c~d_e.f-g%2Bh%3Di%26j%25%C3%A9");
  EXPECT_EQ(AwsUriEncode("a/b", false), "a%2Fb");
  // FIPS 180-2 test vectors.
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace cdc::store
