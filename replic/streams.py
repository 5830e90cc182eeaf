"""The registry of random-number streams: every generator replic seeds is keyed here.

Seeding rule (``replic/DESIGN.md``): a replicate's numbers come from generators keyed by what the
replicate is — (design key, replicate index or block, stream, root seed) — never by worker or
loop position, so results are bit-identical for any ``n_jobs`` and backend, and adding a design
leaves the others' numbers unchanged.  Each quantity has its own stream number, so, e.g., the
posterior draw of replicate ``r`` is the same whatever the analysis.

=====================  ==================================================  ================
stream                 key                                                 used in
=====================  ==================================================  ================
``SIMULATE[name]``     ``[design.key, r // BLOCK, SIMULATE[name], seed]``  ``simulate``
``BAYES_FAST``         ``[design.key, r, BAYES_FAST, seed]``               ``analyses``
(Stan refits)          ``SeedSequence([design.key, r, seed])``             ``analyses.stan``
``EFFECTS``            ``[seed, EFFECTS]``                                 ``effects``
``TRAJECTORIES``       ``[seed, TRAJECTORIES]``                            ``effects``
``DESIGN_PATTERNS``    ``[design.key, DESIGN_PATTERNS]``                   ``newsubjects``
=====================  ==================================================  ================

A new stream takes a number not used here.
"""

from __future__ import annotations

__all__ = ["BAYES_FAST", "DESIGN_PATTERNS", "EFFECTS", "SIMULATE", "TRAJECTORIES"]

#: Streams of the simulator: posterior draw, deviations, residuals, missingness, the three
#: moment draws of balanced designs, dropout, and the uniforms behind GLMM responses.
SIMULATE = {"draw": 0, "v": 1, "e": 2, "missing": 3, "vbar": 4, "nbar": 5, "chi2": 6,
            "dropout": 7, "y": 8}
#: Importance-sampling noise of the bayes-fast analysis of replicate ``r``.
BAYES_FAST = 11
#: New-subject deviations of the estimands in :func:`replic.effects.effect_draws`.
EFFECTS = 0x5EED
#: Deviations behind the prediction bands of :func:`replic.effects.trajectory_bands`.
TRAJECTORIES = 0x7A1
#: Which original subjects' observation patterns a design's new subjects take (one draw per
#: design, independent of the replicates).
DESIGN_PATTERNS = 0xDE5
