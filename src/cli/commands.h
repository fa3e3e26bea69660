// Registration of every subcommand (one Register* per <name>_cmd.cc).
#pragma once

#include <CLI/CLI.hpp>

namespace cdc::cli {

void RegisterSchema(CLI::App& app);  // schema_cmd.cc
void RegisterImport(CLI::App& app);  // import_cmd.cc
void RegisterCapture(CLI::App& app);  // capture_cmd.cc
void RegisterBatch(CLI::App& app);   // batch_cmd.cc
void RegisterStream(CLI::App& app);   // stream_cmd.cc
void RegisterRun(CLI::App& app);      // run_cmd.cc
void RegisterStatus(CLI::App& app);   // status_cmd.cc

inline void RegisterAll(CLI::App& app) {
  RegisterSchema(app);
  RegisterImport(app);
  RegisterCapture(app);
  RegisterBatch(app);
  RegisterStream(app);
  RegisterRun(app);
  RegisterStatus(app);
}

}  // namespace cdc::cli
