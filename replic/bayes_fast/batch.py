"""bayes-fast on a batch of replicate data sets: per replicate summaries of one term.

Each replicate's random numbers come from its own generator, keyed by the caller (replic keys
them by design, replicate index and root seed), so results do not depend on how replicates are
split into batches or chunks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from replic.bayes_fast.batch_priors import batch_priors
from replic.bayes_fast.sampler import importance_sample
from replic.bayes_fast.summaries import mixture_summary
from replic.bayes_fast.transform import n_theta
from replic.kernel.stats import stats_from_replicates
from replic.priors import Priors

__all__ = ["KHAT_THRESHOLD", "analyse_replicates"]

KHAT_THRESHOLD = 0.7
_DF = 4.0


def _noise(keys: Sequence, M: int, d: int, P: int) -> dict[str, np.ndarray]:
    n = len(keys)
    z, chi2, zb = np.empty((n, M, d)), np.empty((n, M)), np.empty((n, M, P))
    for i, key in enumerate(keys):
        rng = np.random.default_rng(key)
        z[i] = rng.standard_normal((M, d))
        chi2[i] = rng.chisquare(_DF, M)
        zb[i] = rng.standard_normal((M, P))
    return {"z": z, "chi2": chi2, "zb": zb}


def analyse_replicates(y: np.ndarray, X: np.ndarray, Z: np.ndarray, *, term: int,
                       keys: Sequence, observed: np.ndarray | None = None,
                       priors: Priors | None = None, draws: int = 1000,
                       intercept: int | None = 0, max_chunk_elements: int = 100_000,
                       ) -> dict[str, np.ndarray]:
    """Posterior summaries of fixed effect ``term`` for each replicate data set.

    Parameters
    ----------
    y : ndarray, shape (n, k, T)
        Replicate responses (``k`` groups observed at the rows of ``X`` and ``Z``).
    X : ndarray, shape (T, P)
    Z : ndarray, shape (T, Q)
    term : int
        Column of ``X`` to summarise.
    keys : sequence
        One seed (anything ``numpy.random.default_rng`` accepts) per replicate.
    observed : ndarray of bool, shape (n, k, T), optional
    priors : Priors, optional
        Shared priors; default: brms's defaults computed from each replicate's response.
    draws : int
        Importance draws per replicate.
    intercept : int or None
        Column of ``X`` that is the intercept (its Student-t prior applies at the predictor
        means), or None when the model has no intercept.
    max_chunk_elements : int
        Replicates are processed in chunks of about this many (replicate x draw x pattern)
        elements, bounding memory.

    Returns
    -------
    dict of ndarray, shape (n,)
        ``estimate`` (posterior mean), ``se`` (posterior sd), ``lower``, ``upper`` (95%
        equal-tailed interval), ``prob_positive``, ``p`` (``2 min(P(>0), P(<0))``), ``khat``,
        ``ess`` (of the weights), ``flagged`` (``khat > 0.7``).
    """
    n, k, T = y.shape
    Q, P = Z.shape[1], X.shape[1]
    if priors is None:
        yy = y if observed is None else np.where(observed, y, np.nan)
        bp = batch_priors(None, yy.reshape(n, k * T))
    else:
        bp = batch_priors(priors, np.zeros((n, 1)))
    if intercept is None:
        bp = type(bp)(intercept=None, sd=bp.sd, sigma=bp.sigma, lkj=bp.lkj)
    chunk = max(1, int(max_chunk_elements // draws))
    out: dict[str, list[np.ndarray]] = {}
    for lo in range(0, n, chunk):
        sl = slice(lo, min(n, lo + chunk))
        stats = stats_from_replicates(y[sl], X, Z, None if observed is None else observed[sl])
        res = importance_sample(stats, bp.take(sl), Q,
                                _noise(keys[sl], draws, n_theta(Q), P), df=_DF)
        mean, var = res.term_moments(term)
        summ = mixture_summary(mean, var, res.log_weights)
        summ |= {"khat": res.khat, "ess": res.ess, "flagged": ~(res.khat <= KHAT_THRESHOLD)}
        for key, v in summ.items():
            out.setdefault(key, []).append(v)
    return {key: np.concatenate(v) for key, v in out.items()}
