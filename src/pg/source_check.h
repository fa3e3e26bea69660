// SourceCheck: capture's pre-flight over a normal connection (docs/CAPTURE.md, "Set-up").
//
// CheckSource reads the catalog and decides what capture must create; it changes nothing. It checks,
// in one pass, and reports every problem it finds in one Status, each with the statement that fixes
// it:
//   wal_level = logical (reported alone: nothing else matters until the server is restarted);
//   the role may replicate (rolreplication or superuser)        -> ALTER ROLE ... REPLICATION
//   every configured table exists (else the tables that do)    -> InvalidArgument
//   SELECT on every table                                       -> GRANT SELECT ON ... TO ...
//   the publication: exists, or may be created (create_publication, CREATE on the database,
//     ownership of the tables); holds every table, or they may be added   -> CREATE/ALTER PUBLICATION
//   replica identity: a table without a primary key whose identity is DEFAULT or NOTHING in a
//     publication that publishes updates or deletes would make the user's own UPDATE/DELETE fail
//                                                               -> ALTER TABLE ... REPLICA IDENTITY FULL
//   the slot: no slot of that name for another plugin or database; a free slot when it must be made
//     (max_replication_slots); max_wal_senders > 0.
// The Status code: InvalidArgument when a configured table is missing or there are no tables at all
// (a configuration error), else the code of the first problem (PermissionDenied for privileges,
// FailedPrecondition for the rest).
//
// ApplySourcePlan then makes the planned changes in one transaction (all or none); UndoSourcePlan
// reverses them (a start that fails after ApplySourcePlan, e.g. creating the slot, puts the database
// back as it was).
//
// Thread-safety: functions of one connection, one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "pg/connection.h"

namespace cdc::pg {

struct SourceCheckOptions {
  // Captured tables, "table" (schema public) or "schema.table", read as PostgreSQL reads a name
  // (pg::ParseTableName: unquoted parts fold to lower case, "..." keeps a part as written). Empty: the
  // publication's tables.
  std::vector<std::string> tables;
  // Where `tables` came from, for messages (e.g. "cdcpipe.yaml:4:11 (source.tables)"). May be empty.
  std::string tables_origin;
  std::string slot;
  std::string publication;
  // Create the publication when missing / add missing tables to it. False: those are errors.
  bool create_publication = true;
  // Set REPLICA IDENTITY FULL on every captured table where it is not.
  bool replica_identity_full = false;
};

// One captured table as the catalog describes it.
struct SourceTable {
  uint32_t oid = 0;
  std::string schema;
  std::string table;
  std::string quoted;          // "schema"."table", ready for SQL
  bool has_primary_key = false;
  char replica_identity = 'd';  // pg_class.relreplident: d default, n nothing, f full, i index
  std::string identity_index;   // the index of REPLICA IDENTITY USING INDEX ('i')
  bool in_publication = false;
};

// What the catalog says and what capture will create. Only CheckSource fills it.
struct SourcePlan {
  std::string database;  // current_database()
  std::string user;      // current_user
  std::vector<SourceTable> tables;
  std::string publication_quoted;
  bool create_publication = false;      // CREATE PUBLICATION ... FOR TABLE <tables>
  std::vector<size_t> add_to_publication;  // indexes into `tables`: ALTER PUBLICATION ... ADD TABLE
  std::vector<size_t> set_identity_full;   // indexes into `tables`: ALTER TABLE ... REPLICA IDENTITY FULL
  bool slot_exists = false;
  // When the slot exists: PostgreSQL invalidated it (pg_replication_slots.wal_status = 'lost': the WAL it
  // retained passed max_slot_wal_keep_size and was removed), and its confirmed_flush_lsn (invalid if NULL).
  bool slot_lost = false;
  Lsn slot_confirmed_lsn;
  // Tables with a primary key and identity DEFAULT (when replica_identity_full is off): their updates
  // and deletes carry only the key as the old row. The job logs it.
  std::vector<std::string> key_only_tables;
  bool changes() const { return create_publication || !add_to_publication.empty() || !set_identity_full.empty(); }
};

// The pre-flight. Changes nothing in the database.
Result<SourcePlan> CheckSource(PgConnection& conn, const SourceCheckOptions& options);

// Makes the plan's changes in one transaction; logs each under `component`.
Status ApplySourcePlan(PgConnection& conn, const SourcePlan& plan, std::string_view component);

// Reverses ApplySourcePlan in one transaction.
Status UndoSourcePlan(PgConnection& conn, const SourcePlan& plan);

// The statement that creates the publication for `tables` ("CREATE PUBLICATION "p" FOR TABLE ...;").
std::string CreatePublicationSql(const std::string& publication_quoted, const std::vector<SourceTable>& tables);

}  // namespace cdc::pg
