"""Parquet tables read in bounded memory: one row group at a time.

Below the science layer, so summaries over a stored replicate file (diagnosands, custom
criteria) and the results I/O that writes it share one reader.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

__all__ = ["iter_replicates"]


def iter_replicates(path: str | Path, *, columns: Sequence[str] | None = None,
                    batch_rows: int = 1 << 16) -> Iterator[pd.DataFrame]:
    """A replicate parquet file in batches of at most ``batch_rows`` rows (only ``columns``,
    those present, when given), in file order.

    Row groups are read one at a time: memory stays that of one row group however long the
    file (``ParquetFile.iter_batches`` with its default pre-buffering grew to 750 MB over a
    10^7-row file; one row group at a time stays at the size of one).
    """
    with pq.ParquetFile(path) as f:
        cols = None if columns is None else [c for c in columns
                                             if c in set(f.schema_arrow.names)]
        for i in range(f.num_row_groups):
            for batch in f.read_row_group(i, columns=cols).to_batches(max_chunksize=batch_rows):
                yield batch.to_pandas()
