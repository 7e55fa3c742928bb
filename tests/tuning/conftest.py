"""Shared, cached cost tables for the Learning-to-Relax tests (computed once per test session)."""
import pytest

import workbench as wb


@pytest.fixture(scope="session")
def high_2000():
    seq = wb.problems.shifted_laplacian_sequence("high", instances=2000, seed=0)
    return seq, wb.tuning.cost_table(seq)


@pytest.fixture(scope="session")
def low_2000():
    seq = wb.problems.shifted_laplacian_sequence("low", instances=2000, seed=0)
    return seq, wb.tuning.cost_table(seq)


@pytest.fixture(scope="session")
def high_5000():
    seq = wb.problems.shifted_laplacian_sequence("high", instances=5000, seed=0)
    return seq, wb.tuning.cost_table(seq)


@pytest.fixture(scope="session")
def low_5000():
    seq = wb.problems.shifted_laplacian_sequence("low", instances=5000, seed=0)
    return seq, wb.tuning.cost_table(seq)
