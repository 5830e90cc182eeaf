"""The report's sentences: headline variants, labels, number formatting."""

from __future__ import annotations

import math

import pandas as pd

from replic.report.data import model_formula
from replic.report.render import guide
from replic.report.text import (
    effect_sentences,
    estimand_label,
    fmt,
    fmt_pct,
    fmt_prob,
    headline,
    observed_at,
    unit_names,
)


def test_headline_reached():
    h = headline(term="Days", direction=1.0, k=7, k_confident=7, prob=0.856, lower=0.82,
                 upper=0.88, target=0.8, k_max=30, reps=500)
    assert h["text"] == ("With 7 new subjects, 86% of replications find a significant "
                         "positive effect of Days.")
    assert "95% interval lies above 0" in h["detail"]
    assert "82%–88% from 500 simulated replications" in h["detail"]
    assert "cautious" not in h["detail"]


def test_headline_cautious_and_negative():
    h = headline(term="dose", direction=-1.0, k=6, k_confident=8, prob=0.803, lower=0.75,
                 upper=0.84, target=0.8, k_max=30, reps=300, series="reml")
    assert "significant negative effect of dose" in h["text"]
    assert "lies below 0" in h["detail"] and "(reml)" in h["detail"]
    assert "the cautious choice is k = 8" in h["detail"]


def test_headline_not_reached():
    h = headline(term="Days", direction=1.0, k=math.nan, prob=0.61, lower=0.55, upper=0.66,
                 target=0.9, k_max=12, reps=200)
    assert h["text"] == ("Even with 12 new subjects, only 61% of replications find a "
                         "significant positive effect of Days.")
    assert "extend the grid beyond k = 12" in h["detail"]


def test_headline_says_design_and_mode():
    h = headline(term="age", direction=1.0, k=5, k_confident=5, prob=0.84, lower=0.8,
                 upper=0.87, target=0.8, k_max=20, reps=1000, group="Subject",
                 observed=observed_at("age", [8, 10, 12, 14]), params="b_age=0.3")
    assert h["text"] == ("With 5 new subjects observed at age = 8, 10, 12, 14, 84% of "
                         "replications find a significant positive effect of age.")
    assert h["detail"].startswith("Conditional power at b_age = 0.3. k = 5 is the smallest")
    h = headline(term="Days", direction=1.0, k=7, k_confident=7, prob=0.84, lower=0.8,
                 upper=0.87, target=0.8, k_max=30, reps=1000, group="Worker",
                 observed=observed_at("Days", range(10)), params="posterior")
    assert h["text"].startswith("With 7 new workers observed at Days 0–9, 84%")
    assert h["detail"].startswith("Assurance (parameters drawn from the posterior).")


def test_units_are_the_grouping_factor():
    assert unit_names("Subject") == {"unit": "subject", "units": "subjects"}
    assert unit_names("school") == {"unit": "school", "units": "schools"}
    assert unit_names("ID") == {"unit": "ID", "units": "IDs"}
    assert unit_names(None)["unit"] == "subject"
    assert estimand_label("new_gaussian", group="Mare") == "A new mare"
    assert estimand_label("fitted_mean", group="Mare") == "The study's mares, on average"
    assert estimand_label("fitted", group="Mare") == "A mare of the study (pooled)"


def test_one_probability_format():
    assert [fmt_prob(p) for p in (0.0, 0.0004, 0.00253, 0.0637, 0.9995, 1.0)] == [
        "< 0.1%", "< 0.1%", "0.3%", "6.4%", "> 99.9%", "> 99.9%"]


def test_labels_and_formats():
    assert estimand_label("replication_mean", "k=5") == "A new experiment with k = 5 subjects"
    assert estimand_label("conditional") == "The average subject"
    assert estimand_label("unknown") == "unknown"
    assert fmt(math.nan) == "–" and fmt(1.23456) == "1.23" and fmt_pct(0.8) == "80%"


def test_model_formula_rebuilt():
    info = {"posterior": {"fixed": ["Intercept", "Days"], "varying": ["Intercept"],
                          "group": "Subject", "formula": None}}
    assert model_formula(info, "Days", response="RT") == "RT ~ 1 + Days + (1 | Subject)"
    info["posterior"]["formula"] = "Reaction ~ Days + (Days | Subject)"
    assert model_formula(info, "Days") == "Reaction ~ Days + (Days | Subject)"


def test_guide_numbers_come_from_effects():
    eff = pd.DataFrame({"estimand": ["conditional", "replication_mean", "replication_mean"],
                        "level": ["", "k=2", "k=8"], "q2.5": [1.0, -2.0, 0.5],
                        "q50": [2.0, 2.1, 2.05], "q97.5": [3.0, 6.0, 3.6],
                        "P(<0)": [0.0, 0.2, 0.01]})
    g = {row["estimand"]: row for row in guide(eff, term="Days", response="RT")}
    assert g["The average subject"]["numbers"] == ["2.0 [1.0, 3.0]"]
    assert g["A new experiment with k subjects"]["numbers"] == ["k = 2: 2.1 [-2.0, 6.0]",
                                                                "k = 8: 2.0 [0.5, 3.6]"]
    assert g["The average subject"]["chance"] == "Chance the effect is negative: < 0.1%"
    assert g["A new experiment with k subjects"]["chance"] == ""
    assert g["A new subject"]["numbers"] == []
    assert "average subject's RT" in g["The average subject"]["question"]


def test_effect_sentences():
    eff = pd.DataFrame({"estimand": ["conditional", "new_gaussian", "replication_mean",
                                     "replication_mean"],
                        "level": [float("nan"), float("nan"), "k=30", "k=2"],
                        "q2.5": [6.86, -3.48, 6.1, 0.2], "q50": [10.41, 10.29, 10.4, 10.3],
                        "q97.5": [13.66, 24.22, 14.7, 20.2], "P(<0)": [0.0, 0.064, 0.0, 0.02]})
    s = effect_sentences(eff, term="Days", response="Reaction", group="Subject", units="ms")
    assert s == ["For the average subject, Reaction changes by 10.4 ms per unit of Days (95% "
                 "interval 6.9 to 13.7 ms).",
                 "A new subject's change is less certain: -3.5 to 24.2 ms, so 6.4% of new "
                 "subjects would see Reaction fall rather than rise.",
                 "The mean over a new experiment's subjects narrows as it grows: 0.2 to 20.2 "
                 "with k = 2, 6.1 to 14.7 with k = 30."]
    s = effect_sentences(eff, term="age", response="distance", group="Mare")
    assert s[1].startswith("A new mare's change is less certain: -3.5 to 24.2, so 6.4% of "
                           "new mares would see")
