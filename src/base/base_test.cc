#include <gtest/gtest.h>

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "base/clock.h"
#include "base/closest_name.h"
#include "base/failpoint.h"
#include "base/json_escape.h"
#include "base/lsn.h"
#include "base/random_seed.h"
#include "base/redact.h"
#include "base/status.h"
#include "base/terminal_text.h"
#include "base/thread_placement.h"

namespace cdc {
namespace {

TEST(StatusTest, OkIsCheapAndEmpty) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, CodesAndContext) {
  Status s = Status::NotFound("table klienci");
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_FALSE(s.IsRetryable());
  EXPECT_EQ(s.ToString(), "Not found: table klienci");
  Status c = s.WithContext("import");
  EXPECT_TRUE(c.IsNotFound());
  EXPECT_EQ(c.message(), "import: table klienci");
  EXPECT_TRUE(Status::Unavailable("x").IsRetryable());
}

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  CDC_ASSIGN_OR_RETURN(int h, Half(v));
  CDC_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
}

TEST(LsnTest, ParseAndFormatRoundTrip) {
  auto l = Lsn::Parse("16/B374D848");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->value(), (uint64_t{0x16} << 32) | 0xB374D848u);
  EXPECT_EQ(l->ToString(), "16/B374D848");
  EXPECT_EQ(Lsn(0).ToString(), "0/0");
  EXPECT_FALSE(Lsn::Parse("16B374D848").has_value());
  EXPECT_FALSE(Lsn::Parse("/1").has_value());
  EXPECT_FALSE(Lsn::Parse("1/").has_value());
  EXPECT_FALSE(Lsn::Parse("1/XYZ").has_value());
  EXPECT_FALSE(Lsn::Parse("123456789/0").has_value());
  EXPECT_LT(*Lsn::Parse("0/FFFFFFFF"), *Lsn::Parse("1/0"));
}

TEST(RedactTest, UriPasswords) {
  EXPECT_EQ(RedactConninfo("postgresql://bob:s3cret@db:5432/app?sslmode=disable&password=x2"),
            "postgresql://bob:********@db:5432/app?sslmode=disable&password=********");
  EXPECT_EQ(RedactConninfo("postgres://bob@db/app"), "postgres://bob@db/app");
  // A scheme libpq does not know is still a URI with a password (found by fuzz/config_fuzz.cc).
  EXPECT_EQ(RedactConninfo("postgress://bob:s3cret@db/app"), "postgress://bob:********@db/app");
  EXPECT_EQ(RedactConninfo("postgres\xefql://u:p40ss@h/db"), "postgres\xefql://u:********@h/db");
  EXPECT_EQ(RedactConninfo("postgr %sql://u:p%40rs@h/db"), "postgr %sql://u:********@h/db");
  EXPECT_EQ(RedactConninfo("host=h dbname=postgresql://u:pw@h/db"), "host=h dbname=postgresql://u:********@h/db");
  EXPECT_EQ(RedactUriPasswords("unknown key 'url:\"s3://k:pw@h/b\"', see https://example.com/a:b@c"),
            "unknown key 'url:\"s3://k:********@h/b\"', see https://example.com/a:b@c");
}

TEST(RedactTest, KeyValuePasswords) {
  EXPECT_EQ(RedactConninfo("host=h password=s3cret dbname=d"), "host=h password=******** dbname=d");
  EXPECT_EQ(RedactConninfo("host=h password = 'a b\\' c' user=u"), "host=h password=******** user=u");
  EXPECT_EQ(RedactSecret("key ABC and ABC", "ABC"), "key ******** and ********");
  EXPECT_EQ(RedactSecret("nothing", ""), "nothing");
}

TEST(JsonEscapeTest, EscapesControlAndQuotes) {
  std::string out;
  AppendJsonString(&out, "a\"b\\c\nd\x01ż");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\u0001ż\"");
}

TEST(TerminalTextTest, EscapesEverythingATerminalActsOn) {
  // ESC [2J clears the screen, BEL rings, CR rewrites the line, DEL, C1 CSI (U+009B), RTL override.
  EXPECT_EQ(TerminalText("\x1b[2J\x07x\ry\x7f\xc2\x9b" "1m"), "\\x1b[2J\\x07x\\ry\\x7f\\u009b1m");
  EXPECT_EQ(TerminalText("a\u202eb\u2066c"), "a\\u202eb\\u2066c");
  EXPECT_EQ(TerminalText("two\nlines\tx"), "two\\nlines\\tx");
  EXPECT_EQ(TerminalText("two\nlines\tx\x1b", true), "two\nlines\tx\\x1b");
  EXPECT_EQ(TerminalText(std::string("nul\0!", 5)), "nul\\x00!");
  // Not UTF-8: a lone continuation byte, a truncated sequence, an overlong '/', a surrogate.
  EXPECT_EQ(TerminalText("\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80"), "\\x80|\\xe2\\x82|\\xc0\\xaf|\\xed\\xa0\\x80");
  // Names print as themselves: HTML, quotes, backslashes, emoji, Hebrew, combining marks.
  const std::string plain = "<img src=x onerror=alert(1)> it's \"q\" `b` back\\slash \xf0\x9f\x98\x80 \xd7\xa9\xd7\x9d e\xcc\x81";
  EXPECT_EQ(TerminalText(plain), plain);
}

TEST(TerminalTextTest, LineFlattensLineBreaksAndEscapesTheRest) {
  EXPECT_EQ(TerminalLine("could not connect\n\tIs the server running?\n"), "could not connect Is the server running?");
  EXPECT_EQ(TerminalLine("table x\n2026-01-01T00:00:00Z ERROR fake\x1b[2J"), "table x 2026-01-01T00:00:00Z ERROR fake\\x1b[2J");
}

TEST(DurationTest, Parses) {
  EXPECT_EQ(ParseDuration("1s")->count(), 1000);
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_EQ(ParseDuration("2m")->count(), 120000);
  EXPECT_EQ(ParseDuration("1.5")->count(), 1500);
  EXPECT_FALSE(ParseDuration("fast").ok());
  EXPECT_FALSE(ParseDuration("1d").ok());
}

TEST(FailpointTest, ErrorOnNthHit) {
  setenv("CDCPIPE_FAILPOINTS", "a.b=error:2,c=bogus", 1);
  FailpointReload();
  EXPECT_TRUE(FailpointHit("a.b").ok());
  Status s = FailpointHit("a.b");
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_TRUE(FailpointHit("a.b").ok());
  EXPECT_TRUE(FailpointHit("c").ok());
  unsetenv("CDCPIPE_FAILPOINTS");
  FailpointReload();
}

TEST(FailpointDeathTest, CrashExitsWithKnownCode) {
  EXPECT_EXIT(
      {
        setenv("CDCPIPE_FAILPOINTS", "x=crash", 1);
        FailpointReload();
        (void)FailpointHit("x");
      },
      testing::ExitedWithCode(kFailpointExitCode), "failpoint x");
}

TEST(RandomSeedTest, SeedsDiffer) {
  // 64 random bits: two equal seeds in a row would mean the source is broken (or constant).
  EXPECT_NE(RandomSeed(), RandomSeed());
}

cpu_set_t AffinityOf(pthread_t t) {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(pthread_getaffinity_np(t, sizeof(set), &set), 0);
  return set;
}

// Where the kernel packs threads (kernel.sched_vcpu_pack) and two CPUs are allowed, the placement pins
// this thread to its CPU and the other thread to the rest, and gives this thread its CPUs back when it
// ends; elsewhere it changes nothing.
TEST(ThreadPairPlacementTest, PinsThePairApartOnlyWhereTheKernelPacksThreads) {
  const cpu_set_t before = AffinityOf(pthread_self());
  std::atomic<bool> done{false};
  std::thread other([&] {
    while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  {
    ThreadPairPlacement placement(other);
    const cpu_set_t mine = AffinityOf(pthread_self());
    const cpu_set_t theirs = AffinityOf(other.native_handle());
    if (ThreadPlacementWanted() && CPU_COUNT(&before) >= 2) {
      EXPECT_TRUE(placement.active());
      EXPECT_EQ(CPU_COUNT(&mine), 1);
      EXPECT_EQ(CPU_COUNT(&theirs), CPU_COUNT(&before) - 1);
      cpu_set_t both;
      CPU_AND(&both, &mine, &theirs);
      EXPECT_EQ(CPU_COUNT(&both), 0);
      EXPECT_TRUE(CPU_ISSET(sched_getcpu(), &mine));
    } else {
      EXPECT_FALSE(placement.active());
      EXPECT_TRUE(CPU_EQUAL(&mine, &before));
      EXPECT_TRUE(CPU_EQUAL(&theirs, &before));
    }
  }
  const cpu_set_t after = AffinityOf(pthread_self());
  EXPECT_TRUE(CPU_EQUAL(&after, &before));
  done = true;
  other.join();
}

TEST(ClosestNameTest, SuggestsOnlyCloseNames) {
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  std::vector<std::string> tables = {"public.audit_log", "public.customers", "public.orders"};
  EXPECT_EQ(ClosestName("public.ordres", tables), "public.orders");
  EXPECT_EQ(ClosestName("public.custmer", tables), "public.customers");
  EXPECT_EQ(ClosestName("public.invoices", tables), "");
  EXPECT_EQ(ClosestName("x", {}), "");
}

}  // namespace
}  // namespace cdc
