"""Shared test settings. The paper's data sets come from nnmf.datasets (shipped with the
package), so the suite needs nothing beside the project."""
