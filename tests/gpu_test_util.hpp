#pragma once
// GPU tests run where a CUDA device is present and skip themselves elsewhere (CI has none).
#include <gtest/gtest.h>

#include "xbarsim/cuda_info.hpp"

namespace xbarsim::test {

inline bool have_gpu() { return !cuda_status().devices.empty(); }

}  // namespace xbarsim::test

// First statement of a test that needs a GPU.
#define REQUIRE_GPU() \
    if (!::xbarsim::test::have_gpu()) GTEST_SKIP() << "no CUDA device: " << ::xbarsim::cuda_status().note
