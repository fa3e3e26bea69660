#include "pg/source_check.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/closest_name.h"
#include "base/log.h"
#include "pg/table_catalog.h"

namespace cdc::pg {

namespace {

struct Problem {
  StatusCode code;
  std::string text;
};

std::string JoinQuoted(const std::vector<SourceTable>& tables, const std::vector<size_t>& which) {
  std::string out;
  for (size_t i : which) out += (out.empty() ? "" : ", ") + tables[i].quoted;
  return out;
}

std::vector<size_t> All(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Lists up to 30 names, then "and N more".
std::string ListNames(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::string out;
  for (size_t i = 0; i < names.size() && i < 30; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 30) out += fmt::format(" and {} more", names.size() - 30);
  return out;
}

const char* RelkindName(char k) {
  switch (k) {
    case 'v': return "a view";
    case 'm': return "a materialized view";
    case 'f': return "a foreign table";
    case 'S': return "a sequence";
    case 'i': case 'I': return "an index";
    case 'c': return "a composite type";
    default: return "not a table";
  }
}

// Reads one table's catalog row into *t; false when no relation has that name.
Result<bool> LookupSourceTable(PgConnection& c, const std::string& schema, const std::string& table, SourceTable* t,
                               char* relkind, bool* can_select, bool* owner, std::string* owner_name) {
  CDC_ASSIGN_OR_RETURN(
      PgResult r,
      c.ExecParams("SELECT c.oid, c.relkind, c.relreplident, "
                   "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), "
                   "has_table_privilege(c.oid, 'SELECT'), pg_has_role(c.relowner, 'USAGE'), "
                   "pg_get_userbyid(c.relowner), coalesce((SELECT ic.relname FROM pg_index i JOIN pg_class ic "
                   "ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND i.indisreplident), '') "
                   "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = $1 AND c.relname = $2",
                   {schema, table}));
  if (r.rows() == 0) return false;
  t->oid = static_cast<uint32_t>(std::stoul(std::string(r.Get(0, 0))));
  *relkind = r.Get(0, 1).empty() ? '?' : r.Get(0, 1)[0];
  t->schema = schema;
  t->table = table;
  t->quoted = c.QuoteIdent(schema) + "." + c.QuoteIdent(table);
  t->replica_identity = r.Get(0, 2).empty() ? 'd' : r.Get(0, 2)[0];
  t->has_primary_key = r.Get(0, 3) == "t";
  *can_select = r.Get(0, 4) == "t";
  *owner = r.Get(0, 5) == "t";
  *owner_name = std::string(r.Get(0, 6));
  t->identity_index = std::string(r.Get(0, 7));
  return true;
}

}  // namespace

std::string CreatePublicationSql(const std::string& publication_quoted, const std::vector<SourceTable>& tables) {
  return "CREATE PUBLICATION " + publication_quoted + " FOR TABLE " + JoinQuoted(tables, All(tables.size())) + ";";
}

Result<SourcePlan> CheckSource(PgConnection& c, const SourceCheckOptions& o) {
  SourcePlan plan;
  CDC_ASSIGN_OR_RETURN(
      PgResult s,
      c.Exec("SELECT current_setting('wal_level'), current_database(), current_user, r.rolsuper, r.rolreplication, "
             "current_setting('max_replication_slots')::int, current_setting('max_wal_senders')::int, "
             "(SELECT count(*) FROM pg_replication_slots), has_database_privilege(current_database(), 'CREATE') "
             "FROM pg_roles r WHERE r.rolname = current_user"));
  if (s.rows() != 1) return Status::Internal("the current role is not in pg_roles");
  if (s.Get(0, 0) != "logical") {
    return Status::FailedPrecondition(fmt::format(
        "PostgreSQL at {} has wal_level={}, logical replication needs wal_level=logical. Fix: run "
        "ALTER SYSTEM SET wal_level = logical; (or set it in postgresql.conf) and restart PostgreSQL",
        c.redacted_conninfo(), s.Get(0, 0)));
  }
  plan.database = std::string(s.Get(0, 1));
  plan.user = std::string(s.Get(0, 2));
  bool superuser = s.Get(0, 3) == "t";
  bool replication = s.Get(0, 4) == "t";
  int max_slots = std::stoi(std::string(s.Get(0, 5)));
  int max_senders = std::stoi(std::string(s.Get(0, 6)));
  int used_slots = std::stoi(std::string(s.Get(0, 7)));
  bool can_create_in_db = s.Get(0, 8) == "t";
  const std::string user = c.QuoteIdent(plan.user);
  const std::string pub = c.QuoteIdent(o.publication);
  plan.publication_quoted = pub;

  std::vector<Problem> problems;
  bool config_problem = false;
  auto add = [&](StatusCode code, std::string text) { problems.push_back({code, std::move(text)}); };

  if (!superuser && !replication) {
    add(StatusCode::kPermissionDenied,
        fmt::format("role {} may not use logical replication: run (as a superuser) ALTER ROLE {} REPLICATION;", user,
                    user));
  }

  // The publication.
  CDC_ASSIGN_OR_RETURN(PgResult p, c.ExecParams("SELECT p.puballtables, p.pubupdate OR p.pubdelete, "
                                                "pg_has_role(p.pubowner, 'USAGE'), pg_get_userbyid(p.pubowner) "
                                                "FROM pg_publication p WHERE p.pubname = $1",
                                                {o.publication}));
  bool pub_exists = p.rows() == 1;
  bool pub_all_tables = pub_exists && p.Get(0, 0) == "t";
  bool pub_updates = !pub_exists || p.Get(0, 1) == "t";  // a new publication publishes everything
  bool pub_owner = pub_exists && p.Get(0, 2) == "t";
  std::string pub_owner_name = pub_exists ? std::string(p.Get(0, 3)) : "";
  std::vector<std::pair<std::string, std::string>> pub_tables;
  if (pub_exists) {
    CDC_ASSIGN_OR_RETURN(PgResult pt, c.ExecParams("SELECT schemaname, tablename FROM pg_publication_tables "
                                                   "WHERE pubname = $1 ORDER BY 1, 2",
                                                   {o.publication}));
    for (int i = 0; i < pt.rows(); ++i) pub_tables.emplace_back(std::string(pt.Get(i, 0)), std::string(pt.Get(i, 1)));
  }

  // The database's tables, for messages.
  CDC_ASSIGN_OR_RETURN(PgResult ut, c.Exec("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n "
                                           "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT "
                                           "c.relispartition AND n.nspname <> 'information_schema' AND n.nspname "
                                           "!~ '^pg_' ORDER BY 1"));
  std::vector<std::string> user_tables;
  for (int i = 0; i < ut.rows(); ++i) user_tables.emplace_back(ut.Get(i, 0));

  // Which tables.
  std::vector<std::pair<std::string, std::string>> wanted;
  if (!o.tables.empty()) {
    // Read as PostgreSQL reads a name (ParseTableName), like the views file and `import --table`.
    for (const auto& text : o.tables) {
      Result<TableName> name = ParseTableName(text);
      if (!name.ok()) {
        std::string origin = o.tables_origin.empty() ? "" : " (listed in " + o.tables_origin + ")";
        return Status::InvalidArgument(name.status().message() + origin);
      }
      wanted.emplace_back(name->schema, name->name);
    }
  } else if (pub_exists && !pub_tables.empty()) {
    wanted = pub_tables;
  } else {
    config_problem = true;
    std::string example = user_tables.empty() ? "public.my_table" : user_tables.front();
    add(StatusCode::kInvalidArgument,
        pub_exists
            ? fmt::format("no tables to capture: none are configured and publication {} has none. Configure "
                          "them (source.tables / --tables) or run ALTER PUBLICATION {} ADD TABLE {}; The "
                          "database's tables: {}",
                          pub, pub, example, ListNames(user_tables))
            : fmt::format("no tables to capture: none are configured and publication {} does not exist. "
                          "Configure them (source.tables / --tables; the database's tables: {}) or create the "
                          "publication: CREATE PUBLICATION {} FOR TABLE {};",
                          pub, ListNames(user_tables), pub, example));
  }

  std::vector<std::string> no_select;
  std::vector<std::string> not_owned;  // tables whose owner this role is not ("t (owner r)")
  std::vector<size_t> not_owned_idx;
  for (const auto& [schema, table] : wanted) {
    SourceTable t;
    char relkind = 'r';
    bool can_select = false, owner = false;
    std::string owner_name;
    CDC_ASSIGN_OR_RETURN(bool found,
                         LookupSourceTable(c, schema, table, &t, &relkind, &can_select, &owner, &owner_name));
    std::string name = schema + "." + table;
    std::string origin = o.tables_origin.empty() ? "" : " (listed in " + o.tables_origin + ")";
    if (!found || (relkind != 'r' && relkind != 'p')) {
      config_problem = true;
      std::string closest = ClosestName(name, user_tables);
      add(StatusCode::kInvalidArgument,
          fmt::format("table {} {} in database \"{}\"{}: {}the database's tables: {}", name,
                      found ? std::string("is ") + RelkindName(relkind) + ", not a table," : "does not exist",
                      plan.database, origin, closest.empty() ? "" : "did you mean " + closest + "? ",
                      ListNames(user_tables)));
      continue;
    }
    if (!can_select) no_select.push_back(t.quoted);
    if (!owner) {
      not_owned.push_back(fmt::format("{} (owner {})", t.quoted, c.QuoteIdent(owner_name)));
      not_owned_idx.push_back(plan.tables.size());
    }
    t.in_publication = pub_all_tables || std::find(pub_tables.begin(), pub_tables.end(),
                                                   std::make_pair(schema, table)) != pub_tables.end();
    plan.tables.push_back(std::move(t));
  }
  if (!no_select.empty()) {
    std::string list = Join(no_select);
    add(StatusCode::kPermissionDenied,
        fmt::format("role {} may not read {} (the snapshot needs SELECT): run GRANT SELECT ON {} TO {};", user, list,
                    list, user));
  }
  auto owned = [&](size_t i) { return std::find(not_owned_idx.begin(), not_owned_idx.end(), i) == not_owned_idx.end(); };

  // Publication: create it, or add what it lacks.
  if (!plan.tables.empty()) {
    if (!pub_exists) {
      std::string sql = CreatePublicationSql(pub, plan.tables);
      if (!o.create_publication) {
        add(StatusCode::kFailedPrecondition,
            fmt::format("publication {} does not exist and create_publication is false: run {}", pub, sql));
      } else if (!can_create_in_db || !not_owned.empty()) {
        std::string why = !can_create_in_db ? fmt::format("has no CREATE privilege on database \"{}\"", plan.database)
                                            : "does not own " + Join(not_owned);
        add(StatusCode::kPermissionDenied,
            fmt::format("publication {} does not exist and role {} may not create it ({}): have the owner of the "
                        "tables or a superuser run {}",
                        pub, user, why, sql));
      } else {
        plan.create_publication = true;
      }
    } else if (!pub_all_tables) {
      std::vector<size_t> missing;
      for (size_t i = 0; i < plan.tables.size(); ++i) {
        if (!plan.tables[i].in_publication) missing.push_back(i);
      }
      if (!missing.empty()) {
        std::string sql = "ALTER PUBLICATION " + pub + " ADD TABLE " + JoinQuoted(plan.tables, missing) + ";";
        bool all_owned = std::all_of(missing.begin(), missing.end(), owned);
        if (!o.create_publication) {
          add(StatusCode::kFailedPrecondition,
              fmt::format("publication {} does not publish {} and create_publication is false: run {}", pub,
                          JoinQuoted(plan.tables, missing), sql));
        } else if (!pub_owner || !all_owned) {
          add(StatusCode::kPermissionDenied,
              fmt::format("publication {} does not publish {} and role {} may not add them (the publication's owner "
                          "is {}; adding a table needs ownership of the publication and of the table): have a "
                          "superuser run {}",
                          pub, JoinQuoted(plan.tables, missing), user, c.QuoteIdent(pub_owner_name), sql));
        } else {
          plan.add_to_publication = std::move(missing);
        }
      }
    }
  }

  // Replica identity.
  for (size_t i = 0; i < plan.tables.size(); ++i) {
    const SourceTable& t = plan.tables[i];
    bool no_identity = t.replica_identity == 'n' || (t.replica_identity == 'd' && !t.has_primary_key);
    std::string fix = "ALTER TABLE " + t.quoted + " REPLICA IDENTITY FULL;";
    if (o.replica_identity_full) {
      if (t.replica_identity == 'f') continue;
      if (!owned(i)) {
        add(StatusCode::kPermissionDenied,
            fmt::format("replica_identity_full is set but role {} does not own {}: have its owner run {}", user,
                        t.quoted, fix));
      } else {
        plan.set_identity_full.push_back(i);
      }
    } else if (no_identity && pub_updates) {
      add(StatusCode::kFailedPrecondition,
          fmt::format("table {} has no primary key and REPLICA IDENTITY {}: in publication {} (which publishes "
                      "updates and deletes) every UPDATE and DELETE of it would fail. Run {} or set "
                      "replica_identity_full: true (or give the table a primary key)",
                      t.quoted, t.replica_identity == 'n' ? "NOTHING" : "DEFAULT", pub, fix));
    } else if (t.replica_identity == 'd') {
      plan.key_only_tables.push_back(t.schema + "." + t.table);
    }
  }

  // The slot.
  CDC_ASSIGN_OR_RETURN(PgResult sl, c.ExecParams("SELECT slot_type, coalesce(plugin, ''), coalesce(database::text, "
                                                 "''), coalesce(wal_status, ''), confirmed_flush_lsn "
                                                 "FROM pg_replication_slots WHERE slot_name = $1",
                                                 {o.slot}));
  plan.slot_exists = sl.rows() == 1;
  if (plan.slot_exists) {
    plan.slot_lost = sl.Get(0, 3) == "lost";
    if (!sl.IsNull(0, 4)) plan.slot_confirmed_lsn = Lsn::Parse(sl.Get(0, 4)).value_or(Lsn());
  }
  if (plan.slot_exists &&
      (sl.Get(0, 0) != "logical" || sl.Get(0, 1) != "pgoutput" || sl.Get(0, 2) != plan.database)) {
    add(StatusCode::kFailedPrecondition,
        fmt::format("replication slot \"{}\" exists but is a {} slot{}{}: choose another slot name, or drop it "
                    "if it is unused: SELECT pg_drop_replication_slot('{}');",
                    o.slot, sl.Get(0, 0), sl.Get(0, 1).empty() ? "" : " for plugin " + std::string(sl.Get(0, 1)),
                    sl.Get(0, 2).empty() ? "" : " in database " + std::string(sl.Get(0, 2)), o.slot));
  }
  if (!plan.slot_exists && used_slots >= max_slots) {
    CDC_ASSIGN_OR_RETURN(PgResult idle, c.Exec("SELECT slot_name FROM pg_replication_slots WHERE NOT active "
                                               "ORDER BY 1"));
    std::vector<std::string> names;
    for (int i = 0; i < idle.rows(); ++i) names.emplace_back(idle.Get(i, 0));
    add(StatusCode::kFailedPrecondition,
        fmt::format("every replication slot is in use ({} of max_replication_slots = {}): drop one that is no "
                    "longer needed (SELECT pg_drop_replication_slot('name'); inactive: {}) or raise "
                    "max_replication_slots (ALTER SYSTEM SET max_replication_slots = {}; and restart PostgreSQL)",
                    used_slots, max_slots, ListNames(names), max_slots + 1));
  }
  if (max_senders == 0) {
    add(StatusCode::kFailedPrecondition,
        "max_wal_senders = 0 allows no replication connection: run ALTER SYSTEM SET max_wal_senders = 10; and "
        "restart PostgreSQL");
  }

  if (problems.empty()) return plan;
  StatusCode code = config_problem ? StatusCode::kInvalidArgument : problems.front().code;
  std::string msg;
  if (problems.size() == 1) {
    msg = problems.front().text + fmt::format(" (nothing in database \"{}\" was changed)", plan.database);
  } else {
    msg = fmt::format("{} problems before capture can start (nothing in database \"{}\" was changed):", problems.size(),
                      plan.database);
    for (size_t i = 0; i < problems.size(); ++i) msg += fmt::format("\n  {}. {}", i + 1, problems[i].text);
  }
  return Status(code, std::move(msg));
}

Status ApplySourcePlan(PgConnection& c, const SourcePlan& plan, std::string_view component) {
  if (!plan.changes()) return Status::OK();
  std::string sql = "BEGIN;";
  if (plan.create_publication) sql += CreatePublicationSql(plan.publication_quoted, plan.tables);
  if (!plan.add_to_publication.empty()) {
    sql += "ALTER PUBLICATION " + plan.publication_quoted + " ADD TABLE " +
           JoinQuoted(plan.tables, plan.add_to_publication) + ";";
  }
  for (size_t i : plan.set_identity_full) sql += "ALTER TABLE " + plan.tables[i].quoted + " REPLICA IDENTITY FULL;";
  sql += "COMMIT;";
  Status st = c.Run(sql);
  if (!st.ok()) {
    (void)c.Run("ROLLBACK");
    return st.WithContext("setting up capture (nothing was changed)");
  }
  if (plan.create_publication) {
    log::Info(component, "created publication {} for {}", plan.publication_quoted,
              JoinQuoted(plan.tables, All(plan.tables.size())));
  }
  if (!plan.add_to_publication.empty()) {
    log::Info(component, "added {} to publication {}", JoinQuoted(plan.tables, plan.add_to_publication),
              plan.publication_quoted);
  }
  if (!plan.set_identity_full.empty()) {
    log::Info(component, "set REPLICA IDENTITY FULL on {} (replica_identity_full)",
              JoinQuoted(plan.tables, plan.set_identity_full));
  }
  return Status::OK();
}

Status UndoSourcePlan(PgConnection& c, const SourcePlan& plan) {
  if (!plan.changes()) return Status::OK();
  std::string sql = "BEGIN;";
  for (size_t i : plan.set_identity_full) {
    const SourceTable& t = plan.tables[i];
    std::string identity = t.replica_identity == 'n'   ? "NOTHING"
                           : t.replica_identity == 'i' ? "USING INDEX " + c.QuoteIdent(t.identity_index)
                                                       : "DEFAULT";
    sql += "ALTER TABLE " + t.quoted + " REPLICA IDENTITY " + identity + ";";
  }
  if (!plan.add_to_publication.empty()) {
    sql += "ALTER PUBLICATION " + plan.publication_quoted + " DROP TABLE " +
           JoinQuoted(plan.tables, plan.add_to_publication) + ";";
  }
  if (plan.create_publication) sql += "DROP PUBLICATION " + plan.publication_quoted + ";";
  sql += "COMMIT;";
  Status st = c.Run(sql);
  if (!st.ok()) (void)c.Run("ROLLBACK");
  return st;
}

}  // namespace cdc::pg
