// analytics-rawgen: writes synthetic raw-kafka-data for bench/batch_bench.sh, in the raw sink's
// layout (Parquet + _spark_metadata), with Debezium events (no schema wrapper) of klienci and
// pracownicy: inserts, updates and deletes over a fixed key space. No primary-key changes and no
// truncates, so "the last event per key" (what the DuckDB peer computes) is the exact answer.
//
//   analytics-rawgen --output DIR --events N --keys K --batches B [--first-batch F --seed S]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "lake/raw_fixture_writer.h"

namespace {

const char* kCountries[] = {"Polska", "Niemcy", "Francja", "Česko", "Ελλάδα", "日本", "Hiszpania", "Włochy"};
const char* kPositions[] = {"Inżynier", "Kierownik", "Księgowa", "Analityk", "Tester", "Handlowiec"};

std::string Source(int64_t lsn) {
  return ",\"source\":{\"version\":\"2.5.4.Final\",\"connector\":\"postgresql\",\"name\":\"dbserver1\",\"ts_ms\":"
         "1732500000000,\"snapshot\":\"false\",\"db\":\"postgres\",\"sequence\":\"[null,\\\"" +
         std::to_string(lsn) + "\\\"]\",\"schema\":\"public\",\"table\":\"t\",\"txId\":771,\"lsn\":" +
         std::to_string(lsn) + ",\"xmin\":null}";
}

}  // namespace

int main(int argc, char** argv) {
  std::string output;
  long events = 1000000, keys = 200000, batches = 50, first_batch = 0, seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--output") output = argv[i + 1];
    else if (a == "--events") events = std::atol(argv[i + 1]);
    else if (a == "--keys") keys = std::atol(argv[i + 1]);
    else if (a == "--batches") batches = std::atol(argv[i + 1]);
    else if (a == "--first-batch") first_batch = std::atol(argv[i + 1]);
    else if (a == "--seed") seed = std::atol(argv[i + 1]);
  }
  if (output.empty()) {
    std::fprintf(stderr, "usage: analytics-rawgen --output DIR [--events N --keys K --batches B --first-batch F]\n");
    return 2;
  }
  cdc::store::StoreOptions so;
  so.local_fsync = false;
  auto store = cdc::store::OpenStore(output, so);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  cdc::lake::testutil::RawFixtureWriter writer(store->get(), 10, first_batch, first_batch * 1000000);
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> exists(static_cast<size_t>(keys) * 2 + 1, first_batch > 0 ? 1 : 0);
  long per_batch = (events + batches - 1) / batches;
  int64_t lsn = 100000000 + first_batch * 10000000;
  long written = 0;
  while (written < events) {
    std::vector<cdc::lake::testutil::FixtureEvent> ev;
    for (long i = 0; i < per_batch && written < events; ++i, ++written) {
      bool k = rng() % 2 == 0;
      long id = 1 + static_cast<long>(rng() % keys);
      size_t slot = static_cast<size_t>(id) * 2 + (k ? 0 : 1) - 2;
      int r = static_cast<int>(rng() % 100);
      std::string img;
      if (k) {
        img = "{\"id\":" + std::to_string(id) + ",\"nazwa\":\"Firma " + std::to_string(id) +
              " Sp. z o.o.\",\"email\":\"biuro" + std::to_string(id) + "@example.pl\",\"kraj\":" +
              (rng() % 20 == 0 ? std::string("null") : "\"" + std::string(kCountries[rng() % 8]) + "\"") +
              ",\"telefon\":\"+48 600 000 000\"}";
      } else {
        img = "{\"id\":" + std::to_string(id) + ",\"imie\":\"Anna\",\"nazwisko\":\"Kowalska\",\"email\":\"a" +
              std::to_string(id) + "@example.pl\",\"wiek\":" +
              (rng() % 15 == 0 ? std::string("null") : std::to_string(20 + rng() % 45)) + ",\"stanowisko\":" +
              (rng() % 25 == 0 ? std::string("null") : "\"" + std::string(kPositions[rng() % 6]) + "\"") + "}";
      }
      std::string before = "{\"id\":" + std::to_string(id) + "}";
      std::string value;
      ++lsn;
      if (!exists[slot] || r < 10) {
        value = "{\"before\":null,\"after\":" + img + Source(lsn) + ",\"op\":\"c\",\"ts_ms\":1,\"transaction\":null}";
        exists[slot] = 1;
      } else if (r < 80) {
        value = "{\"before\":" + img + ",\"after\":" + img + Source(lsn) + ",\"op\":\"u\",\"ts_ms\":1,\"transaction\":null}";
      } else {
        value = "{\"before\":" + before + ",\"after\":null" + Source(lsn) + ",\"op\":\"d\",\"ts_ms\":1,\"transaction\":null}";
        exists[slot] = 0;
      }
      ev.push_back({k ? "dbserver1.public.klienci" : "dbserver1.public.pracownicy", before, value, 0});
    }
    auto id = writer.CommitBatch(ev, 1);
    if (!id.ok()) {
      std::fprintf(stderr, "%s\n", id.status().ToString().c_str());
      return 1;
    }
  }
  return 0;
}
