// A fast "is every entry finite" for dense blocks. Eigen's allFinite() is a scalar loop with an
// early exit (as slow as the product it checks); x * 0 is 0 for finite x and NaN for NaN or
// infinity, and Eigen's sum() of that over contiguous memory is fully vectorised.
#pragma once

#include <Eigen/Core>
#include <cmath>

namespace nnmf {

// For a block with unit inner stride (a column block of a column-major matrix, a row block of
// a row-major one).
template <class Block>
bool all_finite(const Block& x) {
  using Scalar = typename Block::Scalar;
  using Vector = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
  static_assert(Block::InnerStrideAtCompileTime == 1, "all_finite needs unit inner stride");
  if (x.size() == 0) return true;
  if (x.outerStride() == x.innerSize())  // contiguous: one vectorised sum
    return std::isfinite((Vector(x.data(), x.size()) * Scalar(0)).sum());
  Scalar acc = 0;
  for (Eigen::Index o = 0; o < x.outerSize(); ++o)
    acc += (Vector(x.data() + o * x.outerStride(), x.innerSize()) * Scalar(0)).sum();
  return std::isfinite(acc);
}

}  // namespace nnmf
