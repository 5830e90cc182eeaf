"""``replic fit DATA.csv FORMULA --out draws.csv``: fit the model with Stan from the shell.

The draws are written with brms's column names (as ``posterior::as_draws_df()`` + ``write.csv``
would), so ``replic effects draws.csv`` and ``replic run`` read them like brms output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from replic.errors import ReplicInputError

__all__ = ["fit_command", "register"]


def fit_command(args: argparse.Namespace) -> int:
    """Handler of ``replic fit``: fit, write the draws, print a short summary."""
    import os

    from replic.formula_grammar import check_formula
    from replic.read import read_data
    from replic.stan.fit import fit_draws

    formula = check_formula(args.formula, where="replic fit FORMULA")  # nothing is evaluated
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ReplicInputError(f"--out {out}: directory {out.parent} does not exist")
    if out.is_dir() or out.is_symlink():
        raise ReplicInputError(f"--out {out}: is a directory or a link; expected a file name "
                               "for the draws CSV")
    if out.exists() and not _is_draws_csv(out):
        raise ReplicInputError(f"--out {out}: exists and is not a draws CSV replic wrote; "
                               "choose a new file name (replic never overwrites other files)")
    data = read_data(args.data)
    table, info = fit_draws(data, formula, family=args.family, chains=args.chains,
                            warmup=args.warmup, draws=args.draws, seed=args.seed,
                            backend=args.backend, quiet=not args.progress)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        table.to_csv(tmp, index=False)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    b = [c for c in table.columns if c.startswith(("b_", "sd_", "cor_", "sigma"))]
    summary = table[b].agg(["mean", "std"]).T
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(f"{args.formula} ({info['family']}): {len(table)} draws ({info['chains']} "
              f"chains, {info['backend']}), "
              f"max R-hat {info['rhat']:.3f}, min bulk ESS {info['ess_bulk']:.0f}, "
              f"{info['divergences']} divergent transitions")
        print(summary.to_string())
    print(f"wrote {out}")
    return 0


def _is_draws_csv(path: Path) -> bool:
    """True when ``path`` starts with a header of brms draws (b_* and .chain; sigma too for a
    gaussian model, none for a bernoulli, binomial or poisson one)."""
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    names = [n.strip('"') for n in head.strip().split(",")]
    return any(n.startswith("b_") for n in names) and ".chain" in names


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``fit`` command to the ``replic`` CLI's subparsers."""
    p = subparsers.add_parser("fit", help="fit the model with Stan (brms's model and priors)",
                              description="Fit a Gaussian LMM with one grouping factor with "
                              "Stan (NUTS), brms's parameterisation and default priors, and "
                              "write the draws with brms's column names.")
    p.add_argument("data", help="data CSV, one row per observation")
    p.add_argument("formula", help="e.g. 'Reaction ~ 1 + Days + (1 + Days | Subject)'")
    p.add_argument("--out", required=True, help="where to write the draws CSV")
    p.add_argument("--family", choices=["gaussian", "bernoulli", "binomial", "poisson"],
                   default=None, help="response family with brms's default link (default "
                   "gaussian; binomial for a 'successes | trials(n)' or cbind response); read "
                   "the draws back with read_draws(..., family=...)")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1000, help="warm-up iterations per chain")
    p.add_argument("--draws", type=int, default=1000, help="kept draws per chain")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=["auto", "pystan", "cmdstan"], default="auto",
                   help="auto: CmdStan when installed, else PyStan")
    p.add_argument("--progress", action="store_true", help="show the sampler's progress")
    p.set_defaults(func=fit_command)
    return p
