"""The HTML report of a replication study.

``render_report(results_dir)`` returns one self-contained HTML5 document built from a results
directory (see :mod:`replic.results_io`); ``write_report(results_dir)`` (re)writes
``results_dir/report.html``.  The package only reads saved results: it computes nothing that
the study did not already save, beyond summaries of the saved draws for the figures.

Modules: :mod:`~replic.report.data` (numbers behind figures and tables),
:mod:`~replic.report.figures` and :mod:`~replic.report.curves` (seaborn/matplotlib figures,
each returning the data it plotted), :mod:`~replic.report.tables`, :mod:`~replic.report.text`
(plain-language wording) and :mod:`~replic.report.render` (jinja2).
"""

from replic.report.figures import Figure
from replic.report.render import build_context, render_html, render_report, write_report

__all__ = ["Figure", "build_context", "render_html", "render_report", "write_report"]
