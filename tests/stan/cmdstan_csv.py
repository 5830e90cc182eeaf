"""Write Stan draws in CmdStan's CSV format (one file per chain), to test the reader.

The layout follows CmdStan 2.33's ``output.csv``: ``#`` configuration lines, the header of flat
names, adaptation comments, one row per draw (6 significant digits), timing comments.

Regenerate the committed fixture (``tests/stan/data/cmdstan``) from a real PyStan fit with
``python -m tests.stan.cmdstan_csv``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["write_cmdstan_csv"]

_HEAD = """# stan_version_major = 2
# stan_version_minor = 33
# stan_version_patch = 1
# model = lmm_model
# start_datetime = 2026-11-25 17:00:00 UTC
# method = sample (Default)
#   sample
#     num_samples = {draws}
#     num_warmup = {warmup}
#     save_warmup = 0 (Default)
#     thin = 1 (Default)
#     adapt
#       engaged = 1 (Default)
#       gamma = 0.050000000000000003 (Default)
#       delta = 0.80000000000000004 (Default)
#       kappa = 0.75 (Default)
#       t0 = 10 (Default)
#       init_buffer = 75 (Default)
#       term_buffer = 50 (Default)
#       window = 25 (Default)
#       save_metric = 0 (Default)
#     algorithm = hmc (Default)
#       hmc
#         engine = nuts (Default)
#           nuts
#             max_depth = 10 (Default)
#         metric = diag_e (Default)
#         metric_file =  (Default)
#         stepsize = 1 (Default)
#         stepsize_jitter = 0 (Default)
#     num_chains = 1 (Default)
# id = {chain}
# data
#   file = data.json
# init = 2 (Default)
# random
#   seed = {seed}
# output
#   file = {file}
#   diagnostic_file =  (Default)
#   refresh = 100 (Default)
#   sig_figs = -1 (Default)
#   profile_file = profile.csv (Default)
#   save_cmdstan_config = 0 (Default)
# num_threads = 1 (Default)
# stanc_version = stanc3 v2.33.1
# stancflags =
"""


def write_cmdstan_csv(flat: pd.DataFrame, directory: str | Path, *, warmup: int, seed: int,
                      stem: str = "lmm") -> list[Path]:
    """Write ``flat`` (Stan names, ``.chain``, ``.iteration``) as CmdStan CSV files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cols = [c for c in flat.columns if not c.startswith(".")]
    paths = []
    for chain, df in flat.groupby(".chain", sort=True):
        path = directory / f"{stem}-{int(chain)}.csv"
        step = df["stepsize__"].iloc[0]
        body = df[cols].to_csv(index=False, header=False, float_format="%.6g")
        with open(path, "w") as fh:
            fh.write(_HEAD.format(draws=len(df), warmup=warmup, chain=int(chain), seed=seed,
                                  file=path.name))
            fh.write(",".join(cols) + "\n")
            fh.write(f"# Adaptation terminated\n# Step size = {step:.6g}\n"
                     "# Diagonal elements of inverse mass matrix:\n# 1, 1\n")
            fh.write(body)
            fh.write("# \n#  Elapsed Time: 0.5 seconds (Warm-up)\n#                0.4 seconds "
                     "(Sampling)\n#                0.9 seconds (Total)\n# \n")
        paths.append(path)
    return paths


def _main() -> None:  # pragma: no cover - fixture generator
    from replic.io_cmdstan import write_model_names
    from replic.stan.backends import compile_model
    from replic.stan.data import stan_data
    from tests.stan.conftest import DATASETS, FORMULA

    data = pd.read_csv(DATASETS / "sleepstudy.csv")
    sd = stan_data(data, FORMULA)
    md = sd.data
    flat = compile_model(backend="pystan").sample(sd.to_stan(), chains=2, warmup=200, draws=100,
                                                  seed=11)
    out = Path(__file__).parent / "data" / "cmdstan"
    write_cmdstan_csv(flat, out, warmup=200, seed=11)
    write_model_names(out, {"fixed": md.fixed, "varying": md.varying, "group": md.group,
                            "levels": md.levels, "formula": FORMULA, "response": md.response})


if __name__ == "__main__":  # pragma: no cover
    _main()
