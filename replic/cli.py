"""The ``replic`` command line.

``replic effects DRAWS.csv --term Days [--k 5 ...] [--at Sex=Female ...] [--family bernoulli]
[--scale response]``
    the effect of the term for every estimand;
``replic run [STUDY.toml] [--reps N] [--seed S] [--jobs N] [--out DIR] [--resume]
[--exclude-unconverged] ...``
    run a study (default: the bundled sleepstudy study), write DIR/summary.csv,
    DIR/replicates.parquet and DIR/report.html (DIR defaults to ``reports/<study name>/``);
``replic plan [STUDY.toml] --target 0.9 [--criterion ID] [--cost-subject C --cost-observation C]``
    the smallest k (or the cheapest design) reaching the target, by a sequential search;
``replic report RESULTS_DIR [--out FILE]``
    re-render the report of a saved study without rerunning it;
``replic fit DATA.csv FORMULA --out draws.csv``
    fit the model with Stan (when the Stan engine is installed).

Bad input prints one line ``replic: error: ...`` and exits with status 2.  Ctrl-C prints one
line ``replic: interrupted`` (for ``run``: with how to resume) and exits with status 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from replic.criteria import CRITERIA
from replic.errors import FlaggedReplicatesWarning, ReplicFitError, ReplicInputError
from replic.flagged import flagged_lines
from replic.formula_grammar import check_name

__all__ = ["main"]

_EXTENSIONS = ("replic.stan.cli", "replic.plan.cli")


def _effects(args: argparse.Namespace) -> int:
    from replic.effects import effect_draws, summarise_draws, varies_by_subject
    from replic.read import read_draws

    post = read_draws(args.draws, family=args.family)
    at = _at(args.at or [])
    table = summarise_draws(effect_draws(post, args.term, k=args.k or None, seed=args.seed,
                                         at=at, scale=args.scale), by_level=args.by_level)
    where = f" at {', '.join(f'{k}={v}' for k, v in at.items())}" if at else ""
    with pd.option_context("display.width", 120, "display.max_columns", 20,
                           "display.float_format", "{:.3f}".format):
        scale = "" if post.family.gaussian else (
            f", {post.family}, {args.scale} scale")
        print(f"Effect of {args.term}{where} ({post.n_draws} draws from {post.source}{scale})")
        if not varies_by_subject(post, args.term, at):
            print(f"{args.term} does not vary by subject ({post.group}): every estimand (average, "
                  "fitted, new subjects, replication means) equals the conditional effect")
            table = table[table["estimand"] == "conditional"]
        print(table.to_string(index=False))
    return 0


def _at(items: Sequence[str]) -> dict[str, object]:
    """``--at Sex=Female --at age=10``: numbers where they parse, text otherwise."""
    out: dict[str, object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ReplicInputError(f"--at {item!r}; expected VARIABLE=VALUE, e.g. Sex=Female")
        check_name(name.strip(), where="--at variable")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            out[name.strip()] = value.strip()
    return out


def _run(args: argparse.Namespace) -> int:
    """``replic run``: the study file and the flags become one :func:`replic.run_study` call
    (which checks everything before anything is written), then the results are written."""
    from replic.outdir import check_out_dir, locked_out_dir
    from replic.runner.options import check_scheduler, execution_options
    from replic.study import run_study
    from replic.studyfile import BUILTIN_STUDY, load_study

    spec = load_study(args.study or BUILTIN_STUDY)
    analyses = list(args.analysis or spec.analysis)
    out = check_out_dir(Path(args.out) if args.out else Path("reports") / spec.name,
                        where="--out")
    execution = execution_options(jobs=args.jobs, scheduler=args.scheduler, cluster=args.cluster,
                                  resume=args.resume, quiet=args.quiet, out=out,
                                  keep_chunks=args.keep_chunks)
    check_scheduler(execution)
    post = spec.posterior()
    with locked_out_dir(out, where="--out"):  # one run at a time writes into out/
        with warnings.catch_warnings():  # counted in the Warning: lines of the headline
            warnings.simplefilter("ignore", FlaggedReplicatesWarning)
            result = run_study(
                post, list(spec.designs), term=spec.term, analysis=analyses,
                options=spec.options_for(analyses),
                reps=args.reps if args.reps is not None else spec.reps,
                seed=args.seed if args.seed is not None else spec.seed,
                target=args.target if args.target is not None else spec.target,
                exclude_unconverged=args.exclude_unconverged or spec.exclude_unconverged,
                **execution)
        result.info.update(study=spec.source, criterion=args.criterion, name=spec.name,
                           units=spec.units)
        if not args.quiet:
            print(f"replic: writing the tables and the report to {out}/ ...", file=sys.stderr,
                  flush=True)
        result.write(out)
        from replic.plan.io import read_plan

        if read_plan(out) is not None:  # a plan saved here by 'replic plan' keeps its section
            from replic.report import write_report

            write_report(out)
    _print_headline(result)
    print(f"wrote {out}/summary.csv, {out}/replicates.parquet, {out}/report.html")
    return 0


def _integer(low: int):
    """An argparse type: an integer from ``low`` to 2^63 - 1 (``--reps``, ``--seed``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if not low <= value < 2**63:
            raise argparse.ArgumentTypeError(f"{value}: expected an integer from {low} to "
                                             "2^63 - 1")
        return value

    return parse


def _print_headline(result) -> None:
    o, info = result.original, result.info
    print(f"Original effect of {info['term']}: {o.estimate:.2f} (sd {o.se:.2f}, "
          f"95% [{o.lower:.2f}, {o.upper:.2f}])")
    s = result.summary
    crit = info.get("criterion", "sig_same_direction")
    head = s[s["criterion"] == crit]
    several = head["analysis"].nunique() > 1
    cols = [*(["analysis"] if several else []), "design", "probability", "mcse", "lower",
            "upper", "n", "n_failed", *(["n_unconverged"] if head["n_unconverged"].any()
                                        else [])]
    with pd.option_context("display.width", 120, "display.float_format", "{:.3f}".format):
        what = ("replication significant in the original's direction"
                if crit == "sig_same_direction" else crit)
        print(f"P({what}), {info['analysis']}, {info['reps']} replicates per design:")
        print(head[cols].to_string(index=False))
    for line in flagged_lines(head, int(info.get("reps", 0))):
        print(line)
    from replic.report.data import family_words

    kn = result.k_needed[result.k_needed["criterion"] == crit]
    families = "family" in kn and kn["family"].nunique(dropna=False) > 1
    params_vary = "params" in kn and kn["params"].nunique(dropna=False) > 1
    for _, row in kn.iterrows():
        k = row["answer"] if "answer" in row else (
            "not reached" if pd.isna(row["k"]) else f"k = {int(row['k'])}")
        parts = ([str(row["analysis"])] if several else []) + (
            [family_words(str(row["family"]), params_vary)] if families else [])
        who = f" ({', '.join(parts)})" if parts else ""
        print(f"Smallest k reaching {row['target']:.0%}{who}: {k} (grid up to {int(row['k_max'])})")


def _report(args: argparse.Namespace) -> int:
    import json

    import pyarrow as pa

    from replic.outdir import is_replic_dir
    from replic.report import write_report

    d = Path(args.results)
    if not d.is_dir() or not is_replic_dir(d):
        raise ReplicInputError(f"{d}: not a replic results directory (expected the directory "
                               "'replic run' wrote, with study.json and summary.csv)")
    try:
        path = write_report(d, out=args.out)
    except ReplicInputError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError,
            json.JSONDecodeError, pa.ArrowException) as exc:  # damaged or hand-edited
        detail = " ".join(str(exc).split())[:200]
        raise ReplicInputError(f"{d}: damaged results directory, cannot re-render the report "
                               f"({type(exc).__name__}: {detail}); rerun 'replic run'") from None
    print(f"wrote {path}")
    return 0


def _version() -> str:
    from replic import __version__

    return __version__


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line ``replic: error: ...`` (exit status 2)."""

    def error(self, message: str):  # type: ignore[override]
        print(f"replic: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="replic", description="Replication and power analysis "
                "for multilevel models, from a fitted posterior.")
    p.add_argument("--version", action="version", version=f"replic {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    e = sub.add_parser("effects", help="the effect of a term for every estimand")
    e.add_argument("draws", help="brms draws CSV (posterior::as_draws_df + write.csv) "
                   "or CmdStan CSV")
    e.add_argument("--term", required=True, help="the term, e.g. Days")
    e.add_argument("--k", type=int, action="append", help="k for the replication mean "
                   "(repeatable; default: the number of fitted subjects)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--at", action="append", metavar="VAR=VALUE",
                   help="the effect at this value of a variable the term interacts with "
                   "(repeatable), e.g. --at Sex=Female")
    e.add_argument("--by-level", action="store_true", help="one row per fitted subject")
    e.add_argument("--family", help="the model's family for draws without sigma: bernoulli, "
                   "binomial or poisson (optionally with its link: 'bernoulli(probit)')")
    e.add_argument("--scale", choices=("link", "response"), default="link",
                   help="link: change of the linear predictor; response: change of the "
                   "expected response (probability, count) from the term's 0 to 1 (a factor "
                   "level: from the reference level), with population_averaged")
    e.set_defaults(func=_effects)

    r = sub.add_parser("run", help="run a replication study")
    r.add_argument("study", nargs="?", help="study TOML file (default: the bundled sleepstudy)")
    r.add_argument("--reps", type=_integer(1), help="replicates per design (overrides the "
                   "study)")
    r.add_argument("--seed", type=_integer(0), help="root seed (overrides the study)")
    r.add_argument("--jobs", type=int, help="parallel workers (default: all cores)")
    r.add_argument("--scheduler", metavar="ADDR", help="run on a dask cluster: the address of "
                   "its scheduler, e.g. tcp://host:8786")
    r.add_argument("--cluster", choices=["local"], help="start a dask LocalCluster for the run")
    r.add_argument("--resume", action="store_true", help="continue the interrupted study in "
                   "the results directory, skipping finished chunks")
    r.add_argument("--exclude-unconverged", action="store_true", help="leave fits that did "
                   "not converge (or were flagged) out of every criterion; they are counted "
                   "in n_unconverged either way (also: exclude_unconverged = true in the study)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--keep-chunks", action="store_true", help="keep DIR/chunks/ (one file per "
                   "finished chunk) beside DIR/replicates.parquet; by default they are removed "
                   "once merged")
    r.add_argument("--analysis", choices=["summary", "reml", "stan", "bayes-fast", "glmm"],
                   action="append", help="analysis (overrides the study; repeat to compare)")
    r.add_argument("--out", help="results directory (default: reports/<study name>/)")
    r.add_argument("--target", type=float, help="target probability for the smallest k "
                   "(overrides the study)")
    r.add_argument("--criterion", default="sig_same_direction", choices=list(CRITERIA),
                   help="criterion of the headline and the k printed (default: significant "
                   "in the original's direction)")
    r.set_defaults(func=_run)

    rep = sub.add_parser("report", help="re-render the report of a saved study")
    rep.add_argument("results", help="results directory written by 'replic run'")
    rep.add_argument("--out", metavar="FILE", help="write the report here (default: "
                     "RESULTS/report.html); an existing file is replaced only if replic wrote it")
    rep.set_defaults(func=_report)

    for name in _EXTENSIONS:
        try:
            importlib.import_module(name).register(sub)
        except ModuleNotFoundError:
            continue
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``replic`` command; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except BrokenPipeError:  # `replic run --help | head`
        return _quiet_exit()
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that went away shows here, not at the interpreter's exit
        return status
    except BrokenPipeError as exc:
        if _stdout_closed():  # `replic run ... | head`: stop quietly, as Unix tools do
            return _quiet_exit()
        print(f"replic: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (ReplicInputError, ReplicFitError) as exc:
        print(f"replic: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or directory replic cannot read or write
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"replic: error: {where}{exc.strerror or _one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = "; rerun the same command with --resume to continue" if args.command == "run" \
            else ""
        print(f"replic: interrupted{hint}", file=sys.stderr)
        return 130


def _stdout_closed() -> bool:
    """True when stdout is a pipe (or socket) whose reader has gone away."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in poll.poll(0))
    except (OSError, ValueError, AttributeError):  # no poll here, or stdout has no descriptor
        return False


def _quiet_exit() -> int:
    """Point stdout at /dev/null (so Python's final flush cannot fail again) and return the
    status of a process stopped by SIGPIPE (128 + 13), as ``yes | head`` reports."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return 141


def _one_line(exc: BaseException) -> str:
    """The message on one line, without terminal colour codes (formulaic's parse errors carry
    both)."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(exc))
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
