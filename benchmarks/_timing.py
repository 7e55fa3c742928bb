"""Timing shared by the benchmark scripts (run them as `python benchmarks/NAME.py`)."""
import timeit


def best_of(fn, repeat=3):
    """Best wall time of ``repeat`` calls of ``fn``: the least disturbed by other load."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))
