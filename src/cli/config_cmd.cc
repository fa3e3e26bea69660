// `cdcpipe config`: prints the resolved configuration (file, environment, flags) as YAML, each value
// with where it came from, secrets redacted. A bad config is the same error every subcommand gives.
#include <cstdio>
#include <memory>

#include "base/terminal_text.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"

namespace cdc::cli {

void RegisterConfig(CLI::App& app) {
  auto* sub = app.add_subcommand("config", "Print the resolved configuration and where each value came from");
  auto flags = std::make_shared<config::Flags>(
      sub, std::initializer_list<config::Group>{config::Group::kDatabase, config::Group::kCapture,
                                                config::Group::kEvents, config::Group::kKafka, config::Group::kConsumer,
                                                config::Group::kOutput, config::Group::kWriter, config::Group::kHttp,
                                                config::Group::kViews});
  SetCommandMain(sub, [flags]() -> int {
    auto cfg = flags->Resolve();
    if (!cfg.ok()) return ConfigError("config", cfg.status());
    // The values the jobs would reject are checked too, so `cdcpipe config` is a full validation.
    if (auto co = CaptureOptionsFrom(*cfg); !co.ok()) return ConfigError("config", co.status());
    if (auto so = StreamOptionsFrom(*cfg); !so.ok()) return ConfigError("config", so.status());
    std::fputs(TerminalText(cfg->Describe(), true).c_str(), stdout);  // values may name hostile tables
    return kExitOk;
  });
}

}  // namespace cdc::cli
