// pgoutput-capture: records the raw pgoutput messages of a slot for the decoder's golden files.
//
//   pgoutput-capture CONNINFO SLOT PUBLICATION ENDPOS > messages.hex
//
// Streams from SLOT (proto_version 1, messages on) until ENDPOS and prints one hex-encoded pgoutput
// message per line, confirming nothing (the slot is left where it was). Used once to make
// src/pg/testdata/*.hex; see src/pg/testdata/README.md.
#include <chrono>
#include <cstdio>
#include <string>

#include "pg/replication_stream.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: pgoutput-capture CONNINFO SLOT PUBLICATION ENDPOS\n");
    return 2;
  }
  auto endpos = cdc::Lsn::Parse(argv[4]);
  if (!endpos) {
    std::fprintf(stderr, "bad ENDPOS %s\n", argv[4]);
    return 2;
  }
  auto stream = cdc::pg::ReplicationStream::Connect(argv[1]);
  if (!stream.ok()) {
    std::fprintf(stderr, "%s\n", stream.status().ToString().c_str());
    return 1;
  }
  cdc::pg::StartOptions opts;
  opts.slot = argv[2];
  opts.publications = {argv[3]};
  cdc::Status st = stream->Start(opts);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  static const char* kHex = "0123456789abcdef";
  for (;;) {
    auto ev = stream->Receive(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    if (!ev.ok()) {
      std::fprintf(stderr, "%s\n", ev.status().ToString().c_str());
      return 1;
    }
    if (ev->kind == cdc::pg::ReplicationEvent::Kind::kTimeout) {
      std::fprintf(stderr, "timed out before ENDPOS\n");
      return 1;
    }
    if (ev->kind == cdc::pg::ReplicationEvent::Kind::kKeepalive) {
      if (ev->wal_end >= *endpos) break;
      continue;
    }
    if (ev->kind != cdc::pg::ReplicationEvent::Kind::kXLogData) break;
    std::string line;
    for (unsigned char c : ev->payload) {
      line += kHex[c >> 4];
      line += kHex[c & 15];
    }
    std::printf("%s\n", line.c_str());
    // A Commit whose end LSN reaches ENDPOS is the last message wanted.
    if (!ev->payload.empty() && ev->payload[0] == 'C' && ev->payload.size() >= 18 &&
        cdc::Lsn(cdc::pg::ReadBigEndian64(ev->payload.data() + 10)) >= *endpos) {
      break;
    }
  }
  return 0;
}
