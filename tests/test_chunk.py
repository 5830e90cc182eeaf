"""One chunk of a study (simulate, analyse, judge): rows independent of how replicates are cut
into chunks, and a failing replicate recorded alone with its error."""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources

import numpy as np
import pandas as pd

from replic import Design, read_draws
from replic.analyses import get_analysis
from replic.chunk import Payload, analyse_chunk, slim_posterior
from replic.criteria import Original
from replic.newsubjects import design_frame


@dataclass(frozen=True)
class Span:
    design: int
    start: int
    stop: int


@dataclass(frozen=True)
class FailsOn:
    """The summary analysis, raising for any batch holding replicate ``bad``."""

    bad: int
    name: str = "fails"
    representation: str = "moments"

    def run(self, reps, context):
        if self.bad in set(np.asarray(reps.rep).tolist()):
            raise FloatingPointError("boom")
        return get_analysis("summary").run(reps, context)


def _payload() -> Payload:
    post = read_draws(pd.read_csv(resources.files("replic") / "datasets"
                                  / "sleepstudy_brms_draws.csv.gz"))
    designs = (Design(4, x=range(10)), Design(9, x=range(10)))
    frames = tuple(design_frame(post, d, "Days") for d in designs)
    an = get_analysis("summary")
    return Payload(posterior=slim_posterior(post), designs=designs, frames=frames, seed=3,
                   analysis_name="summary", analysis=an,
                   context=an.prepare(post, frames[0], {}),
                   original=Original(**{("se" if k == "sd" else k): v
                                        for k, v in post.term_summary("Days").items()}))


def test_rows_do_not_depend_on_the_cut():
    p = _payload()
    whole = analyse_chunk(p, Span(1, 0, 96))
    parts = pd.concat([analyse_chunk(p, Span(1, a, b)) for a, b in ((0, 31), (31, 64),
                                                                    (64, 96))],
                      ignore_index=True)
    pd.testing.assert_frame_equal(parts, whole, check_exact=True)
    assert (whole["design"] == p.designs[1].label).all() and whole["rep"].tolist() == \
        list(range(96))


def test_a_failing_replicate_is_recorded_alone():
    p = _payload()
    rows = analyse_chunk(replace(p, analysis=FailsOn(5)), Span(0, 0, 12))
    ok = analyse_chunk(p, Span(0, 0, 12))
    assert rows["error"].tolist() == ["" if r != 5 else "FloatingPointError: boom"
                                      for r in range(12)]
    assert np.isnan(rows.loc[5, "estimate"]) and np.isnan(rows.loc[5, "sig_same_direction"])
    keep = rows.index != 5
    pd.testing.assert_series_equal(rows.loc[keep, "estimate"], ok.loc[keep, "estimate"])
