"""Plain-language labels and explanations used by the report.

Everything a reader sees in words — estimand names, the reading guide, criterion descriptions,
headline sentences — lives here, apart from the figures and the numbers.
"""

from __future__ import annotations

import itertools
import math

__all__ = [
    "ANALYSIS_LABELS",
    "CRITERION_HELP",
    "CRITERION_LABELS",
    "CRITERION_PHRASES",
    "CRITERION_SHORT",
    "DIAGNOSTIC_HELP",
    "ESTIMAND_LABELS",
    "READING_GUIDE",
    "criterion_phrase",
    "effect_sentences",
    "estimand_label",
    "fmt",
    "fmt_pct",
    "fmt_prob",
    "headline",
    "observed_at",
    "params_words",
    "unit_names",
]

#: Reader-facing names of the effect estimands of :mod:`replic.effects`; ``{unit}`` and
#: ``{units}`` are the grouping factor's name (see :func:`unit_names`).  "The study's {units}"
#: names ``fitted_mean`` only.
ESTIMAND_LABELS = {
    "conditional": "The average {unit}",
    "population_averaged": "The population (averaged over {units})",
    "fitted": "A {unit} of the study (pooled)",
    "fitted_mean": "The study's {units}, on average",
    "new_gaussian": "A new {unit}",
    "new_uncertainty": "A {unit} of the study, picked at random",
    "new_old_levels": "One fitted {unit}, reused for all draws",
    "replication_mean": "A new experiment with k {units}",
}

#: Reader-facing names of the analyses of a replicate.
ANALYSIS_LABELS = {
    "summary": "summary (no refit: per-subject OLS, t interval)",
    "reml": "REML refit (lme4-style, Satterthwaite df)",
    "stan": "Bayesian refit with Stan (NUTS)",
    "bayes-fast": "Bayesian refit without MCMC (bayes-fast)",
    "glmm": "GLMM refit (lme4's glmer: Laplace, Wald z)",
}

#: Short names of the replication criteria.
CRITERION_LABELS = {
    "sig_same_direction": "Significant, same direction",
    "same_sign": "Same sign",
    "orig_in_rep_ci": "Original inside replicate's 95% interval",
    "rep_in_orig_ci": "Replicate inside original's 95% interval",
    "rep_in_pi": "Replicate inside 95% prediction interval",
    "small_telescopes": "Not a small-telescopes failure",
    "bf_rep": "Replication Bayes factor > 1",
    "sceptical_p": "Sceptical p < 0.025",
}

#: Column headers of the criteria table.
CRITERION_SHORT = {
    "sig_same_direction": "significant", "same_sign": "same sign",
    "orig_in_rep_ci": "orig. in rep. CI", "rep_in_orig_ci": "rep. in orig. CI",
    "rep_in_pi": "rep. in PI", "small_telescopes": "small telescopes", "bf_rep": "BF_rep > 1",
    "sceptical_p": "sceptical p",
}

#: One-sentence explanations of the criteria.
CRITERION_HELP = {
    "sig_same_direction": "the replication's 95% interval excludes 0 on the original's side "
                          "(the usual 'it replicated'); the headline criterion",
    "same_sign": "the replication's estimate merely points the same way as the original's",
    "orig_in_rep_ci": "the original estimate lies inside the replication's 95% interval",
    "rep_in_orig_ci": "the replication's estimate lies inside the original's 95% interval",
    "rep_in_pi": "the replication's estimate lies inside the 95% prediction interval "
                 "θ₀ ± 1.96 √(se₀² + seᵣ²), which allows for the noise of both studies",
    "small_telescopes": "the replication cannot rule out d33, the effect the original had 33% "
                        "power to detect (Simonsohn 2015); ruling it out counts as a failure",
    "bf_rep": "the replication Bayes factor (Verhagen & Wagenmakers 2014, normal "
              "approximation) favours 'the original's effect' over 'no effect'",
    "sceptical_p": "the one-sided sceptical p-value (Held 2020), which asks original and "
                   "replication to convince a sceptic together, is below 0.025",
}

#: What a replication does to meet each criterion, as the headline sentence says it
#: (``{sign}``: the original's sign, ``{term}``: the term).
CRITERION_PHRASES = {
    "sig_same_direction": "find a significant {sign} effect of {term}",
    "same_sign": "find an effect of {term} with the original's sign ({sign})",
    "orig_in_rep_ci": "hold the original estimate of {term} inside their 95% interval",
    "rep_in_orig_ci": "estimate the effect of {term} inside the original's 95% interval",
    "rep_in_pi": "estimate the effect of {term} inside the 95% prediction interval",
    "small_telescopes": "pass the small-telescopes test for {term} (d33 not ruled out)",
    "bf_rep": "give a replication Bayes factor above 1 for {term}",
    "sceptical_p": "give a sceptical p-value below 0.025 for {term}",
}


def criterion_phrase(criterion: str, *, term: str, sign: str) -> str:
    """What a replication does to meet ``criterion`` (custom criteria by their name)."""
    phrase = CRITERION_PHRASES.get(criterion, "meet the criterion '{criterion}' for {term}")
    return phrase.format(term=term, sign=sign, criterion=criterion)


#: What each diagnostic count means.
DIAGNOSTIC_HELP = {
    "failed": "the analysis raised an error; the replicate is left out of every probability.",
    "singular fit": "the REML estimate of the between-subject covariance is on the boundary "
                    "(a zero variance or a ±1 correlation), common with few subjects; the "
                    "fixed-effect estimate is still used, but its standard error may be "
                    "optimistic.",
    "not converged": "the analysis judged the fit not converged with the study's thresholds "
                     "(reml: the optimiser stopped early; Stan: R-hat, bulk ESS or divergent "
                     "transitions beyond the limits set for the study).",
    "divergent transitions": "NUTS met regions it could not explore; the posterior may be "
                             "biased.",
    "flagged": "marked as unreliable by the analysis itself (bayes-fast: the Pareto k-hat of "
               "its importance sampling is above the analysis's threshold).",
}

#: The reading guide: which estimand answers which question (after the brms forum answer
#: quoted in DESIGN.md's background).
READING_GUIDE = [dict(zip(("id", "question", "estimand", "how"), row, strict=True)) for row in (
    ("conditional", "Did the average {unit}'s {response} change with {term}?",
     "The average {unit}",
     "The population-level coefficient β alone, with the {units}' deviations held at zero "
     "(brms: re_formula = NA). Its interval is the narrowest: it is about a mean, not about "
     "any {unit} in particular."),
    ("fitted", "Did the {units} in this study change with {term}?", "A {unit} of the study",
     "β plus each fitted {unit}'s own deviation (brms: re_formula = NULL). Describes what "
     "happened to these {units}; it does not generalise beyond them."),
    ("new_gaussian", "Will a new {unit}, not in the study, change with {term}?",
     "A new {unit}",
     "β plus a deviation drawn from the estimated between-{unit} distribution (brms: "
     "allow_new_levels = TRUE, sample_new_levels = 'gaussian'). Wide, because {units} "
     "differ: this is the honest answer for a single {unit}."),
    ("replication_mean", "Will a new experiment with k {units} find the effect?",
     "A new experiment with k {units}",
     "β plus the mean of k new deviations: between the average {unit} (k → ∞) and a new "
     "{unit} (k = 1). The curves below turn this into the probability that a replication "
     "with k new {units} 'finds' the effect."),
)]


def unit_names(group: str | None) -> dict[str, str]:
    """``{"unit": ..., "units": ...}``: how the report calls one level of the grouping factor.

    The factor's own name, lower-cased when it is a capitalised word (``Subject`` -> subject,
    subjects; ``school`` -> school, schools); ``subject`` when unknown.
    """
    g = str(group or "subject").strip() or "subject"
    unit = g.lower() if g[:1].isupper() and g[1:].islower() and g.isalpha() else g
    return {"unit": unit, "units": unit if unit.endswith("s") else unit + "s"}


def estimand_label(estimand: str, level: str = "", *, group: str | None = None) -> str:
    """The reader-facing name of an estimand (with its k for replication means), naming the
    levels of the grouping factor ``group`` as in :func:`unit_names`."""
    names = unit_names(group)
    base = ESTIMAND_LABELS.get(estimand, estimand).format(**names)
    if estimand == "replication_mean" and str(level).startswith("k="):
        return f"A new experiment with {level.replace('k=', 'k = ')} {names['units']}"
    if estimand == "new_old_levels" and level:
        return f"{base} ({level})"
    return base


def params_words(params: str) -> str:
    """A design family's parameter mode in words: assurance or conditional power at what."""
    p = str(params)
    if p == "posterior":
        return "assurance (parameters drawn from the posterior)"
    if p in ("mean", "median"):
        return f"conditional power (parameters at the posterior {p})"
    return "conditional power at " + p.replace("=", " = ").replace(",", ", ").replace("  ", " ")


def fmt(x: float, digits: int = 2) -> str:
    """A number with ``digits`` decimals; an en dash for missing values."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}"


def fmt_pct(p: float, digits: int = 0) -> str:
    """A probability as a percentage (``0.856`` -> ``"86%"``)."""
    if p is None or not math.isfinite(p):
        return "–"
    return f"{100 * p:.{digits}f}%"


def fmt_prob(p: float) -> str:
    """A posterior probability, shown one way everywhere: ``"6.3%"``, ``"< 0.1%"``,
    ``"> 99.9%"``."""
    if p is None or not math.isfinite(p):
        return "–"
    if p < 0.001:
        return "< 0.1%"
    if p > 0.999:
        return "> 99.9%"
    return f"{100 * p:.1f}%"


def headline(*, term: str, direction: float, k: float, prob: float, lower: float,
             upper: float, target: float, k_max: int, reps: int, series: str = "",
             k_confident: float = math.nan, observed: str = "", params: str = "",
             group: str | None = None, criterion: str = "sig_same_direction") -> dict:
    """The headline sentence and its fine print for one analysis.

    Parameters
    ----------
    term : str
        The term (``"Days"``).
    direction : float
        Sign of the original effect.
    k : float
        Smallest k reaching ``target`` (NaN when none in the grid does).
    k_confident : float
        Smallest k whose 95% Monte Carlo interval lies wholly above ``target`` (NaN if none).
    prob, lower, upper : float
        Probability of the headline criterion at ``k`` (at ``k_max`` when ``k`` is NaN) and
        its 95% Monte Carlo interval.
    target : float
        Target probability.
    k_max : int
        Largest k in the grid.
    reps : int
        Replicates per design.
    series : str
        The analysis (and design family) the sentence is about.
    observed : str
        Where each new subject is observed, e.g. ``"Days 0–9"`` (see :func:`observed_at`).
    params : str
        The family's parameter mode (``posterior``: assurance; else conditional power).
    group : str, optional
        The grouping factor, whose levels the sentence counts (``Subject``: subjects).
    criterion : str
        The criterion the sentence is about (``replic run --criterion``; default: significant
        in the original's direction).

    Returns
    -------
    dict
        ``text`` (the sentence) and ``detail`` (its fine print).
    """
    sign = "positive" if direction >= 0 else "negative"
    side = "above" if direction >= 0 else "below"
    where = f" ({series})" if series else ""
    units = unit_names(group)["units"]
    at = f" observed at {observed}" if observed else ""
    mode = (f" {params_words(params)[0].upper()}{params_words(params)[1:]}." if params
            else "")
    mc = (f"Monte Carlo 95% interval {fmt_pct(lower)}–{fmt_pct(upper)} from {reps} simulated "
          f"replications per k")
    does = criterion_phrase(criterion, term=term, sign=sign)
    if criterion == "sig_same_direction":
        meaning = f"'significant' means the replication's 95% interval lies {side} 0"
    elif criterion in CRITERION_HELP:
        meaning = (f"the criterion is '{CRITERION_LABELS[criterion]}': "
                   f"{CRITERION_HELP[criterion]}")
    else:
        meaning = f"'{criterion}' is a custom criterion of the study"
    if math.isfinite(k):
        text = f"With {int(k)} new {units}{at}, {fmt_pct(prob)} of replications {does}."
        detail = (f"k = {int(k)} is the smallest k in the grid reaching the {fmt_pct(target)} "
                  f"target{where}; {meaning}. {mc}.")
        if k_confident != k:
            detail += (f" Allowing for Monte Carlo error, the cautious choice is k = "
                       f"{int(k_confident)}." if math.isfinite(k_confident) else
                       " Allowing for Monte Carlo error, no k in the grid is sure to reach it.")
    else:
        text = (f"Even with {k_max} new {units}{at}, only {fmt_pct(prob)} of replications "
                f"{does}.")
        told = "" if criterion == "sig_same_direction" else f"{meaning[0].upper()}{meaning[1:]}. "
        detail = (f"No k in the grid reaches the {fmt_pct(target)} target{where}; extend the "
                  f"grid beyond k = {k_max}. {told}{mc}.")
    return {"text": text, "detail": mode.strip() + (" " if mode else "") + detail}


def observed_at(term: str, x) -> str:
    """Where each new subject is observed: ``"Days 0–9"`` for consecutive integers, else
    ``"age = 8, 10, 12, 14"`` (the first 8 values); empty when unknown."""
    try:
        x = [float(v) for v in (x or [])]
    except (TypeError, ValueError):
        return ""
    if not x:
        return ""
    if len(x) > 2 and all(b - a == 1 for a, b in itertools.pairwise(x)):
        return f"{term} {x[0]:g}–{x[-1]:g}"
    return f"{term} = " + ", ".join(f"{v:g}" for v in x[:8]) + (", …" if len(x) > 8 else "")


def effect_sentences(effects, *, term: str, response: str, group: str | None = None,
                     units: str = "") -> list[str]:
    """Plain sentences reading the effects table: the average subject, a new person, and the
    smallest and largest replication.

    Parameters
    ----------
    effects : DataFrame
        ``effects.csv``: ``estimand``, ``level``, ``q2.5``, ``q50``, ``q97.5``, ``P(<0)``.
    term, response : str
        Names used in the sentences.
    group : str, optional
        The grouping factor (see :func:`unit_names`).
    units : str
        The response's units (``"ms"``), when the study gives them.

    Returns
    -------
    list of str
        Empty when the table lacks the estimands.
    """
    names = unit_names(group)
    unit, plural = names["unit"], names["units"]
    per = f" {units}" if units else ""
    rows = {(e, "" if not isinstance(lev, str) else lev): r for e, lev, r in
            zip(effects["estimand"], effects["level"], effects.to_dict("records"), strict=True)}
    out = []
    cond = rows.get(("conditional", ""))
    if cond is not None:
        out.append(f"For the average {unit}, {response} changes by {fmt(cond['q50'], 1)}{per} "
                   f"per unit of {term} (95% interval {fmt(cond['q2.5'], 1)} to "
                   f"{fmt(cond['q97.5'], 1)}{per}).")
    new = rows.get(("new_gaussian", ""))
    if new is not None:
        up = cond is None or cond["q50"] >= 0
        p = float(new["P(<0)"]) if up else 1 - float(new["P(<0)"])
        way, other = ("fall", "rise") if up else ("rise", "fall")
        out.append(f"A new {unit}'s change is less certain: {fmt(new['q2.5'], 1)} to "
                   f"{fmt(new['q97.5'], 1)}{per}, so {fmt_prob(p)} of new {plural} would see "
                   f"{response} {way} rather than {other}.")
    reps = sorted((r for (e, _), r in rows.items() if e == "replication_mean"),
                  key=lambda r: int(str(r["level"]).removeprefix("k=") or 0))
    if len(reps) >= 2:
        a, b = reps[0], reps[-1]
        out.append(f"The mean over a new experiment's {plural} narrows as it grows: "
                   f"{fmt(a['q2.5'], 1)} to {fmt(a['q97.5'], 1)} with {a['level']}, "
                   f"{fmt(b['q2.5'], 1)} to {fmt(b['q97.5'], 1)} with {b['level']}."
                   .replace("k=", "k = "))
    return out
