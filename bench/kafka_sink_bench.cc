// Encode + produce throughput through KafkaSink (idempotent, acks=all) into a Kafka cluster, with
// DurableLsn tracking as capture uses it (EndTransaction every --tx-size events, Poll after each).
// Run by bench/kafka_sink_bench.sh, which also times kcat -P with the same messages as the peer.
//
//   kafka_sink_bench --brokers HOST:PORT [--events N] [--tx-size N] [--dump-file PATH] [-X key=value ...]
// --dump-file writes the messages as "key<TAB>value" lines for the kcat peer and exits.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "base/clock.h"
#include "event/debezium_encoder.h"
#include "log/kafka_sink.h"

using namespace cdc;

int main(int argc, char** argv) {
  std::string brokers, dump;
  long events = 1000000, tx_size = 100;
  std::map<std::string, std::string> props;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!v) { std::fprintf(stderr, "missing value for %s\n", a.c_str()); return 2; }
    ++i;
    if (a == "--brokers") brokers = v;
    else if (a == "--events") events = std::atol(v);
    else if (a == "--tx-size") tx_size = std::atol(v);
    else if (a == "--dump-file") dump = v;
    else if (a == "-X") {
      Status s = log::ParseKafkaProperty(v, &props);
      if (!s.ok()) { std::fprintf(stderr, "%s\n", s.ToString().c_str()); return 2; }
    } else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  auto t = std::make_shared<event::TableSchema>();
  t->schema = "public";
  t->table = "klienci";
  t->columns = {{"id", 23, -1, true, false}, {"nazwa", 25, -1, false, false}, {"email", 25, -1, false, true},
                {"kraj", 25, -1, false, true}, {"telefon", 25, -1, false, true}};
  event::EncoderOptions eo;
  eo.schemas = false;  // ~400-byte values, like the 1M-row capture benchmark's klienci rows
  event::DebeziumEncoder enc(eo);
  auto make = [&](long i) {
    event::ChangeEvent e;
    e.op = event::Op::kCreate;
    e.table = t;
    e.after = event::Row{event::Value::Text(std::to_string(i)), event::Value::Text("Firma Handlowa nr " + std::to_string(i)),
                         event::Value::Text("kontakt" + std::to_string(i) + "@firma.pl"), event::Value::Text("Polska"),
                         event::Value::Text("+48 600 100 " + std::to_string(100 + i % 900))};
    e.xid = static_cast<uint32_t>(1000 + i / tx_size);
    e.lsn = Lsn(static_cast<uint64_t>(0x1000000 + i * 200));
    e.commit_time_us = WallMicros();
    return e;
  };
  std::vector<event::EncodedRecord> recs;
  if (!dump.empty()) {
    std::ofstream out(dump);
    for (long i = 0; i < events; ++i) {
      recs.clear();
      if (!enc.Encode(make(i), WallMillis(), &recs).ok()) return 1;
      out << *recs[0].key << '\t' << *recs[0].value << '\n';
    }
    return out.good() ? 0 : 1;
  }
  log::KafkaSinkOptions so;
  so.brokers = brokers;
  so.properties = props;
  auto sink = log::KafkaSink::Create(so);
  if (!sink.ok()) { std::fprintf(stderr, "%s\n", sink.status().ToString().c_str()); return 1; }
  int64_t start = MonoMicros();
  Lsn last;
  for (long i = 0; i < events; ++i) {
    recs.clear();
    Status s = enc.Encode(make(i), WallMillis(), &recs);
    for (auto& r : recs) {
      if (s.ok()) s = (*sink)->Append(log::Record{std::move(r.topic), std::move(r.key), std::move(r.value), r.timestamp_ms});
    }
    if (s.ok() && (i + 1) % tx_size == 0) {
      last = Lsn(static_cast<uint64_t>(0x1000000 + i * 200 + 100));
      s = (*sink)->EndTransaction(last);
      if (s.ok()) s = (*sink)->Poll();
    }
    if (!s.ok()) { std::fprintf(stderr, "%s\n", s.ToString().c_str()); return 1; }
  }
  Status s = (*sink)->Flush(std::chrono::minutes(5));
  if (!s.ok() || (*sink)->DurableLsn() != last) { std::fprintf(stderr, "flush: %s\n", s.ToString().c_str()); return 1; }
  double secs = (MonoMicros() - start) / 1e6;
  std::printf("%.0f\n", events / secs);
  return 0;
}
