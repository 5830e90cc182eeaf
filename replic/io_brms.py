"""Read brms posterior draws (``posterior::as_draws_df()`` written with ``write.csv``).

Columns follow brms: ``b_<term>``, ``sd_<group>__<term>``, ``cor_<group>__<t1>__<t2>``,
``sigma``, ``r_<group>[<level>,<term>]``, with ``lprior``, ``lp__``, ``.chain``, ``.iteration``
and ``.draw`` as bookkeeping.  Supported: Gaussian (with ``sigma``), bernoulli, binomial and poisson
(without ``sigma``; the family must be given, brms's draws do not say it) families, one grouping
factor, any number of (correlated) varying terms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.family import FAMILIES, Family
from replic.posterior import Posterior
from replic.spec.names import parse_parameter, r_name

__all__ = ["posterior_from_brms"]

_BOOKKEEPING = {"lprior", "lp__", ".chain", ".iteration", ".draw", "Intercept"}
_FAMILY_PARAMS = {"shape", "phi", "nu", "disc", "zi", "hu", "zoi", "coi", "kappa", "beta",
                  "alpha", "ndt", "bs", "bias", "quantile", "xi", "mu"}
_NAME = re.compile(r"[A-Za-z.][A-Za-z0-9._:]*")
_SUPPORTED = ("replic supports gaussian, bernoulli, binomial and poisson models with one "
              "grouping factor: y ~ fixed + (terms | group)")


def posterior_from_brms(df: pd.DataFrame, *, source: str = "DataFrame",
                        family: str | Family | None = None) -> Posterior:
    """Build a :class:`Posterior` from a table of brms draws.

    Parameters
    ----------
    df : DataFrame
        One row per draw, brms column names.
    source : str
        Name used in error messages (the file path).
    family : str or Family, optional
        The model's family (``"bernoulli"``, ``"binomial"``, ``"poisson"``, optionally with the
        link: ``"bernoulli(probit)"``).  Required for draws without ``sigma``; draws with
        ``sigma`` are Gaussian.

    Returns
    -------
    Posterior
    """
    if not isinstance(df, pd.DataFrame):
        raise ReplicInputError(f"{source}: expected a table of draws, got {type(df).__name__}")
    cols = [str(c) for c in df.columns]
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise ReplicInputError(f"{source}: column {dup[0]!r} appears more than once; expected "
                               "distinct brms column names")
    df = df.set_axis(cols, axis=1)
    b_cols = [c for c in cols if c.startswith("b_")]
    if not b_cols:
        raise ReplicInputError(f"{source}: no fixed-effect columns 'b_<term>' found; expected brms "
                               "draws from posterior::as_draws_df() "
                               "(columns b_*, sd_*, sigma, r_*)")
    dpar = [c for c in b_cols if c.startswith(("b_sigma_", "b_mu"))] + \
        [c for c in cols if c.startswith("sigma_") or c.startswith("sd_sigma")]
    fparams = sorted(c for c in cols if c in _FAMILY_PARAMS or c.startswith(tuple(
        f"{p}_" for p in ("shape", "phi", "zi", "hu"))))
    if fparams or dpar:
        raise ReplicInputError(f"{source}: column(s) {', '.join(fparams + dpar)} belong to a "
                               "family or distributional model replic does not "
                               f"support; {_SUPPORTED}")
    fam = None if family is None else Family.of(family, where=f"{source}: family")
    others = ", ".join(f for f in FAMILIES if f != "gaussian")
    if "sigma" not in cols and (fam is None or fam.gaussian):
        why = "family='gaussian' was given but" if fam is not None else \
            "the draws do not say which family the model has:"
        raise ReplicInputError(f"{source}: {why} there is no 'sigma' column; give the "
                               f"model's family (read_draws(..., family='bernoulli') or "
                               f"family = \"bernoulli\" in the study file; one of {others})")
    if "sigma" in cols and fam is not None and not fam.gaussian:
        raise ReplicInputError(f"{source}: family={fam.name!r} was given but the draws have a "
                               "'sigma' column, which only a Gaussian model has; leave out the "
                               "family (Gaussian) or check the draws file")
    fam = fam or Family()

    sd_cols = [c for c in cols if c.startswith("sd_")]
    for c in [*sd_cols, *(c for c in cols if c.startswith("cor_"))]:
        parts = c.split("_", 1)[1].split("__")
        if len(parts) != (2 if c.startswith("sd_") else 3) or not all(map(_NAME.fullmatch,
                                                                          parts)):
            raise ReplicInputError(f"{source}: column {c!r} is not of the form "
                                   "sd_<group>__<term> or cor_<group>__<term1>__<term2>")
    for c in b_cols:
        if not _NAME.fullmatch(c[2:]) or "__" in c:
            raise ReplicInputError(f"{source}: column {c!r} is not of the form b_<term> "
                                   "(letters, digits, '.', '_', ':')")
    sd_params = [parse_parameter(c) for c in sd_cols]
    bad = [c for c, p in zip(sd_cols, sd_params, strict=True) if p is None]
    if bad:
        raise ReplicInputError(f"{source}: column {bad[0]!r} is not of the form "
                               "sd_<group>__<term>")
    groups = sorted({p.group for p in sd_params})
    if len(groups) > 1:
        raise ReplicInputError(f"{source}: {len(groups)} grouping factors ({', '.join(groups)}); "
                               f"{_SUPPORTED}")
    if not groups:
        raise ReplicInputError(f"{source}: no 'sd_<group>__<term>' columns, so the model has no "
                               f"grouping factor; {_SUPPORTED}")
    group = groups[0]
    varying = tuple(p.terms[0] for p in sd_params)
    fixed = tuple(c[2:] for c in b_cols)

    cor_cols: dict[tuple[int, int], str] = {}
    for c in cols:
        if c.startswith("cor_"):
            p = parse_parameter(c, varying=varying, group=group)
            if p is None:
                raise ReplicInputError(f"{source}: correlation column {c!r} does not match the "
                                       f"varying terms {varying} of group {group!r}")
            cor_cols[p.index] = c

    r_cols: dict[tuple[str, str], str] = {}
    for c in cols:
        if c.startswith("r_"):
            p = parse_parameter(c, varying=varying, group=group)
            if p is None or p.kind != "r":
                raise ReplicInputError(f"{source}: group-level column {c!r} is not of the form "
                                       f"r_{group}[<level>,<term>] with term in {varying}")
            r_cols[(p.level, p.terms[0])] = c

    used = b_cols + sd_cols + list(cor_cols.values()) + ["sigma"] * fam.has_sigma + \
        list(r_cols.values())
    values = _numeric(df, used, source)
    S = len(df)
    if S < 2:
        raise ReplicInputError(f"{source}: {S} draw(s); expected at least 2 posterior draws")

    b = values[b_cols]
    sd = values[sd_cols]
    sigma = values["sigma"] if fam.has_sigma else None
    Q = len(varying)
    cor = np.broadcast_to(np.eye(Q), (S, Q, Q)).copy()
    for (i, j), c in cor_cols.items():
        cor[:, i, j] = cor[:, j, i] = values[c]
    _check_scales(sd, sd_cols, source)
    if sigma is not None:
        _check_scales(sigma[:, None], ["sigma"], source)
    _check_pd(cor, source)

    levels: tuple[str, ...] = ()
    r = None
    if r_cols:
        levels = tuple(dict.fromkeys(lv for lv, _ in r_cols))
        missing = [r_name(group, lv, t) for lv in levels for t in varying
                   if (lv, t) not in r_cols]
        if missing:
            raise ReplicInputError(f"{source}: missing group-level column(s) "
                                   f"{', '.join(missing[:3])}")
        r = np.stack([np.stack([values[r_cols[(lv, t)]] for t in varying], axis=-1)
                      for lv in levels], axis=1)
    chain = np.ones(S, dtype=int)
    if ".chain" in cols:
        ch = pd.to_numeric(df[".chain"], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(ch) & (ch == np.round(ch))):
            raise ReplicInputError(f"{source}: column '.chain' has non-integer values; expected "
                                   "chain numbers 1, 2, ...")
        chain = ch.astype(int)
    ignored = [c for c in cols if c not in used and c not in _BOOKKEEPING]
    return Posterior(fixed=fixed, varying=varying, group=group, b=b, sd=sd, cor=cor, sigma=sigma,
                     levels=levels, r=r, chain=chain, source=source, family=fam,
                     diagnostics={"ignored_columns": ignored} if ignored else {})


def _numeric(df: pd.DataFrame, used: list[str], source: str) -> Mapping[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for c in used:
        col = pd.to_numeric(df[c], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(col.to_numpy(dtype=float)))
        if bad.size:
            row = int(bad[0])
            raw = df[c].iloc[row]
            raise ReplicInputError(f"{source}: column {c!r} has a missing or non-numeric value "
                                   f"{raw!r} in draw row {row + 1} ({bad.size} such rows); "
                                   "expected finite numbers (is the file truncated?)")
        out[c] = col.to_numpy(dtype=float)
    return _Columns(out)


class _Columns(dict):
    """Dict of columns that also accepts a list of names (stacked as an (S, n) array)."""

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, list):
            return np.column_stack([dict.__getitem__(self, k) for k in key])
        return dict.__getitem__(self, key)


def _check_scales(x: np.ndarray, names: list[str], source: str) -> None:
    with np.errstate(over="ignore"):
        bad = np.argwhere((x <= 0) | ~np.isfinite(x * x))
    if bad.size:
        row, col = bad[0]
        raise ReplicInputError(f"{source}: column {names[col]!r} is {x[row, col]:g} in draw row "
                               f"{row + 1}; expected a positive standard deviation (whose "
                               "square is finite)")


def _check_pd(cor: np.ndarray, source: str) -> None:
    if cor.shape[1] == 1:
        return
    eig = np.linalg.eigvalsh(cor)
    bad = np.flatnonzero(eig[:, 0] <= 0)
    if bad.size:
        raise ReplicInputError(f"{source}: the correlation matrix of draw row {bad[0] + 1} is not "
                               f"positive definite (smallest eigenvalue {eig[bad[0], 0]:.3g}); "
                               "expected |cor| < 1 and a valid correlation matrix")
