#pragma once
// Whether a batch fits in host memory, checked before the batch is allocated: a batch that does
// not fit must end in a message that says so, not in the kernel's out-of-memory killer.
#include <cstdint>
#include <string>

#include "xbarsim/graph.hpp"

namespace xbarsim {

// Bytes that a CPU forward pass of `batch` samples holds at its peak at least: the live
// activations under the backend's schedule (each output allocated before its inputs are
// released), constants and scratch memory not counted.
uint64_t activation_peak_bytes(const Graph& graph, int64_t batch);

// Host memory this process can still take: MemAvailable of /proc/meminfo, capped by the cgroup
// (v2) limit when one is set; 0 when neither can be read.
uint64_t available_host_memory();

// Throws Error when `needed` bytes exceed what is available, naming `what` and `option` (the
// option that shrinks it). Does nothing when the available memory is unknown.
void require_host_memory(uint64_t needed, const std::string& what, const std::string& option);

}  // namespace xbarsim
