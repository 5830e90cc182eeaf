"""The numbers behind the report, derived from a results directory.

Nothing here draws or formats: these functions turn the tables of
:func:`replic.results_io.read_results` into the frames the figures plot and the tables show,
so that tests can check them directly.  What the report shows from individual replicates
(diagnostics, error messages) is counted batch by batch from ``replicates.parquet``, so
rendering the report of a study of any size needs the memory of one batch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from replic.errors import ReplicInputError
from replic.report.text import params_words

__all__ = [
    "BATCH_ROWS",
    "DIAGNOSTIC_CHECKS",
    "FAMILY",
    "REPLICATE_COLUMNS",
    "add_series",
    "data_columns",
    "diagnostics",
    "effect_intervals",
    "error_messages",
    "model_formula",
    "replicate_batches",
]

#: Columns that identify a "design family": one curve over k.
FAMILY = ["analysis", "family", "missing", "params"]

#: Diagnostic columns a replicate table may carry, and the rule marking a replicate.  The
#: report trusts the verdicts the analyses wrote with the study's thresholds (``converged``:
#: Stan's R-hat, ESS and divergences, the REML optimiser; ``flagged``: bayes-fast's Pareto
#: k-hat) and never re-judges raw diagnostics (``rhat``, ``khat``) with thresholds of its own;
#: only threshold-free marks are counted besides (a singular fit, any divergent transition).
DIAGNOSTIC_CHECKS = {
    "singular": ("singular fit", lambda s: s.astype("boolean").fillna(False)),
    "converged": ("not converged", lambda s: ~s.astype("boolean").fillna(True)),
    "divergences": ("divergent transitions", lambda s: pd.to_numeric(s, errors="coerce") > 0),
    "flagged": ("flagged", lambda s: s.astype("boolean").fillna(False)),
}

#: The columns of ``replicates.parquet`` the report reads (those present), so that rendering
#: the report of a large study never loads the whole replicate table.
REPLICATE_COLUMNS = [*FAMILY, "k", "design", "error", *DIAGNOSTIC_CHECKS]


def family_words(family: str, params_vary: bool = False) -> str:
    """A design family's label (:attr:`replic.Design.family`) in words: ``missing=0.2`` ->
    "20% missing", ``params=b_Days=5`` -> "conditional power at b_Days = 5" (and, when
    ``params_vary``, "assurance" for a family drawing parameters from the posterior)."""
    out, has_params = [], False
    for part in str(family).split(", "):
        if part.startswith("missing="):
            out.append(f"{100 * float(part[8:]):.0f}% missing")
        elif part.startswith("dropout="):
            out.append(f"{100 * float(part[8:]):.0f}% dropout per session")
        elif part.startswith("params="):
            out.append(params_words(part[7:]))
            has_params = True
        elif part:
            out.append(part)
    if params_vary and not has_params:
        out.append("assurance")
    return ", ".join(out)


def add_series(df: pd.DataFrame) -> pd.DataFrame:
    """Add a ``series`` column naming each design family (one curve over k).

    The label is the analysis, extended by the design family (the design's label without k:
    template, allocation, missingness, parameters) only when there are several, in words
    ("summary, Days 0–9, 20% missing", "summary, Days 0–9, conditional power at b_Days = 5").

    Parameters
    ----------
    df : DataFrame
        A table with an ``analysis`` column (and optionally ``missing``, ``params``).

    Returns
    -------
    DataFrame
        A copy with ``series``.
    """
    out = df.copy()
    parts = [out["analysis"].astype(str)]
    several = "family" in out and out["family"].nunique(dropna=False) > 1
    params_vary = "params" in out and out["params"].nunique(dropna=False) > 1
    if several:
        parts.append(out["family"].astype(str).map(lambda f: family_words(f, params_vary)))
    if not several and "missing" in out and out["missing"].nunique(dropna=False) > 1:
        pct = (100 * out["missing"].astype(float)).round(0).astype(int)
        parts.append(pct.map(lambda m: f"{m}% missing" if m else "complete data"))
    if not several and params_vary:
        parts.append(out["params"].astype(str).map(
            lambda p: "assurance" if p == "posterior" else params_words(p)))
    label = parts[0]
    for p in parts[1:]:
        label = label + ", " + p
    out["series"] = label
    return out


def effect_intervals(draws: pd.DataFrame) -> pd.DataFrame:
    """The estimands shown in the effects figure, with mean and 95% interval of each.

    Parameters
    ----------
    draws : DataFrame
        ``effect_draws.parquet``: ``estimand``, ``draw``, ``level``, ``value``.

    ``fitted`` (pooled over the study's subjects) is used when present; otherwise its
    equal-in-distribution stand-in ``new_uncertainty`` (one fitted subject picked at random per
    draw).  ``new_old_levels`` is left out (it is one arbitrary subject).  Replication means
    come in increasing k.

    Returns
    -------
    DataFrame
        One row per shown row of the figure, top to bottom: ``estimand``, ``level``, ``group``
        (population / study / new / replication), ``n``, ``mean``, ``q2.5``, ``q50``,
        ``q97.5``, ``P(<0)``.
    """
    have = set(draws["estimand"])
    study = "fitted" if "fitted" in have else "new_uncertainty"
    plan = [("conditional", "population"), ("fitted_mean", "study"), (study, "study"),
            ("new_gaussian", "new")]
    rows = []
    for est, group in plan:
        v = draws.loc[draws["estimand"] == est, "value"].to_numpy(float)
        if v.size:
            rows.append(_row(est, "", group, v))
    rep = draws[draws["estimand"] == "replication_mean"]
    levels = sorted(rep["level"].unique(), key=lambda s: int(re.sub(r"\D", "", s) or 0))
    for lev in levels:
        rows.append(_row("replication_mean", lev, "replication",
                         rep.loc[rep["level"] == lev, "value"].to_numpy(float)))
    return pd.DataFrame(rows)


def _row(estimand: str, level: str, group: str, v: np.ndarray) -> dict:
    q = np.quantile(v, [0.025, 0.5, 0.975])
    return {"estimand": estimand, "level": level, "group": group, "n": v.size,
            "mean": float(v.mean()), "q2.5": float(q[0]), "q50": float(q[1]),
            "q97.5": float(q[2]), "P(<0)": float((v < 0).mean())}


#: Rows per batch when a replicate file is streamed.
BATCH_ROWS = 1 << 16
_KEYS = [*FAMILY, "k", "design"]


def replicate_batches(replicates: pd.DataFrame | str | Path,
                      columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    """The replicate table in batches of rows, only ``columns`` (those present).

    Parameters
    ----------
    replicates : DataFrame or path
        A table in memory (one batch), or ``replicates.parquet``, read :data:`BATCH_ROWS` rows
        at a time so that memory stays bounded however many replicates.

    Yields
    ------
    DataFrame
    """
    if isinstance(replicates, pd.DataFrame):
        yield replicates[[c for c in columns if c in replicates]]
        return
    from replic.results_io import iter_replicates

    try:
        yield from iter_replicates(replicates, columns=columns, batch_rows=BATCH_ROWS)
    except (OSError, pa.ArrowException, ValueError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ReplicInputError(f"{replicates}: unreadable replicate table ({reason}); rerun "
                               "the study (with --resume it recomputes what is damaged)") from None


def _diagnostic_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Per (family, k, design) of one batch: replicates, failed, each check, any."""
    n = len(df)
    err = df["error"].fillna("").astype(str).to_numpy() != "" if "error" in df else \
        np.zeros(n, dtype=bool)
    marks = {"replicates": np.ones(n, dtype=np.int64), "failed": err}
    for col, (label, rule) in DIAGNOSTIC_CHECKS.items():
        if col in df:
            marks[label] = np.asarray(rule(df[col]), dtype=bool)
    flags = pd.DataFrame(marks, index=df.index)
    flags["any"] = flags.drop(columns="replicates").any(axis=1)
    keys = [c for c in _KEYS if c in df]
    counts = pd.concat([df[keys], flags.astype(np.int64)], axis=1)
    return counts.groupby(keys, sort=False, dropna=False).sum()


def diagnostics(replicates: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Counts of failed and suspicious fits per design.

    Parameters
    ----------
    replicates : DataFrame or path
        The replicate table, or ``replicates.parquet`` (streamed row group by row group);
        diagnostic columns are optional.

    Returns
    -------
    DataFrame
        ``series``, ``k``, ``design``, ``replicates``, ``failed`` (non-empty ``error``) and one
        count per diagnostic column present (see :data:`DIAGNOSTIC_CHECKS`), with ``any`` the
        number of replicates failed or marked by at least one check; designs in the order
        they first appear.
    """
    parts = [_diagnostic_counts(b) for b in replicate_batches(replicates, REPLICATE_COLUMNS)
             if len(b)]
    if not parts:
        return pd.DataFrame({c: [] for c in ("series", "k", "design", "replicates", "failed",
                                             "any")})
    keys = list(parts[0].index.names)
    counts = pd.concat(parts).groupby(level=keys, sort=False, dropna=False).sum().reset_index()
    counts = add_series(counts)
    cols = [c for c in counts.columns if c not in (*keys, "series")]
    return counts.groupby(["series", "k", "design"], sort=False)[cols].sum().reset_index()


def error_messages(replicates: pd.DataFrame | str | Path, *, top: int = 5) -> pd.DataFrame:
    """The most frequent error messages of failed fits.

    Parameters
    ----------
    replicates : DataFrame or path
        The replicate table, or ``replicates.parquet`` (streamed).
    top : int
        How many messages to keep.

    Returns
    -------
    DataFrame
        ``message``, ``count``: most frequent first, ties in order of first appearance.
    """
    counts: Counter[str] = Counter()
    for b in replicate_batches(replicates, ["error"]):
        if "error" not in b:
            return pd.DataFrame({"message": [], "count": []})
        e = b["error"].fillna("").astype(str)
        counts.update(e[e != ""].tolist())
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return pd.DataFrame({"message": [m for m, _ in ranked],
                         "count": np.asarray([c for _, c in ranked], dtype=int)})


def model_formula(info: dict, term: str, *, response: str | None = None) -> str:
    """The model formula: as recorded, or rebuilt from the posterior's terms.

    Parameters
    ----------
    info : dict
        ``study.json``.
    term : str
        The term (used when the posterior's fixed terms are not recorded).
    response : str, optional
        The response's name when the record lacks it (``y`` otherwise).

    Returns
    -------
    str
    """
    post = info.get("posterior") or {}
    if post.get("formula") or info.get("formula"):
        return str(post.get("formula") or info.get("formula"))
    fixed = ["1" if t == "Intercept" else t for t in post.get("fixed", ["Intercept", term])]
    varying = ["1" if t == "Intercept" else t for t in post.get("varying", [])]
    resp = post.get("response") or response or "y"
    rhs = " + ".join(fixed)
    if varying:
        rhs += f" + ({' + '.join(varying)} | {post.get('group', 'group')})"
    return f"{resp} ~ {rhs}"


def data_columns(data: pd.DataFrame, info: dict, term: str) -> tuple[str, str, str] | None:
    """The (response, term, group) columns of the original data.

    Parameters
    ----------
    data : DataFrame
        ``data.csv``.
    info : dict
        ``study.json``: the posterior's ``group``, and ``response`` or ``formula`` if recorded.
    term : str
        The term.

    Returns
    -------
    tuple of str or None
        None when the term or group column is missing; the response defaults to the first
        other numeric column.
    """
    post = info.get("posterior") or {}
    group = post.get("group")
    if term not in data or group not in data:
        return None
    resp = post.get("response")
    formula = post.get("formula") or info.get("formula") or ""
    if not resp and "~" in formula:
        resp = formula.split("~")[0].strip()
    if not resp or resp not in data:
        numeric = [c for c in data.columns if c not in (term, group)
                   and pd.api.types.is_numeric_dtype(data[c])]
        if not numeric:
            return None
        resp = numeric[0]
    return resp, term, group
