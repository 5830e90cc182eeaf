"""replic's own exceptions.

Every error a user can cause by bad input is a :class:`ReplicInputError` whose message names the
file, column or argument and what was expected; the CLI prints it as one line and exits with 2.
"""

from __future__ import annotations

import re

__all__ = ["FlaggedReplicatesWarning", "ReplicFitError", "ReplicInputError", "ReplicWarning"]


class ReplicInputError(ValueError):
    """Bad input: a file, column, argument or value that replic cannot use.

    The message is kept on one plain line (newlines and terminal colour codes of wrapped
    errors, e.g. formulaic's parse errors, are removed).
    """

    def __init__(self, message: object = "", *args: object) -> None:
        text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(message))
        super().__init__(" ".join(text.split()), *args)


class ReplicFitError(RuntimeError):
    """A model fit that failed (recorded per replicate inside a study, raised elsewhere)."""


class ReplicWarning(UserWarning):
    """A result replic computed but does not trust (e.g. a bayes-fast fit with Pareto k > 0.7)."""


class FlaggedReplicatesWarning(ReplicWarning):
    """Replicate fits of a study that were flagged (bayes-fast: Pareto k-hat > 0.7) or did not
    converge (Stan: R-hat, bulk ESS, divergences; REML: the optimiser's checks).

    Attributes
    ----------
    counts : dict
        ``{(analysis, design label): (n_unconverged, replicates)}`` for every design with any.
    """

    def __init__(self, message: str, counts: dict | None = None) -> None:
        super().__init__(message)
        self.counts = dict(counts or {})
