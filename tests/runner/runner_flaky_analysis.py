"""A test-only analysis for the runner: the ``summary`` analysis, made slow, failing or
interrupted on demand.

Registered under the name ``"flaky"`` by the tests (``ANALYSES["flaky"] = __name__``).  Its
behaviour is set by the study's ``options`` (part of the study's fingerprint):

``fail_every`` (int)
    a batch containing a replicate ``r`` with ``r % fail_every == 3 % fail_every`` raises, so
    the runner must isolate those replicates one by one;
``fail_from`` (int)
    a batch containing a replicate ``r >= fail_from`` raises;
``delay`` (float)
    seconds slept per batch (to kill a run mid-way);
``unconverged_every``, ``flagged_every`` (int)
    add a ``converged`` column, False for replicates ``r % unconverged_every == 1``, and a
    ``flagged`` column, True for replicates ``r % flagged_every == 2`` (fits that succeeded
    but are not to be trusted).

and, for an in-process interruption only, by the module attribute :data:`INTERRUPT_AT`: the
batch containing that replicate raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from replic.analyses.summary import ANALYSIS as SUMMARY

INTERRUPT_AT: int | None = None


@dataclass(frozen=True)
class FlakyAnalysis:
    name: str = "flaky"
    representation: str = "moments"
    chunk: int | None = None  # replicates per task (None: the runner's default)

    def prepare(self, posterior, frame, options: dict) -> dict:
        return {"fail_every": int(options.get("fail_every", 0)),
                "fail_from": options.get("fail_from"),
                "delay": float(options.get("delay", 0.0)),
                "unconverged_every": int(options.get("unconverged_every", 0)),
                "flagged_every": int(options.get("flagged_every", 0))}

    def run(self, reps, context: dict) -> dict[str, np.ndarray]:
        if context["delay"]:
            time.sleep(context["delay"])
        if INTERRUPT_AT is not None and INTERRUPT_AT in reps.rep:
            raise KeyboardInterrupt
        every = context["fail_every"]
        if every and np.any(reps.rep % every == 3 % every):
            bad = reps.rep[reps.rep % every == 3 % every]
            raise ValueError(f"forced failure at replicate {int(bad[0])}")
        start = context.get("fail_from")
        if start is not None and np.any(reps.rep >= start):
            raise ValueError(f"forced failure at replicate {int(reps.rep[reps.rep >= start][0])}")
        out = SUMMARY.run(reps)
        if context.get("unconverged_every"):
            out["converged"] = reps.rep % context["unconverged_every"] != 1
        if context.get("flagged_every"):
            out["flagged"] = reps.rep % context["flagged_every"] == 2
        return out


ANALYSIS = FlakyAnalysis()
#: The same in tasks of 64 replicates (for runs whose chunk size cannot be passed, the CLI).
CHUNKED = FlakyAnalysis(chunk=64)
