"""Shared, cached cost tables for the Learning-to-Relax tests (computed once per test session)."""
import pytest

import workbench as wb


def _sequence_and_table(setting: str, instances: int):
    seq = wb.problems.shifted_laplacian_sequence(setting, instances=instances, seed=0)
    return seq, wb.tuning.cost_table(seq)


@pytest.fixture(scope="session")
def high_2000():
    return _sequence_and_table("high", 2000)


@pytest.fixture(scope="session")
def low_2000():
    return _sequence_and_table("low", 2000)


@pytest.fixture(scope="session")
def high_5000():
    """The reference setup's horizon (METHODS.md 1.2)."""
    return _sequence_and_table("high", 5000)


@pytest.fixture(scope="session")
def low_5000():
    return _sequence_and_table("low", 5000)
