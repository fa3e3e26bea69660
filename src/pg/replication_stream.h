// ReplicationStream: the walsender (streaming replication) protocol for logical decoding, over libpq.
//
// Commands (https://www.postgresql.org/docs/15/protocol-replication.html):
//   IDENTIFY_SYSTEM
//   CREATE_REPLICATION_SLOT "slot" LOGICAL pgoutput (SNAPSHOT 'export' | 'nothing')
//   START_REPLICATION SLOT "slot" LOGICAL X/Y (proto_version '1', publication_names '...', messages 'true')
// then CopyBoth: the server sends XLogData ('w': Int64 start, Int64 end, Int64 clock, payload) and
// primary keepalives ('k': Int64 end, Int64 clock, Byte1 reply-requested); the client sends standby
// status updates ('r': Int64 write, Int64 flush, Int64 apply, Int64 clock, Byte1 reply-requested).
// The payload of each XLogData is one pgoutput message (pgoutput_decoder.h). Layouts: docs/PGOUTPUT.md.
//
// The loop shape follows pg_recvlogical: the caller calls Receive(deadline) repeatedly; Receive waits
// on the socket only until `deadline` (the time the next status update is due), so status updates
// are never late. The caller decides what write/flush/apply positions to report.
//
// The exported snapshot of CREATE_REPLICATION_SLOT stays valid only until the next command on this
// connection: read it (snapshot_reader.h) on another connection BEFORE calling Start().
//
// Thread-safety: one thread. Owns its connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "pg/connection.h"

namespace cdc::pg {

struct SystemIdentity {
  std::string system_id;
  uint32_t timeline = 0;
  Lsn xlogpos;        // current WAL flush position
  std::string dbname;
};

struct CreatedSlot {
  std::string slot_name;
  Lsn consistent_point;       // streaming from here follows the exported snapshot with no gap/overlap
  std::string snapshot_name;  // "" unless exported
};

struct StartOptions {
  std::string slot;
  Lsn start_lsn;  // Invalid (0/0) = the slot's confirmed_flush_lsn
  std::vector<std::string> publications;
  int proto_version = 1;
  bool messages = true;  // receive pg_logical_emit_message() messages (heartbeats)
};

// One thing received from the server.
struct ReplicationEvent {
  enum class Kind {
    kTimeout,    // the deadline passed with nothing to read
    kXLogData,   // `payload` is one pgoutput message
    kKeepalive,  // a primary keepalive; `reply_requested` says whether to answer at once
    kEnd,        // the server ended the COPY (e.g. after endpos) or the connection closed cleanly
  };
  Kind kind = Kind::kTimeout;
  Lsn wal_start;            // XLogData: WAL position of the payload's record
  Lsn wal_end;              // server's current end of WAL
  int64_t server_time_us = 0;  // Unix epoch microseconds
  bool reply_requested = false;
  std::string_view payload;  // valid until the next Receive()
};

class ReplicationStream {
 public:
  // Opens a replication=database connection.
  static Result<ReplicationStream> Connect(const std::string& conninfo);

  ReplicationStream(ReplicationStream&&) noexcept = default;
  ReplicationStream& operator=(ReplicationStream&&) noexcept = default;

  Result<SystemIdentity> IdentifySystem();
  // Creates a logical pgoutput slot. `export_snapshot` asks for an exported snapshot name.
  Result<CreatedSlot> CreateSlot(const std::string& slot, bool export_snapshot);
  // Sends START_REPLICATION and enters CopyBoth mode.
  Status Start(const StartOptions& opts);

  // Waits until a message arrives or `deadline` passes. REQUIRES: Start() succeeded.
  // Lost connection -> Unavailable; a server error (slot dropped, walsender terminated) -> its Status.
  Result<ReplicationEvent> Receive(std::chrono::steady_clock::time_point deadline);

  // Sends a standby status update. REQUIRES: streaming.
  Status SendStatus(Lsn write, Lsn flush, Lsn apply, bool reply_requested = false);

  // Ends the COPY from our side (CopyDone) and reads the server's final result. Best effort.
  Status Stop();

  PgConnection& connection() { return conn_; }
  bool streaming() const { return streaming_; }

 private:
  explicit ReplicationStream(PgConnection conn) : conn_(std::move(conn)) {}

  PgConnection conn_;
  bool streaming_ = false;
  struct FreeMem {
    void operator()(char* p) const { PQfreemem(p); }
  };
  std::unique_ptr<char, FreeMem> buf_;  // the last PQgetCopyData buffer (payload views point into it)
};

// Byte helpers for the replication protocol (exposed for tests and the decoder fuzz seeds).
uint64_t ReadBigEndian64(const char* p);
void WriteBigEndian64(char* p, uint64_t v);

}  // namespace cdc::pg
