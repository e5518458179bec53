"""The validated tables of one report run, kept once for every page (the io layer).

``ccm report`` reads and validates the user's files once, up front.  Every page used to
read and validate them again in its own kernel: ten parses of the same ten million lines.
The runner now writes the validated, typed tables to Parquet in its staging folder
(:func:`write_validated`) and tells the kernels where (the environment variable
:data:`ENV_VAR`); :func:`analysis.report.context.setup` loads them from there
(:func:`read_validated`) when they are the tables of the data folder the page was asked
for, and reads the user's files itself otherwise (a page opened in JupyterLab).

With pyarrow, each table is also kept as an uncompressed Arrow IPC file that a page maps into
memory instead of reading (:func:`_map_kept`): a kernel holds no line until the page touches it,
and pages that only send SQL to an engine never do.  The engines read the Parquet copy.

The copy is the runner's own: it lives in the staging folder, is removed before the
report is put in place, and never replaces or touches an input file.  Each table keeps
its dtypes (recorded in ``manifest.json`` and restored on reading) and the line numbers
of its rows in the user's file, so an error found by a page still names the real line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import mmap
import os
import weakref
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.io import Dataset, write_frame

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
        out = (
            df.assign(**{LINE_COLUMN: np.asarray(lines, dtype="int64")})
            if lines is not None
            else df
        )
        out = out.reset_index(drop=True)
        write_frame(out, folder / f"{name}.parquet")
        tables[name] = {
            "source": str(Path(ds.sources[name]).resolve()),
            "dtypes": {str(c): str(t) for c, t in df.dtypes.items()},
            "rows": len(df),
        }
        if _write_mapped(out, folder / f"{name}{MAPPED_SUFFIX}"):
            tables[name]["mapped"] = f"{name}{MAPPED_SUFFIX}"
    manifest = {
        "data_dir": str(Path(ds.data_dir).resolve()),
        "tables": tables,
        "fingerprint": fingerprint or {},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    return folder


#: the kernels' copy of a table: an uncompressed Arrow IPC file of one record batch, which a
#: page maps into memory instead of reading (:func:`_map_kept`).  The Parquet copy stays: the
#: SQL engines (DuckDB, Spark) read it.
MAPPED_SUFFIX = ".arrow"


def _write_mapped(df: pd.DataFrame, path: Path) -> bool:
    """Write ``df`` as an uncompressed Arrow IPC file of one record batch, so that a reader can
    map it without copying a column (:func:`_map_kept`); False without pyarrow or when Arrow
    cannot hold the frame (then pages read the Parquet copy)."""
    from analysis.engine.aggregate import arrow_available

    if not arrow_available():
        return False
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        table = pa.Table.from_pandas(df, preserve_index=False).combine_chunks()
        with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=max(len(table), 1))
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        path.unlink(missing_ok=True)
        return False
    return True


#: the memory maps of this process's mapped tables (weakly held: a map goes with its frames)
_MAPS: weakref.WeakSet = weakref.WeakSet()


def _map_kept(path: Path) -> tuple[pd.DataFrame, np.ndarray | None]:
    """A kept table and its line numbers over a memory map of its Arrow IPC copy.

    No column is read or copied: the frame's arrays are views of the file (read-only, one
    block per column so that pandas does not consolidate them), and only the parts a page
    touches become resident.  Ten million lines cost a page 2 ms and nothing until used,
    instead of 1-2 s and 0.49 GB in every kernel.  The pages stay shared with the system's
    file cache, and the map goes when the page's frames go.  The map is Python's (read-only,
    shared), so that :func:`release_mapped_pages` can let go of the pages touched so far.
    """
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    _MAPS.add(mm)
    table = ipc.open_file(pa.py_buffer(mm)).read_all()
    lines = None
    if LINE_COLUMN in table.column_names:
        lines = table.column(LINE_COLUMN).to_numpy()
        table = table.drop_columns([LINE_COLUMN])
    return table.to_pandas(split_blocks=True), lines


def release_mapped_pages() -> int:
    """Let go of the file pages this process touched in its mapped tables (:func:`_map_kept`).

    The pages stay in the system's file cache, and a later read of the same lines maps them
    again (about 20 ms per 100 MB); the frames stay valid.  A report kernel calls this after
    every cell (:mod:`analysis.report.kernel`): at ten million lines a page that went over the
    lines once (an engine step's pandas side, a numpy pass) otherwise keeps up to 0.5 GB of
    them resident until the page ends, in each kernel.

    Returns
    -------
    int
        The number of maps released (0 without mapped tables, or where the system has no
        ``madvise``).
    """
    dontneed = getattr(mmap, "MADV_DONTNEED", None)
    if dontneed is None:  # pragma: no cover - not Linux or macOS
        return 0
    released = 0
    for mm in list(_MAPS):
        with contextlib.suppress(ValueError, OSError):  # closed meanwhile
            mm.madvise(dontneed)
            released += 1
    return released


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
    if all("mapped" in info for info in manifest.get("tables", {}).values()):
        return _read_dataset(folder, manifest, data_dir)  # a map costs nothing: no cache
    stamp = _stamp(folder, manifest)
    kept = _LAST_READ.get("entry")
    if kept is not None and stamp is not None and kept[0] == stamp:
        return _fresh_view(kept[1], folder)
    ds = _read_dataset(folder, manifest, data_dir)
    _LAST_READ.clear()
    if ds is not None and stamp is not None:
        _LAST_READ["entry"] = (stamp, ds)
        return _fresh_view(ds, folder)
    return ds


#: the tables this process read last from Parquet (no mapped copy: without pyarrow), with the
#: stamp of their files: a kernel kept by a report worker runs page after page on the same
#: validated copy, and reading ten million lines again costs a second or two per page.  One
#: entry: a new folder replaces it.  Mapped copies are not kept: mapping again costs nothing,
#: and the map (with what the page touched) goes with the page.
_LAST_READ: dict = {}


def _stamp(folder: Path, manifest: dict) -> tuple | None:
    """The folder's files as they are now (path, inode, size, modification time), or None."""
    try:
        names = [MANIFEST, *(f"{name}.parquet" for name in manifest["tables"])]
        stats = [(n, (folder / n).stat()) for n in names]
    except (OSError, KeyError, TypeError):
        return None
    return (str(folder.resolve()), *((n, s.st_ino, s.st_size, s.st_mtime_ns) for n, s in stats))


def _fresh_view(ds: Dataset, folder: Path) -> Dataset:
    """A Dataset of its own over the same tables: shallow copies (copy-on-write, so a page that
    changes its tables changes only its own), read-only line numbers."""
    out = Dataset(data_dir=ds.data_dir, sources=dict(ds.sources))
    for name, df in ds.tables.items():
        out.tables[name] = df.copy(deep=False)
        _remember(out.tables[name], f"{folder.resolve()}:{name}")
    for name, lines in ds.lines.items():
        view = lines.view()
        view.flags.writeable = False
        out.lines[name] = view
    return out


def _read_dataset(folder: Path, manifest: dict, data_dir) -> Dataset | None:
    ds = Dataset(data_dir=Path(data_dir))
    for name, info in manifest["tables"].items():
        try:
            if "mapped" in info:
                df, lines = _map_kept(folder / info["mapped"])
            else:
                df, lines = _read_kept(folder / f"{name}.parquet")
        except (OSError, ValueError):  # a damaged copy: the page reads the user's files
            return None
        if len(df) != info["rows"]:
            return None
        if lines is not None:
            ds.lines[name] = lines
        dtypes = info["dtypes"]
        if list(df.columns) != list(dtypes):
            return None
        ds.tables[name] = _restore(df, dtypes)
        ds.sources[name] = Path(info["source"])
        _remember(ds.tables[name], f"{folder.resolve()}:{name}")
    return ds


#: frames read by read_validated in this process: id -> (weak reference, identity).  Such a
#: frame is the run's validated table itself, so a shared result's key names it instead of
#: hashing its every line (seconds at ten million lines); helpers never modify their inputs.
_VALIDATED: dict[int, tuple] = {}


def _remember(df: pd.DataFrame, identity: str) -> None:
    import weakref

    for key in [k for k, (ref, _) in _VALIDATED.items() if ref() is None]:
        del _VALIDATED[key]  # frames gone (a reused id must not inherit an identity)
    _VALIDATED[id(df)] = (weakref.ref(df), identity)


def validated_identity(df) -> str | None:
    """``"<folder>:<table>"`` when ``df`` is a table :func:`read_validated` read in this process
    (the file is ``<folder>/<table>.parquet``), else None.

    Parameters
    ----------
    df : object
        Usually a DataFrame.

    Returns
    -------
    str or None
    """
    entry = _VALIDATED.get(id(df))
    return entry[1] if entry is not None and entry[0]() is df else None


def _read_kept(path: Path) -> tuple[pd.DataFrame, np.ndarray | None]:
    """A kept table and its line numbers.  With pyarrow the two are read apart and the Arrow
    buffers are released while the frame is built (a 100M-line table would otherwise exist
    twice: as Arrow and as pandas, then once more without its line column)."""
    from analysis.engine.aggregate import arrow_available, read_parquet_frame

    if not arrow_available():
        df = read_parquet_frame(path)
        if LINE_COLUMN not in df.columns:
            return df, None
        return df.drop(columns=LINE_COLUMN), df[LINE_COLUMN].to_numpy(dtype="int64")
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    columns = [c for c in names if c != LINE_COLUMN]
    lean = {"self_destruct": True, "split_blocks": True}
    df = pd.read_parquet(path, columns=columns, to_pandas_kwargs=lean)
    if LINE_COLUMN not in names:
        return df, None
    lines = np.array(pq.read_table(path, columns=[LINE_COLUMN]).column(0), dtype="int64")
    # Arrow's allocator keeps the conversion's freed buffers for reuse: ~150 MB per ten
    # million lines in every kernel of the run unless handed back
    pa.default_memory_pool().release_unused()
    return df, lines


def _restore(df: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """``df`` with the recorded dtypes (a DuckDB round trip returns plain ones)."""
    wrong = {c: t for c, t in dtypes.items() if str(df[c].dtype) != t}
    return df.astype(wrong) if wrong else df


# ---------------------------------------------------------------- results shared by the pages
#: sub-folder of the validated-data folder holding results computed once per run
SHARED_DIR = "shared"


def _token(value, h) -> None:
    """Feed ``value`` into the hash ``h``; TypeError for a value without a stable identity."""
    if isinstance(value, pd.DataFrame) and validated_identity(value):
        h.update(f"validated:{validated_identity(value)}".encode())
    elif isinstance(value, pd.DataFrame):
        h.update(repr((list(map(str, value.columns)), list(map(str, value.dtypes)))).encode())
        h.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, pd.Series):
        h.update(repr((str(value.name), str(value.dtype))).encode())
        h.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, dict):
        h.update(b"{")
        for k in sorted(value, key=repr):
            _token(k, h)
            _token(value[k], h)
        h.update(b"}")
    elif isinstance(value, list | tuple):
        h.update(b"[")
        for v in value:
            _token(v, h)
        h.update(b"]")
    elif value is None or isinstance(value, str | int | float | bool | pd.Timestamp | np.generic):
        h.update(repr((type(value).__name__, value)).encode())
    elif dataclasses.is_dataclass(value) and value.__dataclass_params__.frozen:
        h.update(repr((type(value).__qualname__, value)).encode())  # e.g. a Quarter
    else:
        raise TypeError(f"no stable key for {type(value).__name__}")


def shared_key(name: str, fn, args: tuple, kwargs: dict) -> str | None:
    """A key for ``fn(*args, **kwargs)``: its arguments bound to its signature (defaults
    filled in, so ``f(x)`` and ``f(x, n=<default>)`` share one), hashed with their data.

    Parameters
    ----------
    name : str
        The function's name.
    fn : callable
        The function.
    args, kwargs
        The call's arguments.

    Returns
    -------
    str or None
        A hex digest; None when an argument has no stable identity (nothing is shared).
    """
    import hashlib
    import inspect

    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    h = hashlib.sha256(name.encode())
    try:
        _token(dict(bound.arguments), h)
    except TypeError:
        return None
    return h.hexdigest()[:32]


def shared_result(fn=None, *, validated_only: bool = False):
    """Decorator: during a report run, compute ``fn``'s result once for all pages.

    The first page that calls ``fn`` with given arguments computes it and keeps it (a
    pickle in the run's validated-data folder, written by this run, read only by this
    run's kernels and removed with that folder); a later call with the same arguments
    (the same data included) loads it.  Outside a report run (JupyterLab, tests) it is
    ``fn`` itself.  Used for what several pages need: the customer summary of a window,
    the customer base, the value forecast, the churn backtest.

    Parameters
    ----------
    fn : callable
        A pure function.
    validated_only : bool
        Share only calls whose frames are the run's validated tables themselves (a slice
        or another frame is computed, not hashed: for a function cheaper than hashing its
        input, such as one SQL aggregation).

    Returns
    -------
    callable
    """
    if fn is None:
        return lambda f: shared_result(f, validated_only=validated_only)
    import functools
    import pickle

    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        folder = os.environ.get(ENV_VAR)
        if not folder or not Path(folder, MANIFEST).exists():
            return fn(*args, **kwargs)
        if validated_only and any(
            isinstance(v, pd.DataFrame | pd.Series) and not validated_identity(v)
            for v in (*args, *kwargs.values())
        ):
            return fn(*args, **kwargs)
        key = shared_key(name, fn, args, kwargs)
        if key is None:
            return fn(*args, **kwargs)
        path = Path(folder, SHARED_DIR, f"{fn.__name__}-{key}.pkl")
        kept = _load_kept(path)
        if kept is not None:
            return kept[0]
        path.parent.mkdir(exist_ok=True)
        with _computing(path):  # a page asking while another computes it waits for it
            kept = _load_kept(path)
            if kept is not None:
                return kept[0]
            result = fn(*args, **kwargs)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, path)  # whole or absent: a page never reads half a file
        return result

    return wrapper


def _load_kept(path: Path) -> tuple | None:
    """``(result,)`` from a kept result file, or None when there is none (or it is torn)."""
    import pickle

    if not path.exists():
        return None
    try:
        return (pickle.loads(path.read_bytes()),)
    except Exception:  # a torn or stale file: compute again
        return None


@contextlib.contextmanager
def _computing(path: Path):
    """Hold an exclusive lock on ``.<name>.lock`` beside ``path`` while a result is computed.

    Two pages of a run often ask for the same result at the same time (pages 04 and 09
    for the churn backtest): the second waits for the first instead of computing it
    again.  The lock is the operating system's (``flock``): a kernel that dies releases
    it, so a crashed page never blocks the others.  Nested results (the customer base
    asks for customer summaries) take their locks in call order, so two pages cannot
    wait on each other.  Without ``fcntl`` (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - POSIX only
        yield
        return
    with open(path.parent / f".{path.name}.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
