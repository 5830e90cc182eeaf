"""The execution path of a study: backends, chunk storage, resume, progress.

- :mod:`~replic.runner.tasks`: tasks (chunks of replicates; what one computes is
  :func:`replic.chunk.analyse_chunk`);
- :mod:`~replic.runner.backends`: this process, joblib/loky workers or a dask cluster;
- :mod:`~replic.runner.store`, :mod:`~replic.runner.manifest`: chunk files and the run
  manifest under the study's output directory (checkpointing and resume);
- :mod:`~replic.runner.progress`: the tqdm bar on stderr;
- :mod:`~replic.runner.engine`: puts them together for :func:`replic.study.run_study`;
- :mod:`~replic.runner.options`: the command line's execution flags.
"""

from __future__ import annotations

from replic.runner.backends import Backend, resolve_backend
from replic.runner.engine import Execution, execute
from replic.runner.manifest import fingerprint, read_manifest
from replic.runner.options import execution_options

__all__ = ["Backend", "Execution", "execute", "execution_options", "fingerprint",
           "read_manifest", "resolve_backend"]
