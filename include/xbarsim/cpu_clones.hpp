#pragma once
// Hot CPU loops are also compiled for x86-64-v3 (AVX2, FMA) and picked at load time: the same
// values either way, since -ffp-contract=off (CMakeLists.txt) keeps the compiler from fusing
// a*b+c in any clone and the vector instructions round like the scalar ones.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define XBARSIM_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define XBARSIM_CPU_CLONES
#endif
