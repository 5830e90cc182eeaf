"""The import graph reads top to bottom (replic/DESIGN.md, "Layers"): every module imports only
its own layer or layers below it — function-level imports included — modules import no cycle,
and the numerical core never imports I/O, the runner, the report or the CLI.

The graph comes from the ``import`` statements of the source (ast), so a test cannot miss an
import that happens only on some code path.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "replic"

#: Bottom to top.  A unit is a top-level module (``replic.simulate``) or subpackage
#: (``replic.lmm``).  A new module is placed here, in the layer of what it is.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = tuple((name, frozenset(units)) for name, units in (
    ("base", {"errors", "versions", "streams", "formula_grammar", "outdir", "parquet_io",
              "family"}),
    ("model", {"spec", "priors", "design", "posterior", "posterior_view", "io_brms",
               "io_cmdstan", "io_arviz", "read", "terms"}),
    ("kernel", {"kernel"}),
    ("kernels", {"lmm", "glmm", "bayes_fast", "stan"}),
    ("science", {"effects", "simulate", "criteria", "summarise", "newsubjects", "observations",
                 "response_effects", "questions",
                 "custom_criteria", "diagnosands", "fitcheck", "chunk", "flagged"}),
    ("analyses", {"analyses"}),
    ("runner", {"runner"}),
    ("results", {"results_io"}),
    ("report", {"report", "display"}),
    ("study", {"study", "study_result", "study_designs", "combine"}),
    ("shell", {"studyfile", "plan", "saved", "cli", "__main__", "__init__"}),
))
#: The numerical core: numpy/scipy/pandas computations that never reach for files, schedulers,
#: reports or the command line.
CORE = {"family", "spec", "priors", "posterior", "kernel", "lmm", "glmm", "bayes_fast",
        "effects", "response_effects", "questions", "simulate", "criteria", "summarise", "chunk"}
NEVER = {"read", "io_brms", "io_cmdstan", "results_io", "runner", "report", "study", "cli",
         "combine", "studyfile", "plan"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                mod = ".".join([*base, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            # ``from pkg import mod`` depends on the module only (a submodule importing its own
            # package's sibling is no cycle); ``from mod import name`` on the module
            for a in node.names:
                out.add(f"{mod}.{a.name}" if _is_module(f"{mod}.{a.name}") else mod)
    return {m for m in out if m == "replic" or m.startswith("replic.")}


def _is_module(dotted: str) -> bool:
    path = ROOT.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


GRAPH = {_module_name(p): _imports(p, _module_name(p)) for p in sorted(ROOT.rglob("*.py"))}
MODULES = set(GRAPH)
LEVEL = {unit: i for i, (_, units) in enumerate(LAYERS) for unit in units}


def test_every_unit_has_a_layer():
    missing = sorted({_unit(m) for m in MODULES} - set(LEVEL))
    assert not missing, (f"module(s) {missing} have no layer: add each to LAYERS in "
                         "tests/test_layers.py and to the table in replic/DESIGN.md")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_nothing_above_its_layer(module):
    here = LEVEL.get(_unit(module))
    if here is None:
        pytest.skip("no layer (reported by test_every_unit_has_a_layer)")
    above = sorted(m for m in GRAPH[module] if m in MODULES and LEVEL.get(_unit(m), -1) > here)
    assert not above, (f"{module} (layer {LAYERS[here][0]!r}) imports {above}, which sit above "
                       "it")


@pytest.mark.parametrize("unit", sorted(CORE))
def test_core_never_imports_io_runner_report_or_cli(unit):
    bad = sorted({(m, d) for m in MODULES if _unit(m) == unit for d in GRAPH[m]
                  if d in MODULES and _unit(d) in NEVER})
    assert not bad


def test_no_import_cycles():
    edges = {m: {d for d in GRAPH[m] if d in MODULES and d != m} for m in MODULES}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(edges[m]):
            if state.get(d) == 1:
                return [*stack[stack.index(d):], d]
            if d not in state and (cycle := visit(d)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(MODULES):
        if m not in state:
            cycle = visit(m)
            assert cycle is None, " -> ".join(cycle)


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    f = tmp_path / "mod.py"
    f.write_text("def f():\n    from replic.report import render_report\n"
                 "from . import batch, fit_lmm\nimport replic.spec.names\n")
    assert _imports(f, "replic.lmm.mod") == {"replic.report", "replic.lmm.batch", "replic.lmm",
                                             "replic.spec.names"}
