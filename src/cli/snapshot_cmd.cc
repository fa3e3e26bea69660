// `cdcpipe snapshot --table T [--where W] [--wait]`: asks the running `cdcpipe run` (http.listen, or
// --http) for an incremental snapshot of one table (POST /api/snapshots; docs/CAPTURE.md, "Incremental
// snapshots"). The pipeline checks the request and answers at once; --wait then follows it (GET
// /api/snapshots) until it is done.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "base/terminal_text.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "http/http_client.h"

namespace cdc::cli {

namespace {

std::string QueryEscape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The pipeline's answer as a Status: its "error" text with the code its HTTP status stands for.
Status ReplyStatus(const http::HttpGetReply& r, const std::string& address) {
  if (r.status / 100 == 2) return Status::OK();
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  std::string why = j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : r.body;
  switch (r.status) {
    case 400: return Status::InvalidArgument(why);
    case 401: return Status::Unauthenticated(address + ": 401 unauthorized: set $CDCPIPE_HTTP_TOKEN (or http.token_file) to the token of the running pipeline");
    case 404: return j.is_object() ? Status::NotFound(why) : Status::NotFound(address + " does not serve /api/snapshots: is it `cdcpipe run`?");
    case 409: return Status::FailedPrecondition(why);
    case 503: return Status::Unavailable(why);
    default: return Status::Internal("HTTP " + std::to_string(r.status) + ": " + why);
  }
}

}  // namespace

void RegisterSnapshot(CLI::App& app) {
  auto* sub = app.add_subcommand("snapshot", "Ask the running pipeline for an incremental snapshot of a table");
  struct Opts {
    std::string table;
    std::string where;
    bool wait = false;
  };
  auto o = std::make_shared<Opts>();
  auto flags = std::make_shared<config::Flags>(sub, std::initializer_list<config::Group>{config::Group::kHttp});
  sub->add_option("--table", o->table, "The table, schema.table (schema public when left out)")->required();
  sub->add_option("--where", o->where, "Only the rows meeting this SQL condition (read-only, on the table's columns)");
  sub->add_flag("--wait", o->wait, "Wait until the snapshot is done, printing its progress");
  SetCommandMain(sub, [o, flags]() -> int {
    const char* cmd = "snapshot";
    auto cfg = flags->Resolve();
    if (!cfg.ok()) return ConfigError(cmd, cfg.status());
    if (cfg->http.listen == "off") {
      return ConfigError(cmd, Status::InvalidArgument("http.listen is off: name the running pipeline's address with --http"));
    }
    std::string address = cfg->http.listen, token = cfg->HttpToken();
    std::string path = "/api/snapshots?table=" + QueryEscape(o->table);
    if (!o->where.empty()) path += "&where=" + QueryEscape(o->where);
    auto reply = http::HttpCall("POST", address, path, token);
    if (!reply.ok()) return Fail(cmd, reply.status());
    if (Status st = ReplyStatus(*reply, address); !st.ok()) return Fail(cmd, st);
    auto accepted = nlohmann::json::parse(reply->body, nullptr, false);
    std::string table = accepted.value("table", o->table);
    std::printf("incremental snapshot of %s queued\n", TerminalText(table).c_str());
    std::fflush(stdout);
    if (!o->wait) return kExitOk;
    std::string last;
    for (;;) {
      auto r = http::HttpCall("GET", address, "/api/snapshots", token);
      if (!r.ok()) return Fail(cmd, r.status());
      if (Status st = ReplyStatus(*r, address); !st.ok()) return Fail(cmd, st);
      auto j = nlohmann::json::parse(r->body, nullptr, false);
      nlohmann::json mine;
      if (j.is_object() && j.contains("snapshots")) {
        for (const auto& s : j["snapshots"]) {
          if (s.value("table", "") == table) mine = s;  // the latest of that table
        }
      }
      if (!mine.is_object()) return Fail(cmd, Status::Internal("the pipeline no longer lists the snapshot of " + table));
      std::string line = mine.value("state", "") + ": " + std::to_string(mine.value("rows", uint64_t{0})) + " rows, " +
                         std::to_string(mine.value("chunks", uint64_t{0})) + " chunks, " +
                         std::to_string(mine.value("dropped", uint64_t{0})) + " dropped as changed in their window";
      if (line != last) std::printf("%s %s\n", TerminalText(table).c_str(), line.c_str());
      std::fflush(stdout);
      last = line;
      if (mine.value("state", "") == "done") return kExitOk;
      if (mine.value("state", "") == "failed") return Fail(cmd, Status::Internal(mine.value("error", "failed")));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
}

}  // namespace cdc::cli
