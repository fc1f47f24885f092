#include "autograd/kernels/cpu.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(_M_X64)
#define CF_X86 1
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace cf::kernels {
namespace {

#ifdef CF_X86
void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, int(leaf), int(subleaf));
  for (int i = 0; i < 4; ++i) regs[i] = unsigned(r[i]);
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

// XCR0 says which register files the OS saves on a context switch. Reading it
// needs the xgetbv instruction, which exists only if cpuid reports OSXSAVE.
unsigned long long read_xcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#ifdef CF_X86
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  // The vendor string comes in EBX, EDX, ECX: "Auth" "enti" "cAMD".
  const bool amd = r[1] == 0x68747541 && r[3] == 0x69746e65 && r[2] == 0x444d4163;
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1;
  f.fma = (r[2] >> 12) & 1;
  // Family: bits 8-11 of EAX, plus the extended family (bits 20-27) when
  // those read 0xF.
  const unsigned base_family = (r[0] >> 8) & 0xF;
  const unsigned family = base_family + (base_family == 0xF ? (r[0] >> 20) & 0xFF : 0);
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    f.avx2 = (r[1] >> 5) & 1;
    f.avx512f = (r[1] >> 16) & 1;
    f.avx512dq = (r[1] >> 17) & 1;
    f.avx512bw = (r[1] >> 30) & 1;
    f.avx512vl = (r[1] >> 31) & 1;
  }
  if (osxsave) {
    const unsigned long long xcr0 = read_xcr0();
    f.os_ymm = (xcr0 & 0x6) == 0x6;     // bit 1 SSE, bit 2 AVX
    f.os_zmm = (xcr0 & 0xe6) == 0xe6;   // plus bits 5..7: opmask, ZMM0-15 hi, ZMM16-31
  }
  f.avx512_halves = amd && family == 0x19 && f.avx512f;
#endif
  return f;
}

SimdPath best_supported() {
  for (SimdPath p : {SimdPath::Avx512, SimdPath::Avx2})
    if (simd_path_supported(p)) return p;
  return SimdPath::Scalar;
}

// The start-up choice: the path CF_SIMD names if it is set and usable;
// otherwise the best supported one.
SimdPath initial_path() {
  const char* env = std::getenv("CF_SIMD");
  if (env == nullptr || *env == '\0') return best_supported();
  const std::string want(env);
  SimdPath p;
  if (want == "scalar") {
    p = SimdPath::Scalar;
  } else if (want == "avx2") {
    p = SimdPath::Avx2;
  } else if (want == "avx512") {
    p = SimdPath::Avx512;
  } else {
    std::fprintf(stderr, "cf: CF_SIMD=%s is not one of scalar, avx2, avx512; using %s\n",
                 env, simd_path_name(best_supported()));
    return best_supported();
  }
  if (!simd_path_supported(p)) {
    std::fprintf(stderr, "cf: CF_SIMD=%s is not available here; using %s\n", env,
                 simd_path_name(best_supported()));
    return best_supported();
  }
  return p;
}

std::atomic<SimdPath>& active_path() {
  static std::atomic<SimdPath> path{initial_path()};
  return path;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

bool simd_path_supported(SimdPath path) {
  switch (path) {
    case SimdPath::Scalar:
      return true;
    case SimdPath::Avx2:
#ifdef CF_HAVE_AVX2
      return cpu_features().avx2 && cpu_features().fma && cpu_features().os_ymm;
#else
      return false;
#endif
    case SimdPath::Avx512:
#if defined(CF_HAVE_AVX512) && defined(CF_HAVE_AVX2)
      return simd_path_supported(SimdPath::Avx2) && cpu_features().avx512f &&
             cpu_features().avx512dq && cpu_features().avx512bw && cpu_features().avx512vl &&
             cpu_features().os_zmm;
#else
      return false;
#endif
  }
  return false;
}

SimdPath simd_path() { return active_path().load(std::memory_order_relaxed); }

void set_simd_path(SimdPath path) {
  if (!simd_path_supported(path))
    throw std::invalid_argument(std::string("set_simd_path: path '") + simd_path_name(path) +
                                "' is not supported by this CPU or build");
  active_path().store(path, std::memory_order_relaxed);
}

const char* simd_path_name(SimdPath path) {
  switch (path) {
    case SimdPath::Scalar: return "scalar";
    case SimdPath::Avx2: return "avx2";
    case SimdPath::Avx512: return "avx512";
  }
  return "unknown";
}

}  // namespace cf::kernels
