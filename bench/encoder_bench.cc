// Debezium encoding throughput (events/s) of DebeziumEncoder, next to a peer: the same envelope built
// as a DOM with nlohmann::json and serialized with dump() (the straightforward way to write it).
// The capture target is >= 0.8 x pg_recvlogical (~330k rows/s here): encoding must cost far less.
//
//   build/encoder_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "event/debezium_encoder.h"

namespace cdc::event {
namespace {

std::shared_ptr<const TableSchema> Klienci() {
  auto t = std::make_shared<TableSchema>();
  t->schema = "public";
  t->table = "klienci";
  t->columns = {{"id", 23, -1, true, false}, {"nazwa", 25, -1, false, false}, {"email", 25, -1, false, true},
                {"kraj", 25, -1, false, true}, {"telefon", 25, -1, false, true}};
  return t;
}

std::shared_ptr<const TableSchema> Mixed() {
  auto t = std::make_shared<TableSchema>();
  t->schema = "public";
  t->table = "projekty";
  t->columns = {{"id", 20, -1, true, false},      {"nazwa", 25, -1, false, false}, {"kwota", 1700, (12 << 16 | 2) + 4},
                {"start", 1082, -1},              {"zmiana", 1184, -1},           {"aktywny", 16, -1},
                {"waga", 701, -1},                {"dane", 3802, -1}};
  return t;
}

// Debezium's special types (issue #3): interval, money, int4[] and text[] (array literals are parsed).
std::shared_ptr<const TableSchema> Special() {
  auto t = std::make_shared<TableSchema>();
  t->schema = "public";
  t->table = "specjalne";
  t->columns = {{"id", 20, -1, true, false}, {"okres", 1186, -1}, {"kwota", 790, -1}, {"oceny", 1007, -1},
                {"tagi", 1009, -1}};
  return t;
}

ChangeEvent Event(std::shared_ptr<const TableSchema> t, Row row) {
  ChangeEvent e;
  e.op = Op::kCreate;
  e.table = std::move(t);
  e.after = std::move(row);
  e.xid = 1234;
  e.lsn = Lsn(0x16B374D848);
  e.commit_lsn = Lsn(0x16B374D900);
  e.last_commit_lsn = Lsn(0x16B374D000);
  e.commit_time_us = 1704164645123456;
  return e;
}

Row KlientRow(int i) {
  return {Value::Text(std::to_string(i)), Value::Text("Przedsiębiorstwo Handlowe \"Kowalski\" nr " + std::to_string(i)),
          Value::Text("kontakt" + std::to_string(i) + "@kowalski.com.pl"), Value::Text("Polska"),
          Value::Text("+48 600 100 " + std::to_string(100 + i % 900))};
}

Row MixedRow(int i) {
  return {Value::Text(std::to_string(i)),          Value::Text("Projekt " + std::to_string(i)),
          Value::Text(std::to_string(i) + ".25"),  Value::Text("2024-03-01"),
          Value::Text("2024-03-01 10:11:12.345678+01"), Value::Text("t"),
          Value::Text("0.125"),                    Value::Text("{\"tag\": \"x\", \"n\": 1}")};
}

Row SpecialRow(int i) {
  return {Value::Text(std::to_string(i)), Value::Text("1 year 2 mons " + std::to_string(i % 28) + " days 04:05:06.78"),
          Value::Text("-$1,234." + std::to_string(10 + i % 90)), Value::Text("{1,NULL," + std::to_string(i) + ",4,5}"),
          Value::Text("{alfa,\"beta gamma\",NULL,\"q\\\"x\"}")};
}

void Run(benchmark::State& state, std::shared_ptr<const TableSchema> t, Row (*row)(int), bool schemas) {
  EncoderOptions o;
  o.schemas = schemas;
  DebeziumEncoder enc(o);
  std::vector<ChangeEvent> events;
  for (int i = 0; i < 1024; ++i) events.push_back(Event(t, row(i)));
  std::vector<EncodedRecord> out;
  size_t n = 0, bytes = 0;
  for (auto _ : state) {
    out.clear();
    if (!enc.Encode(events[n++ & 1023], 1704164700000, &out).ok()) state.SkipWithError("encode failed");
    bytes += out[0].value->size() + out[0].key->size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_DebeziumEncoder_Klienci_Payload(benchmark::State& s) { Run(s, Klienci(), KlientRow, false); }
void BM_DebeziumEncoder_Klienci_Schemas(benchmark::State& s) { Run(s, Klienci(), KlientRow, true); }
void BM_DebeziumEncoder_MixedTypes_Schemas(benchmark::State& s) { Run(s, Mixed(), MixedRow, true); }
void BM_DebeziumEncoder_SpecialTypes_Schemas(benchmark::State& s) { Run(s, Special(), SpecialRow, true); }

// Peer: the same payload (schemas off, klienci) through a JSON DOM.
void BM_NlohmannDom_Klienci_Payload(benchmark::State& state) {
  std::vector<Row> rows;
  for (int i = 0; i < 1024; ++i) rows.push_back(KlientRow(i));
  auto t = Klienci();
  size_t n = 0, bytes = 0;
  for (auto _ : state) {
    const Row& r = rows[n++ & 1023];
    nlohmann::json after = nlohmann::json::object();
    for (size_t c = 0; c < r.size(); ++c) {
      if (c == 0) after[t->columns[c].name] = std::stoi(r[c].text);
      else after[t->columns[c].name] = r[c].text;
    }
    nlohmann::json v = {{"before", nullptr},
                        {"after", std::move(after)},
                        {"source",
                         {{"version", "2.5.4.Final"}, {"connector", "postgresql"}, {"name", "dbserver1"},
                          {"ts_ms", 1704164645123}, {"snapshot", "false"}, {"db", "postgres"},
                          {"sequence", "[\"97500008448\",\"97500010568\"]"}, {"schema", "public"},
                          {"table", "klienci"}, {"txId", 1234}, {"lsn", 97500010568}, {"xmin", nullptr}}},
                        {"op", "c"},
                        {"ts_ms", 1704164700000},
                        {"transaction", nullptr}};
    nlohmann::json k = {{"id", std::stoi(r[0].text)}};
    std::string value = v.dump(), key = k.dump();
    bytes += value.size() + key.size();
    benchmark::DoNotOptimize(value.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

BENCHMARK(BM_DebeziumEncoder_Klienci_Payload);
BENCHMARK(BM_NlohmannDom_Klienci_Payload);
BENCHMARK(BM_DebeziumEncoder_Klienci_Schemas);
BENCHMARK(BM_DebeziumEncoder_MixedTypes_Schemas);
BENCHMARK(BM_DebeziumEncoder_SpecialTypes_Schemas);

}  // namespace
}  // namespace cdc::event

BENCHMARK_MAIN();
