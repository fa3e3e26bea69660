// From the one Config (src/config) to the option structs of the jobs. Every subcommand builds its
// job's options here, so capture and run cannot drift apart again.
#pragma once

#include <string_view>

#include "analytics/view_engine.h"
#include "base/status.h"
#include "config/config.h"
#include "jobs/capture.h"
#include "jobs/stream.h"
#include "jobs/views.h"
#include "store/object_store.h"

namespace cdc::cli {

// The S3 endpoint and create_bucket of output.* (credentials come from the environment).
store::StoreOptions StoreOptionsFrom(const config::Config& c);

// source.*, events.*, kafka.topic_prefix -> capture. InvalidArgument on a value the job rejects.
Result<jobs::CaptureOptions> CaptureOptionsFrom(const config::Config& c);

// output.* -> the raw-kafka-data writer of `stream` and `run`.
Result<jobs::RawOutputOptions> RawOutputOptionsFrom(const config::Config& c);

// kafka.* + output.* -> `stream`.
Result<jobs::StreamOptions> StreamOptionsFrom(const config::Config& c);

// views.file + the source's tables -> loading the views file (`run`, `batch`).
jobs::ViewsOptions ViewsOptionsFrom(const config::Config& c);
// events.* -> how the views decode the raw events.
Result<analytics::EventSettings> EventSettingsFrom(const config::Config& c);

// A config that cannot be resolved: "cdcpipe <command>: <message>" on stderr, exit code 2.
int ConfigError(std::string_view command, const Status& status);

}  // namespace cdc::cli
