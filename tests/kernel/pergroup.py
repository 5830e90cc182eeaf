"""Statistics of replicates with one pattern per group (``count == 1``), for tests that compare
the collapsed patterns of :func:`replic.kernel.stats.stats_from_replicates` with them."""

from dataclasses import fields

import numpy as np

from replic.kernel.stats import GroupStats, stats_from_long


def per_group_stats(y, X, Z, observed=None):
    """:func:`~replic.kernel.stats.stats_from_long` of each replicate ``y[i]`` (k groups at the
    rows of ``X`` and ``Z``, ``observed`` rows only), stacked into one :class:`GroupStats`."""
    k = y.shape[1]
    observed = np.ones(y.shape, dtype=bool) if observed is None else observed
    parts = []
    for yi, oi in zip(y, observed, strict=True):
        rows = np.argwhere(oi)                                  # (group, row), row-major
        parts.append(stats_from_long(yi[oi], X[rows[:, 1]], Z[rows[:, 1]], rows[:, 0], k))
    return GroupStats(**{f.name: np.concatenate([getattr(s, f.name) for s in parts])
                         for f in fields(GroupStats)})
