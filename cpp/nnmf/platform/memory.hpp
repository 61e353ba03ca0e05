// glibc malloc tuning for the allocation pattern of a training loop: arrays of a few MB (m x k
// factors, gradients, products) allocated and freed every step. By default glibc serves them
// from the heap but gives freed memory back to the OS once more than twice the largest freed
// block sits at the top of the heap, so the next step's arrays page-fault their memory in
// again, which on a virtual machine costs more than the arithmetic on them
// (bench/bench_training.py row 1, 20News; bench/RESULTS_notes.md, "No allocation churn").
// Keeping up to `trim` bytes of freed memory (and serving blocks below `mmap` from the heap,
// as glibc's dynamic threshold does anyway once such a block has been freed) removes that cost.
#pragma once

#include <cstddef>
#include <cstdlib>  // defines __GLIBC__ where the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace nnmf {

// Returns whether the settings were applied (false where the C library is not glibc).
inline bool keep_freed_memory(std::size_t mmap, std::size_t trim) {
#if defined(__GLIBC__)
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap)) == 1 &&
         mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim)) == 1;
#else
  (void)mmap;
  (void)trim;
  return false;
#endif
}

}  // namespace nnmf
