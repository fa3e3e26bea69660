// What fuzz/fuzz_replay_test.cc replays for one target. fuzz_replay_test.cc is compiled once and linked
// into every TARGET_replay_test; fuzz/fuzz_replay_config.cc, compiled per target with the definitions
// cmake/Testing.cmake (cdc_fuzz_replay_test) sets, defines these.
#pragma once

namespace cdc::fuzz_replay {

// '|'-separated: pgoutput golden hex files (*.hex, one message per line) and/or directories whose every
// file is one seed (fuzz/corpus/<target>/), and/or other files, each one seed whole.
extern const char* const kSeeds;
// Optional (empty when none): a libFuzzer dictionary (fuzz/<target>.dict), the tokens mutations insert.
extern const char* const kDict;
// True when the target takes Byte1 mode + (Int16 length, message)* (pgoutput_stream_fuzz).
extern const bool kFramed;
// The number of mutations.
extern const int kRuns;

}  // namespace cdc::fuzz_replay
