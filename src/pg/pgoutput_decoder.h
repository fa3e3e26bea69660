// PgOutputDecoder: the bytes of one pgoutput logical replication message -> a PgOutputMessage.
//
// Pure: no I/O, no allocation per message once the tuple vectors have grown to the widest table.
// Every string and column value is a std::string_view into the input buffer, so a decoded message is
// valid only while the bytes passed to Decode() are (the replication stream keeps them until its
// next Receive()).
//
// Wire format: PostgreSQL's "Logical Replication Message Formats" (protocol version 1), summarised
// with byte layouts in docs/PGOUTPUT.md:
//   https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
//   https://www.postgresql.org/docs/15/protocol-logical-replication.html
// All integers are big-endian; strings are NUL-terminated; timestamps are microseconds since
// 2000-01-01 (converted here to microseconds since the Unix epoch).
//
// Errors: a truncated or malformed message -> Status::Corruption naming the message type and the byte
// offset where decoding failed, e.g. "pgoutput Insert message: truncated at byte 9 of 12 (column 2
// value length)". Decode never reads outside the input.
//
// Thread-safety: a PgOutputDecoder is used by one thread; independent decoders are independent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"

namespace cdc::pg {

// The first byte of each message.
enum class PgOutputType : char {
  kBegin = 'B',
  kCommit = 'C',
  kOrigin = 'O',
  kRelation = 'R',
  kType = 'Y',
  kInsert = 'I',
  kUpdate = 'U',
  kDelete = 'D',
  kTruncate = 'T',
  kMessage = 'M',
};

// "Begin", "Insert" ... for messages; "unknown" otherwise.
std::string_view PgOutputTypeName(char type);

// One column of a TupleData.
struct TupleValue {
  enum class Kind : char {
    kNull = 'n',            // SQL NULL
    kUnchangedToast = 'u',  // TOASTed value not changed by this UPDATE (not sent)
    kText = 't',            // `data` holds the text output form
    kBinary = 'b',          // `data` holds the binary send form (only with the `binary` option)
  };
  Kind kind = Kind::kNull;
  std::string_view data;
};

struct BeginMessage {
  Lsn final_lsn;               // LSN of the commit record (end of the transaction in WAL)
  int64_t commit_time_us = 0;  // Unix epoch microseconds
  uint32_t xid = 0;
};

struct CommitMessage {
  uint8_t flags = 0;           // unused by PostgreSQL 15 (always 0)
  Lsn commit_lsn;              // LSN of the commit record
  Lsn end_lsn;                 // end LSN of the transaction: what to confirm as flushed
  int64_t commit_time_us = 0;  // Unix epoch microseconds
};

struct OriginMessage {
  Lsn origin_commit_lsn;
  std::string_view name;
};

struct RelationColumn {
  uint8_t flags = 0;  // 1 = part of the replica identity key
  std::string_view name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool key() const { return (flags & 1) != 0; }
};

struct RelationMessage {
  uint32_t relation_id = 0;
  std::string_view schema;  // "" stands for pg_catalog in the protocol; sent as the real name in 15
  std::string_view table;
  char replica_identity = 'd';  // d = default (primary key), n = nothing, f = full, i = index
  std::vector<RelationColumn> columns;
};

struct TypeMessage {
  uint32_t type_oid = 0;
  std::string_view schema;
  std::string_view name;
};

// Insert, Update and Delete share this shape.
struct RowMessage {
  uint32_t relation_id = 0;
  // For Update/Delete: 'K' (old key columns only, others null), 'O' (whole old row, REPLICA IDENTITY
  // FULL) or 0 (no old tuple sent: an Update that did not change the key).
  char old_kind = 0;
  std::vector<TupleValue> old_tuple;  // valid when old_kind != 0
  std::vector<TupleValue> new_tuple;  // Insert and Update
};

struct TruncateMessage {
  uint8_t options = 0;  // 1 = CASCADE, 2 = RESTART IDENTITY
  std::vector<uint32_t> relation_ids;
  bool cascade() const { return options & 1; }
  bool restart_identity() const { return options & 2; }
};

struct LogicalMessage {
  bool transactional = false;  // flags & 1
  Lsn lsn;
  std::string_view prefix;
  std::string_view content;
};

// A decoded message. Only the member matching `type` is meaningful. Reused across Decode() calls
// so that the tuple vectors keep their capacity.
struct PgOutputMessage {
  PgOutputType type = PgOutputType::kBegin;
  BeginMessage begin;
  CommitMessage commit;
  OriginMessage origin;
  RelationMessage relation;
  TypeMessage type_info;
  RowMessage row;  // Insert, Update, Delete
  TruncateMessage truncate;
  LogicalMessage message;
};

// Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch).
inline constexpr int64_t kPgEpochOffsetMicros = 946684800LL * 1000000LL;

class PgOutputDecoder {
 public:
  // Decodes one message (the payload of one XLogData) into `out`.
  // REQUIRES: `bytes` outlives every use of the string_views in `out`.
  Status Decode(std::string_view bytes, PgOutputMessage* out) const;
};

// A human/golden-file rendering of a message, one line, e.g.
//   Insert rel=16384 new=[t:"1",n,u]
// Used by tests and `--debug` logging; allocates.
std::string DescribePgOutputMessage(const PgOutputMessage& msg);

}  // namespace cdc::pg
