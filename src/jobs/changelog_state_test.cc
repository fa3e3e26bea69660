// Unit tests of the changelog state machine and the field extractor.
#include "jobs/changelog_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <random>
#include <string>

namespace cdc::jobs {
namespace {

std::string Json(const std::optional<std::string>& s) {
  return s ? "\"" + *s + "\"" : "null";
}
std::string Num(std::optional<int64_t> v) { return v ? std::to_string(*v) : "null"; }

std::string Klient(int64_t id, const std::optional<std::string>& kraj) {
  return "{\"id\":" + std::to_string(id) + ",\"nazwa\":\"N\",\"email\":null,\"kraj\":" + Json(kraj) +
         ",\"telefon\":null}";
}
std::string Pracownik(int64_t id, std::optional<int64_t> wiek, const std::optional<std::string>& stanowisko) {
  return "{\"id\":" + std::to_string(id) + ",\"imie\":\"A\",\"nazwisko\":\"B\",\"email\":null,\"wiek\":" + Num(wiek) +
         ",\"stanowisko\":" + Json(stanowisko) + "}";
}
std::string Envelope(char op, const std::string& before, const std::string& after, uint64_t lsn = 100,
                     bool schema = false) {
  std::string payload = "{\"before\":" + before + ",\"after\":" + after +
                        ",\"source\":{\"version\":\"2.5.4.Final\",\"connector\":\"postgresql\",\"name\":\"dbserver1\","
                        "\"ts_ms\":1,\"snapshot\":\"false\",\"db\":\"postgres\",\"schema\":\"public\",\"table\":\"t\","
                        "\"txId\":7,\"lsn\":" +
                        std::to_string(lsn) + ",\"xmin\":null},\"op\":\"" + std::string(1, op) +
                        "\",\"ts_ms\":2,\"transaction\":null}";
  if (!schema) return payload;
  return "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"field\":\"before\",\"fields\":[{\"type\":"
         "\"int32\",\"field\":\"id\"}]}],\"name\":\"x.Envelope\"},\"payload\":" +
         payload + "}";
}

class StateTest : public ::testing::Test {
 protected:
  void Apply(AnalyticsTable table, const std::string& json) {
    ExtractedChange c;
    ASSERT_TRUE(extractor_.Extract(json, table, &c).ok()) << json;
    Status st = state_.Apply(table, c);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void K(char op, const std::string& before, const std::string& after) {
    Apply(AnalyticsTable::kKlienci, Envelope(op, before, after));
  }
  void P(char op, const std::string& before, const std::string& after) {
    Apply(AnalyticsTable::kPracownicy, Envelope(op, before, after));
  }
  std::vector<CountryCount> Countries() { return state_.KlienciByCountry(); }
  std::vector<PositionAge> Positions() { return state_.AvgAgeByPosition(); }

  ChangeExtractor extractor_;
  ChangelogState state_;
};

TEST(TableOfTopicTest, LastSegment) {
  EXPECT_EQ(TableOfTopic("dbserver1.public.klienci"), AnalyticsTable::kKlienci);
  EXPECT_EQ(TableOfTopic("x.y.pracownicy"), AnalyticsTable::kPracownicy);
  EXPECT_EQ(TableOfTopic("dbserver1.public.projekty"), AnalyticsTable::kOther);
  EXPECT_EQ(TableOfTopic("klienci"), AnalyticsTable::kKlienci);
  EXPECT_EQ(TableOfTopic("dbserver1.public.klienci_old"), AnalyticsTable::kOther);
}

TEST(ExtractorTest, WithAndWithoutSchemaGiveTheSameFields) {
  ChangeExtractor x;
  for (bool schema : {false, true}) {
    ExtractedChange c;
    std::string json = Envelope('u', Pracownik(3, 40, "Dev"), Pracownik(4, std::nullopt, "QA"), 12345, schema);
    ASSERT_TRUE(x.Extract(json, AnalyticsTable::kPracownicy, &c).ok());
    EXPECT_EQ(c.op, 'u');
    EXPECT_EQ(c.before_id, 3);
    EXPECT_EQ(c.after_id, 4);
    EXPECT_EQ(c.group, std::optional<std::string_view>("QA"));
    EXPECT_FALSE(c.wiek.has_value());
    EXPECT_EQ(c.lsn, Lsn(12345));
  }
}

TEST(ExtractorTest, UnicodeEscapesAreDecoded) {
  ChangeExtractor x;
  ExtractedChange c;
  // "Włochy" written with a \u escape for ł, and raw UTF-8 "Ελλάδα".
  ASSERT_TRUE(x.Extract(Envelope('c', "null", Klient(1, "W\\u0142ochy")), AnalyticsTable::kKlienci, &c).ok());
  EXPECT_EQ(*c.group, "W\xc5\x82ochy");
  ASSERT_TRUE(x.Extract(Envelope('c', "null", Klient(1, "Ελλάδα")), AnalyticsTable::kKlienci, &c).ok());
  EXPECT_EQ(*c.group, "Ελλάδα");
}

TEST(ExtractorTest, BadInputIsCorruption) {
  ChangeExtractor x;
  ExtractedChange c;
  EXPECT_TRUE(x.Extract("not json", AnalyticsTable::kKlienci, &c).IsCorruption());
  EXPECT_TRUE(x.Extract("[1,2]", AnalyticsTable::kKlienci, &c).IsCorruption());
  EXPECT_TRUE(x.Extract("{\"before\":null,\"after\":null}", AnalyticsTable::kKlienci, &c).IsCorruption());
  EXPECT_TRUE(x.Extract("{\"op\":\"c\",\"after\":{\"id\":\"x\"}}", AnalyticsTable::kKlienci, &c).IsCorruption());
  Status st = x.Extract("{\"op\":\"c\",\"after\":{\"id\":1,\"kraj\":", AnalyticsTable::kKlienci, &c);
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
}

TEST_F(StateTest, InsertUpdateDeleteKlienci) {
  K('r', "null", Klient(1, "PL"));
  K('c', "null", Klient(2, "PL"));
  K('c', "null", Klient(3, "DE"));
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"PL", 2}, {"DE", 1}}));
  // An update that changes kraj moves the customer: retract PL, add DE (not a second count).
  K('u', Klient(2, "PL"), Klient(2, "DE"));
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"DE", 2}, {"PL", 1}}));
  // An update that changes nothing relevant does not double count.
  K('u', Klient(2, "DE"), Klient(2, "DE"));
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"DE", 2}, {"PL", 1}}));
  K('d', Klient(1, "PL"), "null");
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"DE", 2}}));
  EXPECT_EQ(state_.klienci_rows(), 2u);
  // Deleting a missing key is ignored.
  K('d', Klient(99, "PL"), "null");
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"DE", 2}}));
}

TEST_F(StateTest, PrimaryKeyChangeDeletesTheOldKey) {
  K('c', "null", Klient(1, "PL"));
  K('u', Klient(1, "PL"), Klient(10, "CZ"));
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"CZ", 1}}));
  EXPECT_EQ(state_.klienci_rows(), 1u);
  // A later delete of the new key empties the table; of the old key changes nothing.
  K('d', Klient(1, "PL"), "null");
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"CZ", 1}}));
  K('d', Klient(10, "CZ"), "null");
  EXPECT_TRUE(Countries().empty());

  P('c', "null", Pracownik(1, 30, "Dev"));
  P('c', "null", Pracownik(2, 50, "Dev"));
  // Key 1 -> 2 while 2 exists cannot happen in PostgreSQL; key 1 -> 3 with a new position:
  P('u', Pracownik(1, 30, "Dev"), Pracownik(3, 31, "QA"));
  EXPECT_EQ(Positions(), (std::vector<PositionAge>{{"Dev", 50.0, 1}, {"QA", 31.0, 1}}));
}

TEST_F(StateTest, ReadOverExistingRowDoesNotDoubleCount) {
  K('c', "null", Klient(1, "PL"));
  K('r', "null", Klient(1, "DE"));
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"DE", 1}}));
  P('c', "null", Pracownik(1, 30, "Dev"));
  P('r', "null", Pracownik(1, 40, "Dev"));
  EXPECT_EQ(Positions(), (std::vector<PositionAge>{{"Dev", 40.0, 1}}));
}

TEST_F(StateTest, TruncateEmptiesOnlyItsTable) {
  K('c', "null", Klient(1, "PL"));
  P('c', "null", Pracownik(1, 30, "Dev"));
  K('t', "null", "null");
  EXPECT_TRUE(Countries().empty());
  EXPECT_EQ(state_.klienci_rows(), 0u);
  EXPECT_EQ(Positions().size(), 1u);
  K('c', "null", Klient(1, "PL"));
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"PL", 1}}));
  P('t', "null", "null");
  EXPECT_TRUE(Positions().empty());
}

TEST_F(StateTest, NullsFollowSql) {
  K('c', "null", Klient(1, std::nullopt));
  K('c', "null", Klient(2, std::nullopt));
  K('c', "null", Klient(3, "PL"));
  // NULL kraj is its own group (GROUP BY), sorted last among equal counts.
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{std::nullopt, 2}, {"PL", 1}}));
  K('u', Klient(1, std::nullopt), Klient(1, "PL"));
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"PL", 2}, {std::nullopt, 1}}));

  P('c', "null", Pracownik(1, 30, "Dev"));
  P('c', "null", Pracownik(2, std::nullopt, "Dev"));  // counted in count, not in avg
  P('c', "null", Pracownik(3, std::nullopt, "QA"));   // avg NULL: no ages
  P('c', "null", Pracownik(4, 44, std::nullopt));     // NULL position
  EXPECT_EQ(Positions(), (std::vector<PositionAge>{{"Dev", 30.0, 2}, {"QA", std::nullopt, 1}, {std::nullopt, 44.0, 1}}));
  // wiek goes NULL -> 50: average over the two ages.
  P('u', Pracownik(2, std::nullopt, "Dev"), Pracownik(2, 50, "Dev"));
  EXPECT_EQ(Positions()[0], (PositionAge{"Dev", 40.0, 2}));
  // wiek goes 30 -> NULL, position stays.
  P('u', Pracownik(1, 30, "Dev"), Pracownik(1, std::nullopt, "Dev"));
  EXPECT_EQ(Positions()[0], (PositionAge{"Dev", 50.0, 2}));
  P('d', Pracownik(2, 50, "Dev"), "null");
  EXPECT_EQ(Positions()[0], (PositionAge{"Dev", std::nullopt, 1}));
}

TEST_F(StateTest, UnicodeGroupsAreDistinct) {
  K('c', "null", Klient(1, "Polska"));
  K('c', "null", Klient(2, "Pólska"));
  K('c', "null", Klient(3, "日本"));
  K('c', "null", Klient(4, "日本"));
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"日本", 2}, {"Polska", 1}, {"Pólska", 1}}));
}

TEST_F(StateTest, MissingIdsAndUnknownOpsAreRejected) {
  ExtractedChange c;
  c.op = 'c';
  EXPECT_TRUE(state_.Apply(AnalyticsTable::kKlienci, c).IsInvalidArgument());
  c.op = 'd';
  EXPECT_TRUE(state_.Apply(AnalyticsTable::kKlienci, c).IsInvalidArgument());
  c.op = 'x';
  c.before_id = 1;
  EXPECT_TRUE(state_.Apply(AnalyticsTable::kPracownicy, c).IsInvalidArgument());
  // Other tables are ignored whatever they hold.
  EXPECT_TRUE(state_.Apply(AnalyticsTable::kOther, c).ok());
}

TEST_F(StateTest, SnapshotRoundTrip) {
  K('c', "null", Klient(1, "PL"));
  K('c', "null", Klient(2, std::nullopt));
  K('c', "null", Klient(3, "Ελλάδα"));
  K('c', "null", Klient(4, "Gone"));
  K('d', Klient(4, "Gone"), "null");
  P('c', "null", Pracownik(1, 30, "Dev"));
  P('c', "null", Pracownik(2, std::nullopt, std::nullopt));
  P('c', "null", Pracownik(-7, 61, "QA"));
  std::string snap;
  state_.AppendBase(&snap);
  ChangelogState copy;
  ASSERT_TRUE(copy.ReadBase(snap).ok());
  EXPECT_EQ(copy.KlienciByCountry(), Countries());
  EXPECT_EQ(copy.AvgAgeByPosition(), Positions());
  EXPECT_EQ(copy.klienci_rows(), 3u);
  EXPECT_EQ(copy.base_rows(), 6u);
  // The copy keeps evolving like the original.
  ExtractedChange c;
  ASSERT_TRUE(extractor_.Extract(Envelope('u', Klient(1, "PL"), Klient(1, "Ελλάδα")), AnalyticsTable::kKlienci, &c).ok());
  ASSERT_TRUE(copy.Apply(AnalyticsTable::kKlienci, c).ok());
  EXPECT_EQ(copy.KlienciByCountry(), (std::vector<CountryCount>{{"Ελλάδα", 2}, {std::nullopt, 1}}));

  // Every truncation of the snapshot is rejected, never a crash.
  for (size_t n = 0; n < snap.size(); ++n) {
    ChangelogState bad;
    EXPECT_TRUE(bad.ReadBase(snap.substr(0, n)).IsCorruption()) << n;
  }
}

// Lookups in a base read back from bytes find every key and no other, however the ids are spread
// (the lookup interpolates, then gallops, then binary-searches): a dense run, wide gaps, negative ids,
// both int64 extremes.
// A state moved from is empty and still usable (its hash maps own their slot memory).
TEST_F(StateTest, MovedFromStateIsEmptyAndUsable) {
  for (int i = 1; i <= 100; ++i) K('c', "null", Klient(i, i % 2 ? "PL" : "DE"));
  ChangelogState moved = std::move(state_);
  EXPECT_EQ(moved.klienci_rows(), 100u);
  EXPECT_EQ(moved.KlienciByCountry(), (std::vector<CountryCount>{{"DE", 50}, {"PL", 50}}));
  state_.Clear();
  EXPECT_EQ(state_.klienci_rows(), 0u);
  for (int i = 1; i <= 40; ++i) K('c', "null", Klient(i, "CZ"));
  EXPECT_EQ(Countries(), (std::vector<CountryCount>{{"CZ", 40}}));
  EXPECT_EQ(moved.klienci_rows(), 100u);
}

TEST(StateBaseTest, BaseLookupsFindExactlyTheSavedKeys) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  auto check = [](const std::string& name, const std::set<int64_t>& present) {
    SCOPED_TRACE(name);
    ChangeExtractor x;
    ChangelogState saved;
    for (int64_t id : present) {
      ExtractedChange c;
      ASSERT_TRUE(x.Extract(Envelope('c', "null", Klient(id, "PL")), AnalyticsTable::kKlienci, &c).ok());
      ASSERT_TRUE(saved.Apply(AnalyticsTable::kKlienci, c).ok());
    }
    std::string snap;
    saved.AppendBase(&snap);
    std::vector<int64_t> probes(present.begin(), present.end());
    for (int64_t id : present) {
      for (int64_t d : {-2, -1, 1, 2, 17}) {
        if ((d < 0 && id < kMin - d) || (d > 0 && id > kMax - d)) continue;
        if (!present.count(id + d)) probes.push_back(id + d);
      }
    }
    std::mt19937_64 rng(7);
    std::shuffle(probes.begin(), probes.end(), rng);
    // Deleting a key retracts a row exactly when the base has the key.
    ChangelogState base;
    ASSERT_TRUE(base.ReadBase(snap).ok());
    ASSERT_EQ(base.base_rows(), present.size());
    size_t left = present.size();
    for (int64_t id : probes) {
      ExtractedChange c;
      ASSERT_TRUE(x.Extract(Envelope('d', Klient(id, "PL"), "null"), AnalyticsTable::kKlienci, &c).ok());
      ASSERT_TRUE(base.Apply(AnalyticsTable::kKlienci, c).ok());
      if (present.count(id)) --left;
      ASSERT_EQ(base.klienci_rows(), left) << "after deleting " << id;
    }
  };
  std::set<int64_t> dense, holes, gaps, mixed, random;
  for (int64_t i = 1; i <= 500; ++i) dense.insert(i);
  for (int64_t i = 1; i <= 700; ++i) {
    if (i % 7 != 0 && i % 11 != 0) holes.insert(i);
  }
  for (int64_t i = 1; i <= 200; ++i) gaps.insert(1000 + i * i * 37);
  mixed = dense;
  mixed.insert(gaps.begin(), gaps.end());
  for (int64_t i = 1; i <= 20; ++i) mixed.insert(int64_t{1} << (20 + i));
  for (int64_t i = 1; i <= 20; ++i) mixed.insert(-i * 1000003);
  mixed.insert({kMin, kMax, 0});
  std::mt19937_64 rng(1);
  while (random.size() < 300) random.insert(static_cast<int64_t>(rng()));
  check("dense", dense);
  check("holes", holes);
  check("gaps", gaps);
  check("mixed", mixed);
  check("random", random);
}

// A reference model of both tables: id -> group (and age).
struct Model {
  std::map<int64_t, std::optional<std::string>> klienci;
  std::map<int64_t, std::pair<std::optional<std::string>, std::optional<int64_t>>> pracownicy;
  std::vector<CountryCount> Countries() const {
    std::map<std::optional<std::string>, int64_t> m;
    for (const auto& [id, k] : klienci) ++m[k];
    std::vector<CountryCount> out;
    for (const auto& [k, n] : m) out.push_back({k, n});
    return out;
  }
};

std::vector<CountryCount> Sorted(std::vector<CountryCount> v) {
  std::sort(v.begin(), v.end(), [](const CountryCount& a, const CountryCount& b) { return a.kraj < b.kraj; });
  return v;
}

TEST(LayeredStateTest, BasePlusDeltasEqualTheStateUnderRandomChanges) {
  std::mt19937 rng(11);
  const std::vector<std::optional<std::string>> groups = {std::nullopt, "PL", "DE", "Ελλάδα", "FR"};
  ChangelogState live;
  Model model;
  std::vector<std::string> saved;  // base, then deltas
  int bases = 0, deltas = 0;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 150; ++i) {
      ExtractedChange c;
      int64_t id = static_cast<int64_t>(rng() % 200);
      std::optional<std::string> g = groups[rng() % groups.size()];
      std::optional<std::string> pg = groups[rng() % groups.size()];
      std::optional<int64_t> wiek;
      if (rng() % 4) wiek = 18 + static_cast<int64_t>(rng() % 50);
      unsigned r = rng() % 1000;
      AnalyticsTable table = (rng() % 2) ? AnalyticsTable::kKlienci : AnalyticsTable::kPracownicy;
      if (r < 3) {
        c.op = 't';
        if (table == AnalyticsTable::kKlienci) model.klienci.clear(); else model.pracownicy.clear();
      } else if (r < 350) {
        c.op = 'd';
        c.before_id = id;
        if (table == AnalyticsTable::kKlienci) model.klienci.erase(id); else model.pracownicy.erase(id);
      } else {
        c.op = r < 600 ? 'c' : 'u';
        c.after_id = id;
        if (c.op == 'u' && r % 5 == 0) {  // primary-key change from another id
          c.before_id = static_cast<int64_t>(rng() % 200);
          if (table == AnalyticsTable::kKlienci) model.klienci.erase(*c.before_id); else model.pracownicy.erase(*c.before_id);
        }
        if (table == AnalyticsTable::kKlienci) {
          model.klienci[id] = g;
          if (g) c.group = *g;
        } else {
          model.pracownicy[id] = {pg, wiek};
          if (pg) c.group = *pg;
          c.wiek = wiek;
        }
      }
      ASSERT_TRUE(live.Apply(table, c).ok());
    }
    if (saved.empty() || live.needs_new_base() || round % 9 == 0) {
      saved.assign(1, "");
      live.AppendBase(&saved[0]);
      ++bases;
    } else {
      saved.emplace_back();
      live.AppendDelta(&saved.back());
      ++deltas;
    }
    live.MarkSaved();
    EXPECT_EQ(live.unsaved_rows(), 0u);

    ChangelogState copy;
    ASSERT_TRUE(copy.ReadBase(saved[0]).ok()) << "round " << round;
    for (size_t s = 1; s < saved.size(); ++s) {
      std::string_view in(saved[s]);
      Status st = copy.ApplyDelta(&in);
      ASSERT_TRUE(st.ok()) << "round " << round << " segment " << s << ": " << st.ToString();
      EXPECT_TRUE(in.empty());
    }
    copy.MarkSaved();
    EXPECT_EQ(Sorted(copy.KlienciByCountry()), Sorted(model.Countries())) << "round " << round;
    EXPECT_EQ(copy.KlienciByCountry(), live.KlienciByCountry()) << "round " << round;
    EXPECT_EQ(copy.AvgAgeByPosition(), live.AvgAgeByPosition()) << "round " << round;
    EXPECT_EQ(copy.klienci_rows(), model.klienci.size());
    EXPECT_EQ(copy.pracownicy_rows(), model.pracownicy.size());
    // Every few rounds the state continues from what was saved, as a new process would.
    if (round % 4 == 3) live = std::move(copy);
  }
  EXPECT_GT(bases, 3);
  EXPECT_GT(deltas, 20);
}

TEST(LayeredStateTest, DamagedDeltasAreRejected) {
  ChangelogState a;
  ExtractedChange c;
  c.op = 'c';
  c.after_id = 5;
  c.group = "PL";
  ASSERT_TRUE(a.Apply(AnalyticsTable::kKlienci, c).ok());
  c.after_id = 9;
  ASSERT_TRUE(a.Apply(AnalyticsTable::kKlienci, c).ok());
  std::string delta;
  a.AppendDelta(&delta);
  for (size_t n = 0; n < delta.size(); ++n) {
    ChangelogState bad;
    std::string_view cut(delta.data(), n);
    EXPECT_TRUE(bad.ApplyDelta(&cut).IsCorruption()) << n;
  }
  // Ids out of order (two rows swapped) are rejected too.
  std::string swapped = delta;
  size_t rows = swapped.find("PL") + 2 + 4 + 8;  // after the names, the (empty) positions and the row count
  std::swap_ranges(swapped.begin() + rows, swapped.begin() + rows + 13, swapped.begin() + rows + 13);
  ChangelogState bad;
  std::string_view in(swapped);
  EXPECT_TRUE(bad.ApplyDelta(&in).IsCorruption());
}

}  // namespace
}  // namespace cdc::jobs
