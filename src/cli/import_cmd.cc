// `cdcpipe import`: CSV files -> PostgreSQL tables through COPY, validated, one transaction per file.
// The contract (flags, modes, errors, exit codes) is in docs/IMPORT.md.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/terminal_text.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "pg/connection.h"
#include "pg/csv_import.h"
#include "pg/table_catalog.h"

namespace cdc::cli {
namespace {

struct ImportFlags {
  std::string db;  // the source connection (the one place import reads it)
  std::string dir = "csv_files";
  std::string table;
  std::string file;
  std::string mode = "upsert";
  uint64_t max_errors = 0;
  std::string rejects;
};

struct Job {
  pg::TableName table;
  std::string path;
  std::string rejects;
};

int Usage(const std::string& msg) {
  std::fprintf(stderr, "cdcpipe import: %s\n", TerminalText(msg).c_str());
  return kExitUsage;
}

// "rejects.csv" -> "rejects.klienci.csv" (when several tables share one --rejects).
std::string RejectsPathFor(const std::string& path, const std::string& table) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return path + "." + table;
  return path.substr(0, dot) + "." + table + path.substr(dot);
}

// A file problem found before importing: "" when the file looks importable.
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

// The `<name>.csv` files of `dir`, sorted by name.
Result<std::vector<std::string>> CsvFilesIn(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::IoError(dir + ": cannot list: " + std::strerror(errno));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".csv") == 0) names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// --dir: every DIR/<table>.csv whose stem names a table of schema public (exactly, else folded to
// lower case as PostgreSQL folds an unquoted name); the other .csv files are reported as skipped.
Result<std::vector<Job>> DirJobs(pg::PgConnection& conn, const ImportFlags& f) {
  CDC_ASSIGN_OR_RETURN(std::vector<std::string> tables, pg::ListTables(conn, "public"));
  CDC_ASSIGN_OR_RETURN(std::vector<std::string> files, CsvFilesIn(f.dir));
  std::vector<Job> jobs;
  std::string skipped;
  for (const auto& file : files) {
    std::string stem = file.substr(0, file.size() - 4);
    std::string folded = stem;
    for (char& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto has = [&](const std::string& n) { return std::find(tables.begin(), tables.end(), n) != tables.end(); };
    std::string name = has(stem) ? stem : has(folded) ? folded : "";
    if (name.empty()) {
      std::printf("skipped %s/%s: no table public.%s in the database\n", TerminalText(f.dir).c_str(), TerminalText(file).c_str(),
                  TerminalText(folded).c_str());
      continue;
    }
    pg::TableName t;
    t.name = name;
    jobs.push_back({t, f.dir + "/" + file, f.rejects});
  }
  std::fflush(stdout);
  if (jobs.empty()) {
    std::string list;
    for (size_t i = 0; i < tables.size() && i < 30; ++i) list += (i ? ", " : "") + tables[i];
    return Status::InvalidArgument(f.dir + ": no CSV file named after a table (expected <table>.csv; tables in " +
                                   "schema public: " + (list.empty() ? "none" : list) + ")");
  }
  if (jobs.size() > 1 && !f.rejects.empty()) {
    for (auto& j : jobs) j.rejects = RejectsPathFor(f.rejects, j.table.name);
  }
  return jobs;
}

int RunImport(const ImportFlags& f) {
  pg::ImportMode mode;
  if (!pg::ParseImportMode(f.mode, &mode)) return Usage("unknown --mode '" + f.mode + "' (use insert, upsert or replace)");
  if (f.max_errors > 0 && f.rejects.empty()) {
    return Usage("--max-errors needs --rejects PATH (the file that receives the bad rows)");
  }
  std::vector<Job> jobs;
  const bool one_table = !f.file.empty() || !f.table.empty();
  if (one_table) {
    std::string table = f.table;
    if (table.empty()) {
      size_t slash = f.file.find_last_of('/');
      std::string base = f.file.substr(slash == std::string::npos ? 0 : slash + 1);
      table = base.substr(0, base.rfind(".csv") == std::string::npos ? base.size() : base.rfind(".csv"));
    }
    auto name = pg::ParseTableName(table);
    if (!name.ok()) return Usage(name.status().message() + "; name the table with --table");
    jobs.push_back({*name, f.file.empty() ? f.dir + "/" + name->name + ".csv" : f.file, f.rejects});
    std::string problem = CheckFile(jobs[0].path);
    if (!problem.empty()) {
      std::fprintf(stderr, "cdcpipe import: %s\n", TerminalText(problem).c_str());
      return kExitBadInput;
    }
  } else {
    struct stat st {};
    if (::stat(f.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      std::fprintf(stderr, "cdcpipe import: %s: no such directory (pass --dir DIR or --table NAME --file PATH)\n",
                   f.dir.c_str());
      return kExitBadInput;
    }
  }

  auto conn = pg::PgConnection::Connect(f.db);
  if (!conn.ok()) return FailOneLine(conn.status());
  if (!one_table) {
    auto found = DirJobs(*conn, f);
    if (!found.ok()) return FailOneLine(found.status());
    jobs = std::move(*found);
    for (const auto& j : jobs) {
      std::string problem = CheckFile(j.path);
      if (!problem.empty()) {
        std::fprintf(stderr, "cdcpipe import: %s\n", TerminalText(problem).c_str());
        return kExitBadInput;
      }
    }
  }

  for (const auto& j : jobs) {
    auto table = pg::LoadTable(*conn, j.table);
    if (!table.ok()) return FailOneLine(table.status().WithContext(j.path));
    pg::ImportOptions o;
    o.mode = mode;
    o.max_errors = f.max_errors;
    o.rejects_path = j.rejects;
    const std::string name = j.table.Display();
    auto stats = pg::ImportCsvFile(*conn, *table, j.path, o);
    if (!stats.ok()) {
      Status st = stats.status();
      // A file that vanished or became unreadable after the check is still bad input.
      if (st.IsNotFound() || st.IsIoError()) st = Status::InvalidArgument(st.message());
      return FailOneLine(st.WithContext("table " + name + " unchanged"));
    }
    const pg::ImportStats& s = *stats;
    double rate = s.seconds > 0 ? static_cast<double>(s.rows_read) / s.seconds : 0;
    std::string line = name + " (" + j.path + ", " + pg::ImportModeName(mode) + "): " +
                       std::to_string(s.rows_read) + " rows read, " + std::to_string(s.inserted) + " inserted, " +
                       std::to_string(s.updated) + " updated, " + std::to_string(s.unchanged) + " unchanged, ";
    if (mode == pg::ImportMode::kReplace) line += std::to_string(s.deleted) + " deleted, ";
    line += std::to_string(s.rejected) + " rejected";
    if (s.rejected > 0) line += " (see " + j.rejects + ")";
    char tail[96];
    std::snprintf(tail, sizeof tail, " in %.2f s (%.0f rows/s)", s.seconds, rate);
    line += tail;
    std::printf("%s\n", TerminalText(line).c_str());  // the table name comes from the command line or a file name
    std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace

void RegisterImport(CLI::App& app) {
  auto* sub = app.add_subcommand("import", "Import CSV files into PostgreSQL (validated, all-or-nothing per file)");
  auto f = std::make_shared<ImportFlags>();
  // --db, --password-file and --config: the source connection comes from the config (docs/CONFIG.md).
  auto flags = std::make_shared<config::Flags>(sub, std::initializer_list<config::Group>{config::Group::kDatabase});
  sub->add_option("--dir", f->dir, "Directory of <table>.csv files: each one named after a table is imported")
      ->default_val("csv_files");
  sub->add_option("--table", f->table, "Import only this table (name or schema.name; default schema public)");
  sub->add_option("--file", f->file, "The CSV file for --table (default <dir>/<table>.csv)");
  sub->add_option("--mode", f->mode, "insert, upsert or replace")->default_val("upsert");
  sub->add_option("--max-errors", f->max_errors, "Bad rows to skip (written to --rejects) before aborting")
      ->default_val(0);
  sub->add_option("--rejects", f->rejects, "CSV file that receives the skipped bad rows with a reason column");
  SetCommandMain(sub, [f, flags]() -> int {
    auto cfg = flags->Resolve();
    if (!cfg.ok()) return ConfigError("import", cfg.status());
    f->db = cfg->Conninfo();
    return RunImport(*f);
  });
}

}  // namespace cdc::cli
