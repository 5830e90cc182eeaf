"""replic's Stan program (``lmm.stan``).

One program fits any number of fixed and varying terms (everything is data), so a study compiles
it once.  Its flat output (``b.1``, ``sd_1.2``, ``r_1.3.2``, ``Cor_1.1.2``, from PyStan or CmdStan)
gets brms's names in :func:`replic.io_cmdstan.brms_draws`, the reader of the program's output.
The likelihood uses ``normal_id_glm`` (analytic gradients) as brms does: ~20% less CPU per chain
than the same model written with ``rows_dot_product``.
"""

from __future__ import annotations

import hashlib
from importlib import resources

__all__ = ["SAMPLER_COLUMNS", "program_code", "program_hash"]

SAMPLER_COLUMNS = ("lp__", "accept_stat__", "stepsize__", "treedepth__", "n_leapfrog__",
                   "divergent__", "energy__")


def program_code() -> str:
    """Source code of ``lmm.stan``."""
    return resources.files("replic.stan").joinpath("lmm.stan").read_text()


def program_hash() -> str:
    """Short SHA-256 of the program source (names compiled executables and caches)."""
    return hashlib.sha256(program_code().encode()).hexdigest()[:12]
