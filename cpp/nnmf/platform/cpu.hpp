// What the CPU running us can do, for choosing between the builds of the core at import.
#pragma once

namespace nnmf {

// AVX2 and FMA usable (the CPU has them and the OS saves their registers: GCC's and Clang's
// __builtin_cpu_supports check both).
inline bool cpu_has_avx2_fma() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

// AVX-512F usable. numpy's OpenBLAS then runs its AVX-512 kernels, which the AVX2 build's
// dense products with X do not match above a small rank (python/nnmf/layer/_operand.py).
inline bool cpu_has_avx512f() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

}  // namespace nnmf
