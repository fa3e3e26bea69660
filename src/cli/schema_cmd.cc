// `cdcpipe schema`: prints the DDL of the source tables (or applies it with --apply).
#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "pg/connection.h"
#include "pg/schema.h"

namespace cdc::cli {

void RegisterSchema(CLI::App& app) {
  auto* sub = app.add_subcommand("schema", "Print the DDL of the source tables (klienci, pracownicy, projekty)");
  struct Opts {
    bool apply = false;
  };
  auto opts = std::make_shared<Opts>();
  auto flags = std::make_shared<config::Flags>(sub, std::initializer_list<config::Group>{config::Group::kDatabase});
  sub->add_flag("--apply", opts->apply, "Create the missing tables in the database instead of printing");
  SetCommandMain(sub, [opts, flags]() -> int {
    auto cfg = flags->Resolve();  // even to print: a bad config is reported by every subcommand
    if (!cfg.ok()) return ConfigError("schema", cfg.status());
    if (!opts->apply) {
      std::fputs(pg::SchemaSql().c_str(), stdout);
      return kExitOk;
    }
    auto conn = pg::PgConnection::Connect(cfg->Conninfo());
    if (!conn.ok()) return Fail("schema", conn.status());
    Status st = pg::EnsureSchema(*conn);
    if (!st.ok()) return Fail("schema", st);
    log::Info("schema", "tables klienci, pracownicy, projekty exist");
    return kExitOk;
  });
}

}  // namespace cdc::cli
