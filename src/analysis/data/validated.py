"""The validated tables of one report run, kept once for every page (the io layer).

``ccm report`` reads and validates the user's files once, up front.  Every page used to
read and validate them again in its own kernel: ten parses of the same ten million lines.
The runner now writes the validated, typed tables to Parquet in its staging folder
(:func:`write_validated`) and tells the kernels where (the environment variable
:data:`ENV_VAR`); :func:`analysis.report.context.setup` loads them from there
(:func:`read_validated`) when they are the tables of the data folder the page was asked
for, and reads the user's files itself otherwise (a page opened in JupyterLab).

The copy is the runner's own: it lives in the staging folder, is removed before the
report is put in place, and never replaces or touches an input file.  Each table keeps
its dtypes (recorded in ``manifest.json`` and restored on reading) and the line numbers
of its rows in the user's file, so an error found by a page still names the real line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.io import Dataset, _write_parquet
from analysis.engine.aggregate import read_parquet_frame

ENV_VAR = "CCM_VALIDATED_DATA"
MANIFEST = "manifest.json"
LINE_COLUMN = "__ccm_line__"


def write_validated(ds: Dataset, folder: str | Path, *, fingerprint: dict | None = None) -> Path:
    """Write every table of ``ds`` to ``folder`` as Parquet, with a manifest.

    Parameters
    ----------
    ds : Dataset
        The loaded and validated data.
    folder : str or Path
        A new folder (created; the runner's staging folder holds it).
    fingerprint : dict, optional
        The data's fingerprint (files, sizes, hashes), kept in the manifest.

    Returns
    -------
    Path
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=False)
    tables = {}
    for name, df in ds.tables.items():
        lines = ds.lines.get(name)
        out = df.assign(**{LINE_COLUMN: np.asarray(lines, dtype="int64")}) if lines is not None else df
        _write_parquet(out.reset_index(drop=True), folder / f"{name}.parquet")
        tables[name] = {
            "source": str(Path(ds.sources[name]).resolve()),
            "dtypes": {str(c): str(t) for c, t in df.dtypes.items()},
            "rows": len(df),
        }
    manifest = {
        "data_dir": str(Path(ds.data_dir).resolve()),
        "tables": tables,
        "fingerprint": fingerprint or {},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    return folder


def read_validated(folder: str | Path, data_dir: str | Path) -> Dataset | None:
    """The tables :func:`write_validated` kept, if they are those of ``data_dir``; else None.

    None also when the folder or its manifest is missing or unreadable: the caller then
    reads the user's files itself.

    Parameters
    ----------
    folder : str or Path
        The folder written by :func:`write_validated`.
    data_dir : str or Path
        The data folder the page was asked for.

    Returns
    -------
    Dataset or None
        The tables with their dtypes, sources and line numbers.
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("data_dir") != str(Path(data_dir).resolve()):
        return None
    ds = Dataset(data_dir=Path(data_dir))
    for name, info in manifest["tables"].items():
        df = read_parquet_frame(folder / f"{name}.parquet")
        if len(df) != info["rows"]:
            return None
        if LINE_COLUMN in df.columns:
            ds.lines[name] = df[LINE_COLUMN].to_numpy(dtype="int64")
            df = df.drop(columns=LINE_COLUMN)
        dtypes = info["dtypes"]
        if list(df.columns) != list(dtypes):
            return None
        ds.tables[name] = _restore(df, dtypes)
        ds.sources[name] = Path(info["source"])
    return ds


def _restore(df: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """``df`` with the recorded dtypes (a DuckDB round trip returns plain ones)."""
    wrong = {c: t for c, t in dtypes.items() if str(df[c].dtype) != t}
    return df.astype(wrong) if wrong else df
