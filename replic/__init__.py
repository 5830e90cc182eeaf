"""replic: replication and power analysis for multilevel models, from a fitted posterior."""

from replic.design import Design
from replic.errors import ReplicFitError, ReplicInputError
from replic.posterior import Posterior
from replic.read import read_draws

__all__ = ["Design", "Posterior", "ReplicFitError", "ReplicInputError", "read_draws"]
__version__ = "0.1.0"
