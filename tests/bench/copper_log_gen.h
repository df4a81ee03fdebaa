// Writes a Copper unified log in the v1 layout (man/slablog.5) the way copper-rs's writer lays
// one out when closed cleanly, for benchmarks of reading Copper logs at sizes the fixtures are not:
// log lines and (u32,u32,u32) copperlists by the payload rules of tests/fixtures/copper-v1, one
// log line per 4 copperlists, sections of 4096 (log lines) and 6000 (copperlists) requested bytes
// as in the multislab fixture. Returns the number of log lines written, and the copperlists
// in *copperlists.
#pragma once

#include <cstdint>
#include <string>

namespace slablog::bench {

uint64_t WriteCopperLog(const std::string& base, uint64_t total_bytes, uint64_t slab_size, uint64_t* copperlists);

}  // namespace slablog::bench
