// `cdcpipe schema`: prints the DDL of the source tables (or applies it with --apply).
#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "pg/connection.h"
#include "pg/schema.h"

namespace cdc::cli {

void RegisterSchema(CLI::App& app) {
  auto* sub = app.add_subcommand("schema", "Print the DDL of the source tables (klienci, pracownicy, projekty)");
  struct Opts {
    bool apply = false;
    std::string db;
  };
  auto opts = std::make_shared<Opts>();
  sub->add_flag("--apply", opts->apply, "Create the missing tables in the database instead of printing");
  sub->add_option("--db", opts->db, "PostgreSQL connection (URI or key=value); default $CDCPIPE_DB or PG* variables");
  SetCommandMain(sub, [opts]() -> int {
    if (!opts->apply) {
      std::fputs(pg::SchemaSql().c_str(), stdout);
      return kExitOk;
    }
    auto conn = pg::PgConnection::Connect(pg::ResolveConninfo(opts->db));
    if (!conn.ok()) return Fail("schema", conn.status());
    Status st = pg::EnsureSchema(*conn);
    if (!st.ok()) return Fail("schema", st);
    log::Info("schema", "tables klienci, pracownicy, projekty exist");
    return kExitOk;
  });
}

}  // namespace cdc::cli
