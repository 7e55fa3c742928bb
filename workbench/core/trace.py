"""A columnar trace of a run: one row per iteration, every iteration kept."""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

__all__ = ["Trace"]


class Trace:
    """Columnar record of per-iteration diagnostics.

    Columns are numpy arrays that grow with amortised doubling, so appending a
    row costs O(1) and nothing is ever down-sampled in storage. Row 0 describes
    the initial iterate. Columns appearing later are back-filled with NaN.

    Examples
    --------
    >>> t = Trace()
    >>> t.append({"iteration": 0, "residual": 1.0})
    >>> t.append({"iteration": 1, "residual": 0.5})
    >>> t["residual"]
    array([1. , 0.5])
    """

    def __init__(self, capacity: int = 256):
        self._cols: dict[str, np.ndarray] = {}
        self._n = 0
        self._cap = max(int(capacity), 1)

    # -- building ------------------------------------------------------------
    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = self._cap
        while cap < need:
            cap *= 2
        for key, col in self._cols.items():
            new = np.full(cap, np.nan)
            new[: self._n] = col[: self._n]
            self._cols[key] = new
        self._cap = cap

    def append(self, row: Mapping[str, float]) -> None:
        """Append one row; keys not seen before become new columns."""
        self._grow(self._n + 1)
        for key, value in row.items():
            col = self._cols.get(key)
            if col is None:
                col = np.full(self._cap, np.nan)
                self._cols[key] = col
            try:
                col[self._n] = value
            except (TypeError, ValueError):
                col[self._n] = np.nan
        self._n += 1

    # -- reading -------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def __contains__(self, key: str) -> bool:
        return key in self._cols

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._cols[key][: self._n]
        except KeyError:
            raise KeyError(
                f"the trace has no column {key!r}; it has {sorted(self._cols)}"
            ) from None

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    def last(self) -> dict[str, float]:
        """The most recent row as a dict (empty if the trace is empty)."""
        if not self._n:
            return {}
        return {k: float(c[self._n - 1]) for k, c in self._cols.items()}

    def rows(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """Columns restricted to rows ``start:stop`` (copies), e.g. only new rows for streaming."""
        stop = self._n if stop is None else min(stop, self._n)
        return {k: c[start:stop].copy() for k, c in self._cols.items()}

    def to_dict(self) -> dict[str, np.ndarray]:
        return self.rows()

    @classmethod
    def from_dict(cls, columns: Mapping[str, Iterable[float]]) -> "Trace":
        cols = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
        n = max((len(v) for v in cols.values()), default=0)
        trace = cls(capacity=max(n, 1))
        for k, v in cols.items():
            if len(v) != n:
                raise ValueError(f"column {k!r} has {len(v)} rows, expected {n}")
            col = np.full(trace._cap, np.nan)
            col[:n] = v
            trace._cols[k] = col
        trace._n = n
        return trace

    def to_pandas(self):
        """The trace as a :class:`pandas.DataFrame` (pandas imported lazily)."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    def decimate(self, max_points: int, by: str | None = None) -> dict[str, np.ndarray]:
        """At most about ``max_points`` rows for display; storage is untouched.

        Rows are split into buckets; from each bucket the first, last, minimum and
        maximum of column ``by`` are kept (so spikes and the final value survive),
        the classic min/max decimation for line plots.
        """
        n = self._n
        if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points <= 0:
            from .errors import InvalidParameter

            raise InvalidParameter(f"max_points is a whole number of at least 1 (e.g. 2000); got {max_points!r}.")
        if n <= max_points:
            return self.rows()
        if by is None:
            by = next((c for c in self._cols if c not in ("iteration", "time")), "iteration")
        y = self[by]
        buckets = max(max_points // 4, 1)
        edges = np.linspace(0, n, buckets + 1).astype(int)
        keep = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            if hi <= lo:
                continue
            seg = y[lo:hi]
            finite = np.isfinite(seg)
            idx = [lo, hi - 1]
            if finite.any():
                masked = np.where(finite, seg, np.nan)
                idx += [lo + int(np.nanargmin(masked)), lo + int(np.nanargmax(masked))]
            keep.extend(idx)
        keep = np.unique(np.asarray(keep))
        return {k: c[:n][keep] for k, c in self._cols.items()}

    def __repr__(self) -> str:
        return f"Trace({self._n} rows, columns={self.columns})"
