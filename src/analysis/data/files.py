"""Plain files of the io layer: text, bytes, JSON and notebooks (no pandas).

The report's page workers (:mod:`analysis.report.runner`) write pages, notebooks and summaries
through these and nothing else of :mod:`analysis.data.io`; kept apart so that a worker process
does not import pandas and pyarrow (about 0.1 GB each at every run).  :mod:`analysis.data.io`
re-exports them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def write_text(text: str, path: str | Path) -> Path:
    """Write UTF-8 text with Unix line ends (HTML pages, generated notebooks and docs).

    Parameters
    ----------
    text : str
        The text.
    path : str or Path
        The file.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def write_bytes(data: bytes, path: str | Path) -> Path:
    """Write bytes to ``path`` (its folder created).

    Parameters
    ----------
    data : bytes
        The bytes.
    path : str or Path
        The file.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def remove_file(path: str | Path) -> bool:
    """Remove a file this project wrote earlier (e.g. a staff table's Excel copy no longer made).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    bool
        Whether there was a file to remove.
    """
    path = Path(path)
    if not path.is_file():
        return False
    path.unlink()
    return True


def read_text(path: str | Path) -> str:
    """A UTF-8 text file's text.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    str
    """
    return Path(path).read_text(encoding="utf-8")


def read_notebook(path: str | Path):
    """A notebook file (nbformat 4).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    nbformat.NotebookNode
    """
    import nbformat

    return nbformat.read(str(path), as_version=4)


def write_json(obj, path: str | Path) -> Path:
    """Write ``obj`` as indented UTF-8 JSON (non-ASCII kept).

    Parameters
    ----------
    obj : object
        JSON-serialisable data.
    path : str or Path
        The file.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8"
    )
    return path


def read_json(path: str | Path):
    """A JSON file's data.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    object
    """
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _json_default(v):
    if hasattr(v, "item"):
        return v.item()
    pd = sys.modules.get("pandas")  # only pandas' own values come here without it loaded
    if pd is not None and isinstance(v, pd.Timestamp):
        return v.isoformat()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
