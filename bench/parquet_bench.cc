// Parquet benchmark program (driven by bench/parquet_bench.sh, which runs DuckDB in the same run).
//
//   parquet_bench gen   --rows N --out events.tsv          the raw change events as TSV, for DuckDB
//   parquet_bench write --rows N --out file.parquet [--compression snappy|zstd|none]
//   parquet_bench read  --in file.parquet
//
// The events are raw Kafka records of Debezium change events (topic, partition, offset, timestamp,
// timestampType, key ~20 B, value ~400 B of JSON), generated deterministically from the row number,
// so `gen` and `write` produce the same data. `write` times only ParquetWriter::Write/Close (the
// generation of each 64K-row batch is excluded, as DuckDB's COPY is timed on loaded data) and
// prints rows/s, the file size and the peak RSS. `read` reads every column of every row group and
// prints count(*), sum(length(value)) (in UTF-8 characters, like DuckDB) and rows/s.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "parquet/reader.h"
#include "parquet/writer.h"

namespace {

using cdc::parquet::ColumnType;
using cdc::parquet::RecordBatch;
using cdc::parquet::Schema;

constexpr const char* kFirstNames[] = {"Anna", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Michał",
                                       "Agnieszka", "Krzysztof", "Ewa", "Paweł", "Joanna", "Marcin"};
constexpr const char* kLastNames[] = {"Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński",
                                      "Lewandowski", "Zieliński", "Szymański", "Woźniak"};
constexpr const char* kCities[] = {"Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin", "Lublin"};
constexpr const char* kTables[] = {"klienci", "produkty", "zamowienia"};

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Event {
  std::string topic, key, value;
  int32_t partition, timestamp_type;
  int64_t offset, timestamp_us;
};

// Row r of the data set. Values are ASCII-safe JSON without tabs or newlines (TSV-friendly).
void MakeEvent(uint64_t r, Event* e) {
  uint64_t h = Mix(r);
  const char* table = kTables[r % 3];
  e->topic = std::string("dbserver1.public.") + table;
  e->partition = static_cast<int32_t>(h % 3);
  e->offset = static_cast<int64_t>(r / 3);
  e->timestamp_us = 1764000000000000ll + static_cast<int64_t>(r) * 997 + static_cast<int64_t>(h % 500);
  e->timestamp_type = 0;
  uint64_t id = 100000 + r;
  e->key = "{\"id\":" + std::to_string(id) + ",\"t\":\"" + table[0] + "\"}";
  char buf[1024];
  const char* op = (h >> 8) % 10 < 7 ? "c" : ((h >> 8) % 10 < 9 ? "u" : "d");
  int64_t ts_ms = e->timestamp_us / 1000;
  int n = std::snprintf(
      buf, sizeof(buf),
      "{\"before\":null,\"after\":{\"id\":%llu,\"imie\":\"%s\",\"nazwisko\":\"%s\",\"email\":\"%s.%s%llu@example.com\","
      "\"miasto\":\"%s\",\"kod\":\"%02d-%03d\",\"saldo\":%llu.%02llu,\"aktywny\":%s,\"utworzono\":%lld},"
      "\"source\":{\"version\":\"2.7.0.Final\",\"connector\":\"postgresql\",\"name\":\"dbserver1\",\"ts_ms\":%lld,"
      "\"snapshot\":\"false\",\"db\":\"shop\",\"schema\":\"public\",\"table\":\"%s\",\"txId\":%llu,\"lsn\":%llu},"
      "\"op\":\"%s\",\"ts_ms\":%lld}",
      static_cast<unsigned long long>(id), kFirstNames[(h >> 12) % 12], kLastNames[(h >> 16) % 10],
      kFirstNames[(h >> 12) % 12], kLastNames[(h >> 16) % 10], static_cast<unsigned long long>(h % 1000),
      kCities[(h >> 20) % 8], static_cast<int>((h >> 24) % 100), static_cast<int>((h >> 32) % 1000),
      static_cast<unsigned long long>((h >> 40) % 100000), static_cast<unsigned long long>((h >> 48) % 100),
      ((h >> 56) & 1) ? "true" : "false", static_cast<long long>(ts_ms - 86400000), static_cast<long long>(ts_ms),
      table, static_cast<unsigned long long>(700000 + r / 4), static_cast<unsigned long long>(0x1A2B3C4Dull + r * 312),
      op, static_cast<long long>(ts_ms + 3));
  e->value.assign(buf, static_cast<size_t>(n));
}

Schema EventSchema() {
  return Schema{{{"key", ColumnType::kString, true},
                 {"value", ColumnType::kString, true},
                 {"topic", ColumnType::kString, false},
                 {"partition", ColumnType::kInt32, false},
                 {"offset", ColumnType::kInt64, false},
                 {"timestamp", ColumnType::kTimestampMicros, false},
                 {"timestampType", ColumnType::kInt32, false}}};
}

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

double CpuSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

long PeakRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

int Gen(uint64_t rows, const std::string& out) {
  FILE* f = std::fopen(out.c_str(), "w");
  if (!f) {
    std::perror(out.c_str());
    return 1;
  }
  Event e;
  for (uint64_t r = 0; r < rows; ++r) {
    MakeEvent(r, &e);
    std::fprintf(f, "%s\t%s\t%s\t%d\t%lld\t%lld\t%d\n", e.key.c_str(), e.value.c_str(), e.topic.c_str(), e.partition,
                 static_cast<long long>(e.offset), static_cast<long long>(e.timestamp_us), e.timestamp_type);
  }
  return std::fclose(f) == 0 ? 0 : 1;
}

int Write(uint64_t rows, const std::string& out, cdc::parquet::Compression compression) {
  Schema schema = EventSchema();
  cdc::parquet::WriterOptions opts;
  opts.compression = compression;
  auto w = cdc::parquet::ParquetWriter::OpenFile(out, schema, opts);
  if (!w.ok()) {
    std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
    return 1;
  }
  RecordBatch batch(schema);
  Event e;
  std::chrono::steady_clock::duration spent{};
  double cpu = 0;
  const uint64_t kBatch = 65536;
  for (uint64_t start = 0; start < rows; start += kBatch) {
    batch.Clear();
    uint64_t end = std::min(rows, start + kBatch);
    for (uint64_t r = start; r < end; ++r) {
      MakeEvent(r, &e);
      batch.column(0).AppendString(e.key);
      batch.column(1).AppendString(e.value);
      batch.column(2).AppendString(e.topic);
      batch.column(3).AppendInt32(e.partition);
      batch.column(4).AppendInt64(e.offset);
      batch.column(5).AppendInt64(e.timestamp_us);
      batch.column(6).AppendInt32(e.timestamp_type);
    }
    auto t0 = std::chrono::steady_clock::now();
    double c0 = CpuSeconds();
    cdc::Status s = (*w)->Write(batch);
    cpu += CpuSeconds() - c0;
    spent += std::chrono::steady_clock::now() - t0;
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  cdc::Status s = (*w)->Close();
  cpu += CpuSeconds() - c0;
  spent += std::chrono::steady_clock::now() - t0;
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("write_rows=%llu write_seconds=%.3f write_rows_per_s=%.0f write_cpu_seconds=%.3f file_bytes=%llu row_groups=%d peak_rss_mb=%ld\n",
              static_cast<unsigned long long>(rows), Seconds(spent), static_cast<double>(rows) / Seconds(spent), cpu,
              static_cast<unsigned long long>(std::filesystem::file_size(out)), (*w)->num_row_groups(), PeakRssMb());
  return 0;
}

int Read(const std::string& in) {
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  auto r = cdc::parquet::ParquetReader::OpenFile(in);
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    return 1;
  }
  int value_col = (*r)->schema().FindColumn("value");
  if (value_col < 0) {
    std::fprintf(stderr, "%s has no column 'value'\n", in.c_str());
    return 1;
  }
  RecordBatch batch;
  uint64_t count = 0, sum = 0;
  for (int g = 0; g < (*r)->num_row_groups(); ++g) {
    cdc::Status s = (*r)->ReadRowGroup(g, &batch);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    const auto& v = batch.column(static_cast<size_t>(value_col));
    count += v.size();
    // length() in DuckDB counts characters: count the bytes that start a UTF-8 character.
    std::string_view bytes = v.string_bytes();
    for (unsigned char c : bytes) sum += (c & 0xc0) != 0x80;
  }
  double sec = Seconds(std::chrono::steady_clock::now() - t0);
  double cpu = CpuSeconds() - c0;
  std::printf("read_rows=%llu sum_length_value=%llu read_seconds=%.3f read_rows_per_s=%.0f read_cpu_seconds=%.3f peak_rss_mb=%ld\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(sum), sec,
              static_cast<double>(count) / sec, cpu, PeakRssMb());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: parquet_bench gen|write|read [--rows N] [--out F] [--in F] [--compression C]\n");
    return 2;
  }
  std::string mode = argv[1], out, in, comp = "snappy";
  uint64_t rows = 1000000;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--rows") rows = std::stoull(argv[i + 1]);
    else if (k == "--out") out = argv[i + 1];
    else if (k == "--in") in = argv[i + 1];
    else if (k == "--compression") comp = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (mode == "gen") return Gen(rows, out);
  if (mode == "write") {
    auto c = cdc::parquet::ParseCompression(comp);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      return 2;
    }
    return Write(rows, out, *c);
  }
  if (mode == "read") return Read(in);
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
