// The change-event model: what capture produces and every later stage consumes.
//
// Values stay in PostgreSQL's text output format (what pgoutput sends with binary=false and what
// COPY ... TO STDOUT produces once its escapes are undone), tagged with the column's type OID. The
// Debezium encoder (debezium_encoder.h) turns them into Debezium's typed JSON; keeping text here means
// the decoder and the snapshot reader do no type conversion and never lose precision.
//
// Thread-safety: plain values. A TableSchema is shared (immutable once published) between events.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/lsn.h"

namespace cdc::event {

// Debezium's `op` field.
enum class Op : char {
  kCreate = 'c',    // INSERT
  kUpdate = 'u',    // UPDATE
  kDelete = 'd',    // DELETE
  kRead = 'r',      // a row read by the initial snapshot
  kTruncate = 't',  // TRUNCATE (one event per table, no before/after)
};

// What the catalog says about a column type that is not built in (pg_type.oid >= 10000: enums, domains,
// arrays of those, extension types). pgoutput's Type message carries only the name, so a column whose
// type was never resolved in the catalog is encoded as a string.
struct UserType {
  enum class Kind : uint8_t {
    kOther,   // composite, range, extension base type ...: encoded as a string
    kEnum,    // a string with the schema name io.debezium.data.Enum and the labels (`enum_labels`)
    kDomain,  // encoded as the built-in type at the bottom of the domain chain (`base_type_oid`)
  };
  Kind kind = Kind::kOther;
  bool array = false;                // the column is a one-dimensional array of this type (mood[])
  uint32_t base_type_oid = 0;        // kDomain: the built-in base type (may itself be an array type)
  int32_t base_type_modifier = -1;   // kDomain: the typmod the domain sets (numeric(10,2)), else -1
  std::string enum_labels = {};      // kEnum: labels in sort order joined by ',' (Debezium's "allowed")
  bool operator==(const UserType&) const = default;
};

// A column of a captured table, as announced by a pgoutput Relation message or the catalog.
struct Column {
  std::string name;
  uint32_t type_oid = 0;     // pg_type.oid (23 = int4, 25 = text, 1082 = date ...)
  int32_t type_modifier = -1;  // atttypmod (numeric precision/scale, varchar length); -1 if none
  bool key = false;          // part of the primary key (the Debezium message key)
  bool optional = true;      // nullable (false for NOT NULL and key columns)
  // Only for types that are not built in (type_oid >= 10000); the defaults keep the aggregate
  // initialisers above ({name, oid, typmod, key, optional}) valid.
  std::string type_name = {};                     // "public.mood": pgoutput Type message or the catalog
  std::optional<UserType> user_type = std::nullopt;  // resolved in the catalog; nullopt = unknown (string)
  // The column default as the catalog prints it (pg_get_expr of pg_attrdef.adbin: "nextval('t_id_seq'::regclass)",
  // "'-1'::integer"), nullopt when it has none or no catalog was read (pgoutput does not carry defaults). The
  // encoder turns it into the schema's "default" as Debezium does (debezium_default.h).
  std::optional<std::string> default_expr = std::nullopt;
};

// pg_type OIDs below this are built in; pgoutput sends a Type message for every column type at or above it
// (PostgreSQL's FirstGenbkiObjectId).
inline constexpr uint32_t kFirstNonBuiltinTypeOid = 10000;

// A captured table's shape. Immutable once shared: a schema change makes a new TableSchema.
struct TableSchema {
  uint32_t relation_id = 0;  // pg_class.oid
  std::string schema;        // "public"
  std::string table;         // "klienci"
  std::vector<Column> columns;
};

// One column value of a row.
struct Value {
  enum class Kind : uint8_t {
    kNull,            // SQL NULL
    kText,            // `text` holds the value in PostgreSQL's text output format
    kUnchangedToast,  // an unchanged TOASTed value that the WAL did not carry
  };
  Kind kind = Kind::kNull;
  std::string text;

  static Value Null() { return {}; }
  static Value Text(std::string t) { return {Kind::kText, std::move(t)}; }
  static Value UnchangedToast() { return {Kind::kUnchangedToast, {}}; }
  bool operator==(const Value&) const = default;
};

// A row: one Value per column of its TableSchema, in the same order.
using Row = std::vector<Value>;

// Debezium's source.snapshot (io.debezium.connector.SnapshotRecord): "first" on the snapshot's first row,
// "last_in_data_collection" on the last row of each table but the last, "last" on the very last row, "true" on
// every other snapshot row, "false" for streamed changes, "incremental" on the rows of an incremental snapshot
// (docs/DEBEZIUM.md, "Snapshot markers"; docs/CAPTURE.md, "Incremental snapshots").
enum class SnapshotMarker : uint8_t { kFalse, kTrue, kFirst, kLastInDataCollection, kLast, kIncremental };

// One change to one row (or one TRUNCATE of one table).
struct ChangeEvent {
  Op op = Op::kCreate;
  std::shared_ptr<const TableSchema> table;
  std::optional<Row> before;  // the old row: updates and deletes (whole row with REPLICA IDENTITY FULL)
  std::optional<Row> after;   // the new row: creates, updates, snapshot reads

  // Source transaction id (source.txId): the 32-bit xid of a streamed change; for a snapshot row the reading
  // transaction's txid_current() (64-bit, epoch included), as Debezium's snapshot sets it. 0 = none (null).
  uint64_t xid = 0;
  Lsn lsn;                     // LSN of this change's WAL record (source.lsn)
  Lsn commit_lsn;              // LSN of the transaction's commit record (its end LSN in pgoutput)
  Lsn last_commit_lsn;         // the previous transaction's commit LSN (source.sequence[0])
  int64_t commit_time_us = 0;  // transaction commit time, Unix epoch microseconds (source.ts_ms)
  SnapshotMarker snapshot = SnapshotMarker::kFalse;
  // Position of this event inside its transaction, 1-based (transaction.data_collection_order /
  // total_order come from this and a per-table counter kept by the encoder).
  uint64_t order_in_tx = 0;
};

}  // namespace cdc::event
