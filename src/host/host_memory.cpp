#include "xbarsim/host_memory.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "xbarsim/error.hpp"

namespace xbarsim {

namespace {

// The limit and usage of this process's cgroup (v2), or 0 when there is no limit ("max") or no
// cgroup file system.
uint64_t cgroup_headroom() {
    std::ifstream max_file("/sys/fs/cgroup/memory.max"), current_file("/sys/fs/cgroup/memory.current");
    std::string max_text;
    uint64_t current = 0;
    if (!(max_file >> max_text) || max_text == "max" || !(current_file >> current)) return 0;
    const uint64_t limit = std::stoull(max_text);
    return limit > current ? limit - current : 1;
}

std::string gib(uint64_t bytes) {
    char s[32];
    std::snprintf(s, sizeof s, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    return s;
}

}  // namespace

uint64_t activation_peak_bytes(const Graph& g, int64_t batch) {
    const GraphSchedule schedule = schedule_graph(g);
    const auto per_sample = [&](int id) -> uint64_t {
        const Value& v = g.value(id);
        if (v.is_constant) return 0;
        const auto n = static_cast<uint64_t>(numel(v.shape));
        return n / static_cast<uint64_t>(std::max<int64_t>(g.import_batch, 1));
    };
    uint64_t live = 0, peak = 0;
    for (int id : g.inputs) live += per_sample(id);
    peak = live;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node& n = g.nodes[i];
        live += per_sample(n.output);
        peak = std::max(peak, live);
        for (int id : n.inputs)
            if (schedule.last_use[static_cast<size_t>(id)] == static_cast<int>(i)) live -= std::min(live, per_sample(id));
    }
    return peak * static_cast<uint64_t>(std::max<int64_t>(batch, 0)) * sizeof(float);
}

uint64_t available_host_memory() {
    std::ifstream meminfo("/proc/meminfo");
    std::string line;
    uint64_t available = 0;
    while (std::getline(meminfo, line)) {
        if (line.rfind("MemAvailable:", 0) != 0) continue;
        std::istringstream(line.substr(13)) >> available;
        available *= 1024;  // kB
        break;
    }
    const uint64_t cgroup = cgroup_headroom();
    if (cgroup > 0) available = available > 0 ? std::min(available, cgroup) : cgroup;
    return available;
}

void require_host_memory(uint64_t needed, const std::string& what, const std::string& option) {
    const uint64_t available = available_host_memory();
    if (available == 0 || needed <= available) return;
    throw Error(what + " needs at least " + gib(needed) + " of host memory, but only " + gib(available) +
                " is available: use a smaller " + option);
}

}  // namespace xbarsim
