// One target's replay settings (fuzz/fuzz_replay_config.h), from the compile definitions
// cmake/Testing.cmake's cdc_fuzz_replay_test sets: CDC_FUZZ_SEEDS, CDC_FUZZ_DICT, CDC_FUZZ_FRAMED,
// CDC_FUZZ_RUNS.
#include "fuzz_replay_config.h"

namespace cdc::fuzz_replay {

const char* const kSeeds = CDC_FUZZ_SEEDS;
const char* const kDict = CDC_FUZZ_DICT;
const bool kFramed = CDC_FUZZ_FRAMED != 0;
const int kRuns = CDC_FUZZ_RUNS;

}  // namespace cdc::fuzz_replay
