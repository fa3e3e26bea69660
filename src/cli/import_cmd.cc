// `cdcpipe import`: CSV files -> PostgreSQL tables through COPY, validated, one transaction per file.
// The contract (flags, modes, errors, exit codes) is in docs/IMPORT.md.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "pg/connection.h"
#include "pg/csv_import.h"
#include "pg/schema.h"

namespace cdc::cli {
namespace {

struct ImportFlags {
  std::string db;
  std::string dir = "csv_files";
  std::string table;
  std::string file;
  std::string mode = "upsert";
  uint64_t max_errors = 0;
  std::string rejects;
};

struct Job {
  const pg::TableDef* table;
  std::string path;
  std::string rejects;
};

int Usage(const std::string& msg) {
  std::fprintf(stderr, "cdcpipe import: %s\n", msg.c_str());
  return kExitUsage;
}

std::string TableNames() {
  std::string s;
  for (const auto& t : pg::KnownTables()) s += (s.empty() ? "" : ", ") + t.name;
  return s;
}

// "rejects.csv" -> "rejects.klienci.csv" (when several tables share one --rejects).
std::string RejectsPathFor(const std::string& path, const std::string& table) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return path + "." + table;
  return path.substr(0, dot) + "." + table + path.substr(dot);
}

// A file problem found before touching the database: "" when the file looks importable.
std::string CheckFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return path + ": no such file (check the path or --dir)";
    return path + ": cannot access: " + std::strerror(errno);
  }
  if (S_ISDIR(st.st_mode)) return path + ": is a directory, not a CSV file";
  if (::access(path.c_str(), R_OK) != 0) return path + ": cannot read: " + std::strerror(errno);
  if (st.st_size == 0) return path + ": the file is empty (expected a header line and rows)";
  return "";
}

int FailOneLine(const Status& st) { return Fail("import", st); }

int RunImport(const ImportFlags& f) {
  pg::ImportMode mode;
  if (!pg::ParseImportMode(f.mode, &mode)) return Usage("unknown --mode '" + f.mode + "' (use insert, upsert or replace)");
  if (f.max_errors > 0 && f.rejects.empty()) {
    return Usage("--max-errors needs --rejects PATH (the file that receives the bad rows)");
  }

  std::vector<Job> jobs;
  if (!f.file.empty() || !f.table.empty()) {
    std::string table = f.table;
    if (table.empty()) {
      size_t slash = f.file.find_last_of('/');
      std::string base = f.file.substr(slash == std::string::npos ? 0 : slash + 1);
      table = base.substr(0, base.find('.'));
    }
    const pg::TableDef* def = pg::FindTable(table);
    if (def == nullptr) {
      return Usage("unknown table '" + table + "' (known tables: " + TableNames() + "; name it with --table)");
    }
    jobs.push_back({def, f.file.empty() ? f.dir + "/" + def->name + ".csv" : f.file, f.rejects});
  } else {
    struct stat st {};
    if (::stat(f.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      std::fprintf(stderr, "cdcpipe import: %s: no such directory (pass --dir DIR or --table NAME --file PATH)\n",
                   f.dir.c_str());
      return kExitBadInput;
    }
    for (const auto& t : pg::KnownTables()) {
      std::string path = f.dir + "/" + t.name + ".csv";
      if (::stat(path.c_str(), &st) == 0) jobs.push_back({&t, path, f.rejects});
    }
    if (jobs.empty()) {
      std::fprintf(stderr, "cdcpipe import: %s: no CSV files to import (expected %s.csv, ...)\n", f.dir.c_str(),
                   pg::KnownTables()[0].name.c_str());
      return kExitBadInput;
    }
    if (jobs.size() > 1 && !f.rejects.empty()) {
      for (auto& j : jobs) j.rejects = RejectsPathFor(f.rejects, j.table->name);
    }
  }
  for (const auto& j : jobs) {
    std::string problem = CheckFile(j.path);
    if (!problem.empty()) {
      std::fprintf(stderr, "cdcpipe import: %s\n", problem.c_str());
      return kExitBadInput;
    }
  }

  auto conn = pg::PgConnection::Connect(pg::ResolveConninfo(f.db));
  if (!conn.ok()) return FailOneLine(conn.status());
  // "relation already exists, skipping" notices from CREATE TABLE IF NOT EXISTS are noise here.
  conn->Run("SET client_min_messages TO warning").ok();
  // Create only the missing tables: CREATE TABLE IF NOT EXISTS needs CREATE on the schema even when
  // the table exists, and an importer may hold only table privileges.
  std::vector<std::string> missing;
  for (const auto& j : jobs) {
    auto r = conn->Exec("SELECT to_regclass('public." + j.table->name + "') IS NULL");
    if (!r.ok()) return FailOneLine(r.status());
    if (r->Get(0, 0) == "t") missing.push_back(j.table->name);
  }
  if (!missing.empty()) {
    if (Status st = pg::EnsureSchema(*conn, missing); !st.ok()) return FailOneLine(st);
  }

  for (const auto& j : jobs) {
    pg::ImportOptions o;
    o.mode = mode;
    o.max_errors = f.max_errors;
    o.rejects_path = j.rejects;
    auto stats = pg::ImportCsvFile(*conn, *j.table, j.path, o);
    if (!stats.ok()) {
      Status st = stats.status();
      // A file that vanished or became unreadable after the check is still bad input.
      if (st.IsNotFound() || st.IsIoError()) st = Status::InvalidArgument(st.message());
      return FailOneLine(st.WithContext("table " + j.table->name + " unchanged"));
    }
    const pg::ImportStats& s = *stats;
    double rate = s.seconds > 0 ? static_cast<double>(s.rows_read) / s.seconds : 0;
    std::string line = j.table->name + " (" + j.path + ", " + pg::ImportModeName(mode) + "): " +
                       std::to_string(s.rows_read) + " rows read, " + std::to_string(s.inserted) + " inserted, " +
                       std::to_string(s.updated) + " updated, " + std::to_string(s.unchanged) + " unchanged, ";
    if (mode == pg::ImportMode::kReplace) line += std::to_string(s.deleted) + " deleted, ";
    line += std::to_string(s.rejected) + " rejected";
    if (s.rejected > 0) line += " (see " + j.rejects + ")";
    char tail[96];
    std::snprintf(tail, sizeof tail, " in %.2f s (%.0f rows/s)", s.seconds, rate);
    line += tail;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace

void RegisterImport(CLI::App& app) {
  auto* sub = app.add_subcommand("import", "Import CSV files into PostgreSQL (validated, all-or-nothing per file)");
  auto f = std::make_shared<ImportFlags>();
  sub->add_option("--db", f->db, "PostgreSQL connection (URI or key=value); default $CDCPIPE_DB or PG* variables");
  sub->add_option("--dir", f->dir, "Directory with <table>.csv files (klienci, pracownicy, projekty)")
      ->default_val("csv_files");
  sub->add_option("--table", f->table, "Import only this table (klienci, pracownicy or projekty)");
  sub->add_option("--file", f->file, "The CSV file for --table (default <dir>/<table>.csv)");
  sub->add_option("--mode", f->mode, "insert, upsert or replace")->default_val("upsert");
  sub->add_option("--max-errors", f->max_errors, "Bad rows to skip (written to --rejects) before aborting")
      ->default_val(0);
  sub->add_option("--rejects", f->rejects, "CSV file that receives the skipped bad rows with a reason column");
  SetCommandMain(sub, [f]() -> int { return RunImport(*f); });
}

}  // namespace cdc::cli
