// Which instruction set the kernels run on, decided at run time.
//
// The library is compiled once for a baseline x86-64 (or any other) CPU; the
// AVX2 kernels live in their own translation units (*_avx2.cpp) compiled with
// -mavx2 -mfma. Before calling them we ask the CPU (cpuid) whether it has the
// instructions, and the OS (xgetbv) whether it saves the YMM registers on a
// context switch. Without both, the portable scalar path runs.
//
// The environment variable CF_SIMD picks the path by name at start-up:
//   CF_SIMD=scalar  force the portable path (reference results, debugging)
//   CF_SIMD=avx2    AVX2+FMA (falls back to scalar, with a warning, if absent)
//   CF_SIMD=avx512  AVX-512F for the GEMM and the row and elementwise
//                   kernels, AVX2 for the block sum
// Unset, every kernel runs on the best path the CPU and OS support. One
// choice is left to the SGEMM: on a core that executes 512-bit operations as
// two 256-bit halves (AMD Zen 4), some products run the AVX2 micro-kernel
// even on the AVX-512 path (gemm_tile_path, gemm.h). Both give the same
// bits, so the choice never changes a result. Tests and benchmarks switch
// paths with set_simd_path().
#pragma once

namespace cf::kernels {

enum class SimdPath {
  Scalar = 0,  // portable C++; the only path on non-x86 builds
  Avx2 = 1,    // AVX2 + FMA, 8 floats per register
  // AVX-512 kernels (*_avx512.cpp, 16 floats per register; F, DQ, BW, VL): the GEMM
  // micro-kernel and the row and elementwise kernels, all giving the AVX2
  // kernels' bits; the AVX2 block sum. Needs the AVX2 path too.
  Avx512 = 2,
};

struct CpuFeatures {
  bool avx2 = false;     // cpuid leaf 7 EBX bit 5
  bool fma = false;      // cpuid leaf 1 ECX bit 12
  bool avx512f = false;  // cpuid leaf 7 EBX bit 16
  // DQ, BW and VL (leaf 7 EBX bits 17, 30, 31): the AVX-512 files are built
  // with them (-mavx512dq -mavx512bw -mavx512vl) and use DQ's float logic
  // (_mm512_and_ps). Every AVX-512 core but Xeon Phi has all three.
  bool avx512dq = false, avx512bw = false, avx512vl = false;
  bool os_ymm = false;   // XCR0 has SSE and AVX state enabled
  bool os_zmm = false;   // XCR0 also has the opmask and ZMM state enabled
  // 512-bit operations run as two 256-bit halves, at the AVX2 rate: an AMD
  // core of family 0x19 (Zen 4, the only one of that family with AVX-512).
  bool avx512_halves = false;
};

// What this CPU and OS provide (queried once).
const CpuFeatures& cpu_features();

// True if this build contains the kernels of `path` and the CPU can run them.
bool simd_path_supported(SimdPath path);

// The path the kernels use now. Initially the best supported one, unless
// CF_SIMD says otherwise.
SimdPath simd_path();

// Switch every kernel to `path` (for tests and benchmarks). Throws
// std::invalid_argument if the path is not supported on this machine or build.
void set_simd_path(SimdPath path);

// "scalar", "avx2", "avx512".
const char* simd_path_name(SimdPath path);

}  // namespace cf::kernels
