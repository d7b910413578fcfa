// `xbarsim devices`: the compute devices this build can use.
#include <omp.h>

#include <cstdio>

#include "commands.hpp"
#include "xbarsim/cuda_info.hpp"

namespace xbarsim::cli {

Command add_devices(CLI::App&) {
    return [] {
        std::printf("cpu    %d threads (OpenMP), OpenBLAS\n", omp_get_max_threads());
        const CudaStatus s = cuda_status();
        if (!s.built) {
            std::printf("cuda   not built: %s\n", s.note.c_str());
            return;
        }
        std::printf("cuda   runtime %d.%d, driver %d.%d\n", s.runtime_version / 1000, s.runtime_version % 1000 / 10,
                    s.driver_version / 1000, s.driver_version % 1000 / 10);
        for (const auto& d : s.devices)
            std::printf("cuda:%d %s, compute capability %d.%d, %.1f GiB, %d SMs\n", d.index, d.name.c_str(),
                        d.compute_major, d.compute_minor, static_cast<double>(d.memory_bytes) / (1024.0 * 1024.0 * 1024.0),
                        d.multiprocessors);
        if (s.devices.empty()) std::printf("cuda   no usable device: %s\n", s.note.c_str());
    };
}

}  // namespace xbarsim::cli
