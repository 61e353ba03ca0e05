"""Helpers every part of nnmf uses and that use no other part of it: the estimator base and
its registry, parameter constraints, label encoding, small linear algebra."""
