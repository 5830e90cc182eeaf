"""A posterior's displays and its brms-named table (``repr``, ``_repr_html_``, ``to_frame``).

A few lines (draws, chains, terms, group, source) and a table of the population-level
parameters, never the raw draw arrays.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["brms_frame", "posterior_html", "posterior_text"]

def brms_frame(post: Any, *, group_level: bool = True) -> pd.DataFrame:
    """The draws of ``post`` as a table with brms's column names (the inverse of
    :func:`replic.io_brms.posterior_from_brms`).

    Parameters
    ----------
    post : Posterior
        Posterior draws.
    group_level : bool
        Include the fitted group-level deviations ``r_<group>[<level>,<term>]``.

    Returns
    -------
    DataFrame
        ``b_<term>``, ``sd_<group>__<term>``, ``cor_<group>__<t1>__<t2>``, ``sigma``,
        ``r_<group>[<level>,<term>]``, ``.chain``, ``.iteration``, ``.draw``.
    """
    g, v = post.group, post.varying
    out: dict[str, np.ndarray] = {f"b_{t}": post.b[:, i] for i, t in enumerate(post.fixed)}
    out |= {f"sd_{g}__{t}": post.sd[:, i] for i, t in enumerate(v)}
    out |= {f"cor_{g}__{v[i]}__{v[j]}": post.cor[:, i, j]
            for j in range(len(v)) for i in range(j)}
    if post.sigma is not None:
        out["sigma"] = post.sigma
    if group_level and post.r is not None:
        out |= {f"r_{g}[{lv},{t}]": post.r[:, j, q]
                for q, t in enumerate(v) for j, lv in enumerate(post.levels)}
    chain = np.asarray(post.chain)
    first = pd.Series(chain).groupby(chain).cumcount().to_numpy() + 1
    out |= {".chain": chain, ".iteration": first, ".draw": np.arange(1, chain.size + 1)}
    return pd.DataFrame(out)


def posterior_text(post: Any) -> str:
    """A few lines: draws, chains, terms, group, source."""
    chains = len(np.unique(post.chain))
    lines = [f"Posterior: {post.n_draws} draws ({chains} chain{'s' * (chains != 1)}) from "
             f"{post.source or 'unknown source'}",
             f"  fixed: {', '.join(post.fixed)}",
             f"  varying by {post.group} ({len(post.levels)} levels): {', '.join(post.varying)}"]
    if not post.family.gaussian:
        lines.append(f"  family: {post.family}")
    if post.formula:
        lines.append(f"  formula: {post.formula}")
    if post.data is not None:
        lines.append(f"  data: {len(post.data)} rows")
    return "\n".join(lines)


def _param_summary(post: Any) -> pd.DataFrame:
    frame = brms_frame(post, group_level=False)
    cols = [c for c in frame.columns if not c.startswith(".")]
    q = frame[cols].quantile([0.025, 0.975])
    return pd.DataFrame({"mean": frame[cols].mean(), "sd": frame[cols].std(),
                         "q2.5": q.loc[0.025], "q97.5": q.loc[0.975]})


def posterior_html(post: Any) -> str:
    """An HTML summary: the text lines and a table of the population-level parameters."""
    lines = posterior_text(post).split("\n")
    table = _param_summary(post).to_html(float_format=lambda v: f"{v:.3g}", border=0)
    return ('<div class="replic-posterior">'
            f"<p><strong>{html.escape(lines[0])}</strong><br>"
            + "<br>".join(html.escape(x.strip()) for x in lines[1:]) + f"</p>{table}</div>")
