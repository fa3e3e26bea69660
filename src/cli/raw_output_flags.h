// The flags `cdcpipe stream` and `cdcpipe run` share: where raw events go and how batches are cut.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "jobs/stream.h"
#include "log/kafka_sink.h"

namespace cdc::cli {

struct RawOutputFlags {
  std::string output = "./data/processed-data";
  std::string checkpoint;
  std::string trigger = "1s";
  size_t max_batch_rows = 10000;
  std::string compression = "snappy";
  std::string s3_endpoint;
  bool create_bucket = false;
  std::vector<std::string> kafka_props;  // -X key=value
};

inline void AddRawOutputFlags(CLI::App* sub, RawOutputFlags* f) {
  sub->add_option("--output", f->output, "Output root: a directory, file:///dir or s3://bucket[/prefix]")
      ->default_val("./data/processed-data");
  sub->add_option("--checkpoint", f->checkpoint, "Checkpoint location (default <output>/_checkpoints/stream)");
  sub->add_option("--trigger", f->trigger, "Cut a micro-batch this long after its first event (250ms, 1s, 2m)")
      ->default_val("1s");
  sub->add_option("--max-batch-rows", f->max_batch_rows, "... or when it holds this many events")->default_val(10000);
  sub->add_option("--compression", f->compression, "Parquet compression: snappy, zstd or none")->default_val("snappy");
  sub->add_option("--s3-endpoint", f->s3_endpoint, "S3 endpoint for s3:// outputs (default $CDCPIPE_S3_ENDPOINT or AWS)");
  sub->add_flag("--create-bucket", f->create_bucket, "Create the S3 bucket when it does not exist");
  sub->add_option("-X", f->kafka_props, "librdkafka property key=value (repeatable), applied last");
}

// Fills `out` from the flags; InvalidArgument on a bad value.
inline Status ToRawOutputOptions(const RawOutputFlags& f, jobs::RawOutputOptions* out,
                                 std::map<std::string, std::string>* kafka_props) {
  out->output = f.output;
  out->checkpoint = f.checkpoint;
  CDC_ASSIGN_OR_RETURN(out->trigger, ParseDuration(f.trigger));
  if (out->trigger.count() <= 0) return Status::InvalidArgument("--trigger must be positive");
  if (f.max_batch_rows == 0) return Status::InvalidArgument("--max-batch-rows must be at least 1");
  out->max_batch_rows = f.max_batch_rows;
  CDC_ASSIGN_OR_RETURN(out->compression, parquet::ParseCompression(f.compression));
  out->store.s3_endpoint = f.s3_endpoint;
  out->store.create_bucket = f.create_bucket;
  for (const auto& p : f.kafka_props) CDC_RETURN_IF_ERROR(log::ParseKafkaProperty(p, kafka_props));
  return Status::OK();
}

// Splits "a,b" and repeated values into a list.
inline std::vector<std::string> SplitList(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t comma = v.find(',', pos);
      if (comma == std::string::npos) comma = v.size();
      if (comma > pos) out.push_back(v.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  return out;
}

}  // namespace cdc::cli
