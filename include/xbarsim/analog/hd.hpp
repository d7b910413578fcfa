#pragma once
// XBARSIM_HD marks the shared element-wise math that both backends compile: host and device
// under nvcc, plain inline functions in the C++ build.
#if defined(__CUDACC__)
#define XBARSIM_HD __host__ __device__ inline
#else
#define XBARSIM_HD inline
#endif
