// Rendering of a PipelineState snapshot for machines: the /api/status JSON document and the
// /metrics Prometheus text exposition (format 0.0.4). Pure functions of (state, now): no I/O, no locks.
//
// Metric names follow the Prometheus conventions: prefix `cdcpipe_`, base units (seconds, bytes),
// counters end in `_total`, every family has one # HELP and one # TYPE line before its samples.
// The families are listed in docs/OPERATIONS.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "jobs/pipeline_state.h"

namespace cdc::http {

// The content type of RenderMetrics' output.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The /api/status document. `now_ms` (wall clock, ms since the epoch) is used for uptime and ages.
std::string RenderStatusJson(const jobs::PipelineState& state, int64_t now_ms);

// The /metrics exposition.
std::string RenderMetrics(const jobs::PipelineState& state, int64_t now_ms);

// A label value escaped for the text format: backslash, double quote and newline; a byte that is not
// part of valid UTF-8 becomes U+FFFD (the format is UTF-8). Everything else is written as it is.
std::string EscapeLabelValue(std::string_view value);

// A sample value in the text format: shortest round-trip decimal, "NaN", "+Inf", "-Inf".
std::string FormatSampleValue(double value);

// Whether a stage in `state` counts as up for cdcpipe_stage_up: running or catching_up.
bool StageIsUp(std::string_view state);

}  // namespace cdc::http
