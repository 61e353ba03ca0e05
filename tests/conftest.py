"""Shared fixtures: the paper's data sets live in ../shared/data beside the project root."""

from pathlib import Path

import pytest
import scipy.io

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_dataset(name):
    """The named .mat file of ../shared/data as a dict (scipy.io.loadmat)."""
    path = DATA_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the tests expect ../shared/data beside the project")
    return scipy.io.loadmat(path)


@pytest.fixture(scope="session")
def synthetic_noise():
    return load_dataset("synthetic_noise.mat")


@pytest.fixture(scope="session")
def news20():
    return load_dataset("20News_subsampled.mat")
