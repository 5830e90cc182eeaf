"""The ``flaky`` test analysis in tasks of 64 replicates (registered by the CLI test)."""

from runner_flaky_analysis import CHUNKED as ANALYSIS

__all__ = ["ANALYSIS"]
