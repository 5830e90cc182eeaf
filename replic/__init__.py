"""replic: replication and power analysis for multilevel models, from a fitted posterior.

Start from posterior draws (``read_draws``), ask what the effect of a term is for each
estimand (``effect_draws``), and simulate replication experiments with k new subjects
(``run_study``).
"""

from replic.criteria import CRITERIA
from replic.design import Design
from replic.effects import effect_draws, summarise_draws, trajectory_bands
from replic.errors import (
    FlaggedReplicatesWarning,
    ReplicFitError,
    ReplicInputError,
    ReplicWarning,
)
from replic.family import Family
from replic.fitcheck import fit_bayes_fast
from replic.glmm import fit_glmm
from replic.lmm import fit_lmm
from replic.plan import cheapest_design, find_k
from replic.posterior import Posterior
from replic.read import read_draws
from replic.saved import read_results
from replic.stan.fit import fit_posterior
from replic.study import StudyResult, run_study
from replic.summarise import k_needed

__all__ = [
    "CRITERIA",
    "Design",
    "Family",
    "FlaggedReplicatesWarning",
    "Posterior",
    "ReplicFitError",
    "ReplicInputError",
    "ReplicWarning",
    "StudyResult",
    "cheapest_design",
    "effect_draws",
    "find_k",
    "fit_bayes_fast",
    "fit_glmm",
    "fit_lmm",
    "fit_posterior",
    "k_needed",
    "read_draws",
    "read_results",
    "run_study",
    "summarise_draws",
    "trajectory_bands",
]
__version__ = "0.1.0"
