"""Transactions to one row per customer as of a date: the shared hot path.

Composition, churn and credit all start from :func:`customer_summary`, so the
definitions of recency, frequency and monetary value live here once.

Three engines give the same table (``tests/test_aggregate.py`` holds them equal):

- ``"duckdb"``: the fast path.  The aggregation is the SQL text in
  ``analysis/sql/customer_summary.sql`` (and ``abc_class.sql``), run by DuckDB on a
  DataFrame or straight on Parquet files, so 10M+ rows never enter pandas.
- ``"spark"``: the same SQL text on Apache Spark (:mod:`analysis.engine.spark`, optional
  extra ``pyspark``).
- ``"pandas"``: the reference implementation, written plainly in pandas.

``"auto"`` (the default) takes DuckDB for Parquet input and for frames of
:data:`AUTO_MIN_ROWS` (500,000) lines or more, and pandas below that, where starting
the engine costs more than it saves.  pandas stays the interface: DataFrames in and
out.  DuckDB reads a Parquet path itself (read-only), the one place outside
``analysis.data.io`` that opens data files, so that large data never pass through pandas.
"""

from __future__ import annotations

import math
import os
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.validation import require_columns

SUMMARY_COLUMNS = [
    "customer_id",
    "first_date",
    "last_date",
    "recency_days",
    "tenure_days",
    "frequency",
    "n_lines",
    "monetary",
    "gross_profit",
    "returns_amount",
    "n_returns",
    "avg_interval_days",
]
ENGINES = ("auto", "pandas", "duckdb", "spark")
#: environment variable naming the engine ``"auto"`` stands for in this process (set by
#: ``ccm report --engine`` for the pages' kernels; an analyst may set it in JupyterLab)
ENGINE_ENV = "CCM_ENGINE"
#: frames at least this long go to DuckDB under ``engine="auto"``: below it the pandas
#: reference is faster on a frame already in memory (measured with the ABC class:
#: pandas 0.04 s vs DuckDB 0.08 s at 50k lines, even at 500k, DuckDB 0.21 s vs pandas
#: 0.29 s at 1M; DuckDB's start and the Arrow hand-over cost ~0.05 s)
AUTO_MIN_ROWS = 500_000
#: DuckDB's buffer limit for the fast path; past it DuckDB spills to a temp folder.
#: Inputs over LARGE_ROWS lines, or a query that does not fit, get 2 GB with a plan
#: that spills better, then half the RAM (see memory_ladder).
DUCKDB_MEMORY_LIMIT = "512MB"
LARGE_ROWS = 20_000_000
#: a cumulative share within this of a cut-off counts as reaching it (as in classification)
ABC_EPS = 1e-12
SQL_DIR = Path(__file__).with_name("sql")
_EPOCH = pd.Timestamp("1970-01-01")

# The only dialect-specific pieces: whole days since 1970-01-01 of a date or
# timestamp column, and identifier quoting.  Everything else is the shared SQL.
# DuckDB floors nanoseconds in integers: its CAST(TIMESTAMP_NS AS DATE) rounds to the
# microsecond first (2025-01-03 23:59:59.9999995 fell on 01-04, where pandas puts it on 01-03);
# Spark's lines are floored to microseconds on the way in (analysis.engine.spark).
_NS_PER_DAY = 86_400_000_000_000
DAY_EXPR = {
    "duckdb": (
        f"CAST((epoch_ns({{date}}) - ((epoch_ns({{date}}) % {_NS_PER_DAY}) + {_NS_PER_DAY})"
        f" % {_NS_PER_DAY}) // {_NS_PER_DAY} AS BIGINT)"
    ),
    "spark": "CAST(datediff(CAST({date} AS DATE), DATE '1970-01-01') AS BIGINT)",
}
_QUOTE = {"duckdb": '"', "spark": "`"}


def _shared(fn):
    from analysis.data.validated import shared_result

    return shared_result(fn, validated_only=True)


# ---------------------------------------------------------------- public API
@_shared  # one SQL pass over the lines per window and run, whichever page asks first
def customer_summary(
    tx,
    *,
    as_of=None,
    start=None,
    date_col: str = "date",
    id_col: str = "customer_id",
    amount_col: str = "amount",
    cost_col: str = "cost",
    abc: tuple[float, float] | None = None,
    engine: str = "auto",
) -> pd.DataFrame:
    """One row per customer from the transactions in ``[start, as_of)``.

    Definitions (days are whole calendar days):

    - ``frequency``: distinct days with a purchase (amount > 0); several lines on
      one day are one purchase, as in the RFM and BG/NBD literature;
    - ``monetary``: net sales, returns included (can be negative);
    - ``recency_days``: ``as_of`` minus the last purchase day (``as_of`` defaults
      to the day after the last transaction);
    - ``tenure_days``: ``as_of`` minus the first purchase day;
    - ``avg_interval_days``: (last - first purchase day) / (frequency - 1), NaN
      for a single purchase;
    - ``gross_profit``: sum of amount - cost (NaN when there is no cost column);
    - ``returns_amount``: the absolute sum of negative lines, ``n_returns`` their count.

    Customers with only returns in the window keep a row; their purchase dates are NaT.

    Parameters
    ----------
    tx : DataFrame, str or Path
        Transaction lines, or the path of a Parquet file, a folder of Parquet files
        or a glob (``"data/tx/*.parquet"``): the large-data path, read by DuckDB
        without loading the lines into pandas.
    as_of, start : date-like, optional
        The half-open window ``[start, as_of)``.
    date_col, id_col, amount_col, cost_col : str
        Column names; a missing ``cost_col`` gives NaN gross profit.
    abc : (float, float), optional
        Cut-offs ``(cutoff_a, cutoff_b)`` of cumulative net-sales share; adds the
        column ``abc_class`` ("A", "B", "C"), see :func:`abc_by_monetary`.
    engine : {"auto", "pandas", "duckdb", "spark"}
        Which engine computes it (same result from each; see the module doc).

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS` (+ ``abc_class``), one row per customer, sorted by id.
    """
    engine = default_engine() if engine == "auto" else engine
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if abc is not None:
        check_cutoffs(*abc)
    is_path = isinstance(tx, (str, os.PathLike))
    if engine == "auto":
        engine = "duckdb" if is_path or len(tx) >= AUTO_MIN_ROWS else "pandas"
    kw = dict(
        as_of=as_of,
        start=start,
        date_col=date_col,
        id_col=id_col,
        amount_col=amount_col,
        cost_col=cost_col,
    )
    if engine == "spark":
        from analysis.engine.spark import customer_summary_spark

        return customer_summary_spark(tx, abc=abc, **kw)
    if engine == "duckdb":
        return _summary_duckdb(tx, abc=abc, **kw)
    if is_path:  # the reference on a path: small data only, it loads every line
        tx = _read_parquet_lines(tx)
    out = _summary_pandas(tx, **kw)
    return out if abc is None else _abc_pandas(out, *abc)


def default_engine() -> str:
    """The engine ``"auto"`` means here: :data:`ENGINE_ENV` when it names one, else ``"auto"``.

    Returns
    -------
    str
        ``"auto"``, ``"pandas"``, ``"duckdb"`` or ``"spark"``.

    Raises
    ------
    ValueError
        When the variable names no engine.
    """
    name = os.environ.get(ENGINE_ENV, "").strip().lower() or "auto"
    if name not in ENGINES:
        raise ValueError(f"{ENGINE_ENV}={name!r}: expected one of {', '.join(ENGINES)}")
    return name


def abc_by_monetary(
    summary: pd.DataFrame,
    cutoff_a: float = 0.75,
    cutoff_b: float = 0.95,
    *,
    value_col: str = "monetary",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """ABC class (ABC分类) by value; the pandas reference of ``sql/abc_class.sql``.

    The rule of :func:`analysis.classify.classes.abc_classes`: customers ranked by
    ``value_col`` descending; a customer is A while the cumulative share of the
    positive values ranked *before* it is below ``cutoff_a`` (1e-12 float noise
    counts as reaching it), B while below ``cutoff_b``, else C; equal values share
    the class of the first of them; a value <= 0 is C.  Unlike ``abc_classes`` the
    rows keep their order and only ``abc_class`` is added.

    Parameters
    ----------
    summary : DataFrame
        One row per customer.
    cutoff_a, cutoff_b : float
        Cumulative shares where classes A and B end.
    value_col : str
        The value ranked.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        A copy of ``summary`` with ``abc_class``.
    """
    check_cutoffs(cutoff_a, cutoff_b)
    return _abc_pandas(summary, cutoff_a, cutoff_b, value_col=value_col, id_col=id_col)


def parquet_files(path) -> str:
    """A Parquet file, folder (all ``*.parquet`` below it) or glob as one glob string.

    Parameters
    ----------
    path : str or Path
        A Parquet file, folder or glob.

    Returns
    -------
    str
        The glob.
    """
    p = Path(path)
    if p.is_dir():
        return str(p / "**" / "*.parquet")
    if not any(ch in str(path) for ch in "*?[") and not p.exists():
        raise FileNotFoundError(f"no Parquet file or folder at {path}")
    return str(path)


def arrow_available() -> bool:
    """Whether pyarrow is installed (the ``scale`` and ``spark`` extras).

    With it, frames pass to and from DuckDB as Arrow tables (faster on millions of lines);
    without it, DuckDB scans the pandas frame and returns one itself: same numbers, and the
    report's environment stays small.

    Returns
    -------
    bool
        True when ``import pyarrow`` would succeed.
    """
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


def fetch_frame(relation) -> pd.DataFrame:
    """A DuckDB relation's rows as a pandas frame, through Arrow when it is installed.

    Parameters
    ----------
    relation : duckdb.DuckDBPyRelation
        A query result.

    Returns
    -------
    DataFrame
        Its rows.
    """
    return relation.to_arrow_table().to_pandas() if arrow_available() else relation.df()


def read_parquet_frame(path) -> pd.DataFrame:
    """One Parquet file (or a folder or glob of them) as a pandas frame; DuckDB reads it
    when pyarrow is not installed.

    Parameters
    ----------
    path : str or Path
        A Parquet file, folder or glob.

    Returns
    -------
    DataFrame
        Every row of every file.
    """
    if arrow_available() and Path(path).is_file():
        return pd.read_parquet(path)
    import duckdb

    pattern = parquet_files(path).replace("'", "''")
    con = duckdb.connect()
    try:
        return fetch_frame(con.sql(f"SELECT * FROM read_parquet('{pattern}')"))
    finally:
        con.close()


def _read_parquet_lines(path) -> pd.DataFrame:
    import glob

    p = Path(path)
    if p.exists() and p.is_file():
        return read_parquet_frame(p)
    files = sorted(glob.glob(parquet_files(path), recursive=True))
    if not files:
        raise FileNotFoundError(f"no Parquet file matches {path}")
    return pd.concat([read_parquet_frame(f) for f in files], ignore_index=True)


# ---------------------------------------------------------------- shared SQL
@cache
def load_sql(name: str) -> str:
    """The text of ``analysis/sql/<name>.sql`` (package source, not user data).

    Parameters
    ----------
    name : str
        The file's stem.

    Returns
    -------
    str
        The SQL text.
    """
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def render_sql(name: str, **values) -> str:
    """Fill the ``{placeholders}`` of a shared SQL file; every one must be given.

    Parameters
    ----------
    name : str
        The file's stem.
    values
        Placeholder values.

    Returns
    -------
    str
        The SQL.
    """
    text = load_sql(name)
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return body.format(**values)


def quote(name: str, dialect: str) -> str:
    """An identifier quoted for ``dialect`` (double quotes for DuckDB, backticks for Spark).

    Parameters
    ----------
    name : str
        The identifier.
    dialect : str
        ``"duckdb"`` or ``"spark"``.

    Returns
    -------
    str
    """
    q = _QUOTE[dialect]
    return q + str(name).replace(q, q + q) + q


def ts_literal(ts: pd.Timestamp) -> str:
    """A timestamp as an SQL literal both DuckDB and Spark read (``TIMESTAMP '...'``, microseconds).

    Parameters
    ----------
    ts : Timestamp
        The time.

    Returns
    -------
    str
    """
    return f"TIMESTAMP '{ts.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _double(x: float) -> str:
    """A float as an exact DOUBLE in both dialects (a bare 0.75 would be DECIMAL)."""
    return f"CAST('{x!r}' AS DOUBLE)"


def _day_number(ts: pd.Timestamp) -> int:
    """Whole days since 1970-01-01 (floor), as the SQL ``{day}`` expression gives them."""
    return math.floor((ts - _EPOCH) / pd.Timedelta(days=1))


def summary_sql(
    dialect: str,
    source: str,
    *,
    columns,
    as_of=None,
    start=None,
    date_col="date",
    id_col="customer_id",
    amount_col="amount",
    cost_col="cost",
    abc=None,
) -> str:
    """The customer-summary query for ``dialect`` ("duckdb" or "spark").

    ``source`` is a relation (table, view or subquery) and ``columns`` the names it
    has (to know whether ``cost_col`` is there).  Rows come sorted by customer id.

    Parameters
    ----------
    dialect : str
        ``"duckdb"`` or ``"spark"``.
    source : str
        The relation to read.
    columns : iterable of str
        Its columns.
    as_of, start : date-like, optional
        The half-open window ``[start, as_of)``.
    date_col : str
        Date column.
    id_col : str
        Customer id column.
    amount_col : str
        Net amount column (sales; returns negative).
    cost_col : str
        Cost column.
    abc : tuple of float, optional
        ABC cut-offs; adds ``abc_class``.

    Returns
    -------
    str
        The query.
    """
    q = lambda c: quote(c, dialect)  # noqa: E731
    day = DAY_EXPR[dialect].format(date=q(date_col))
    window = ""
    if start is not None:
        window += f" AND {q(date_col)} >= {ts_literal(pd.Timestamp(start))}"
    if as_of is not None:
        window += f" AND {q(date_col)} < {ts_literal(pd.Timestamp(as_of))}"
        as_of_day = str(_day_number(pd.Timestamp(as_of)))
    else:
        # as in the pandas reference: the day after the last transaction (0 if none)
        as_of_day = f"(SELECT COALESCE(MAX({day}) + 1, 0) FROM {source})"
    gp = (
        f"CAST({q(amount_col)} AS DOUBLE) - CAST({q(cost_col)} AS DOUBLE)"
        if cost_col in set(columns)
        else "CAST(NULL AS DOUBLE)"
    )
    sql = render_sql(
        "customer_summary",
        source=source,
        id=q(id_col),
        date=q(date_col),
        amount=q(amount_col),
        gp=gp,
        day=day,
        window=window,
        as_of_day=as_of_day,
    )
    if abc is not None:
        cols = ", ".join(_RAW_COLUMNS)
        sql = render_sql(
            "abc_class",
            summary=f"({sql}) AS s",
            columns=cols,
            limit_a=_double(float(abc[0]) - ABC_EPS),
            limit_b=_double(float(abc[1]) - ABC_EPS),
        )
    return f"SELECT * FROM ({sql}) AS summary ORDER BY customer_id"


# columns of customer_summary.sql (days as integers); finish_sql_result makes SUMMARY_COLUMNS
_RAW_COLUMNS = [
    "customer_id",
    "first_day",
    "last_day",
    "recency_days",
    "tenure_days",
    "frequency",
    "n_lines",
    "monetary",
    "gross_profit",
    "returns_amount",
    "n_returns",
    "avg_interval_days",
]


def finish_sql_result(raw: pd.DataFrame, *, date_dtype="datetime64[ns]") -> pd.DataFrame:
    """SQL result (days as integers) to the pandas reference's columns and dtypes.

    Parameters
    ----------
    raw : DataFrame
        The query's rows.
    date_dtype : str or dtype
        dtype of the date columns.

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS` (+ ``abc_class``) with the reference dtypes.
    """
    out = {}
    ids = raw["customer_id"].reset_index(drop=True)
    if ids.dtype == object or len(ids) == 0 and not pd.api.types.is_numeric_dtype(ids):
        # the reference groups on the ids' numpy values, so pandas infers the key
        # dtype afresh ("str" for text, object when empty): do the same
        ids = pd.Series(pd.Index(ids.to_numpy(dtype=object)), copy=False)
    out["customer_id"] = ids
    for day_col, date_col in (("first_day", "first_date"), ("last_day", "last_date")):
        days = pd.to_numeric(raw[day_col], errors="raise").astype("float64").to_numpy()
        # int64 days -> datetime64 through timedelta: exact, NaN -> NaT
        stamps = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
        ok = ~np.isnan(days)
        stamps[ok] = np.datetime64("1970-01-01", "ns") + days[ok].astype("int64").astype(
            "timedelta64[D]"
        )
        out[date_col] = pd.Series(stamps).astype(date_dtype)
    for col in ("recency_days", "tenure_days"):
        vals = pd.to_numeric(raw[col]).astype("float64").reset_index(drop=True)
        # the reference's Series.dt.days: int64 unless a customer has no purchase (NaN)
        out[col] = vals if vals.isna().any() else vals.astype("int64")
    for col in ("frequency", "n_lines", "n_returns"):
        out[col] = pd.to_numeric(raw[col]).astype("int64").reset_index(drop=True)
    for col in ("monetary", "gross_profit", "returns_amount", "avg_interval_days"):
        out[col] = pd.to_numeric(raw[col]).astype("float64").reset_index(drop=True)
    if "abc_class" in raw.columns:
        out["abc_class"] = raw["abc_class"].astype("str").reset_index(drop=True)
    cols = SUMMARY_COLUMNS + (["abc_class"] if "abc_class" in raw.columns else [])
    return pd.DataFrame(out)[cols]


# ---------------------------------------------------------------- DuckDB fast path
def duckdb_connect(
    *,
    threads: int | None = None,
    memory_limit: str | None = DUCKDB_MEMORY_LIMIT,
    one_pass: bool = True,
):
    """An in-memory DuckDB connection set up for bounded memory (spills to a temp folder).

    ``one_pass`` switches off DuckDB's ``distinct_aggregate_rewrite``: see
    :func:`memory_ladder`.

    Parameters
    ----------
    threads : int, optional
        DuckDB threads.
    memory_limit : str, optional
        DuckDB's memory limit.
    one_pass : bool
        Switch off ``distinct_aggregate_rewrite``.

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    import duckdb

    config = {
        "preserve_insertion_order": False,
        "temp_directory": str(Path(tempfile.gettempdir()) / "ccm_duckdb_spill"),
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = int(threads)
    con = duckdb.connect(":memory:", config=config)
    if one_pass:
        # DuckDB's rewrite of COUNT(DISTINCT) next to plain aggregates materialises every
        # line (spilled under the memory limit); one hash aggregate is ~20% faster
        con.execute("SET disabled_optimizers = 'distinct_aggregate_rewrite'")
    return con


def memory_ladder(n_rows: int) -> list[tuple[str, bool]]:
    """(DuckDB memory limit, one-pass plan?) to try in turn: bounded first, more when needed.

    The one-pass plan (COUNT(DISTINCT) inside the hash aggregate) is the fastest but
    cannot spill its distinct sets: 10M lines fit in 512 MB, 100M lines (5M
    customers) not even in 3 GB.  DuckDB's own rewrite (lines materialised, two
    spilling aggregates joined) runs 100M lines in a 2 GB limit.

    Parameters
    ----------
    n_rows : int
        Lines the query reads.

    Returns
    -------
    list of (str, bool)
        Memory limits with whether the one-pass plan is used.
    """
    try:
        half = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2 // 2**20
        top = f"{max(2048, half)}MB"
    except (ValueError, OSError, AttributeError):
        top = "8GB"
    ladder = [(DUCKDB_MEMORY_LIMIT, True), ("2GB", False), (top, False)]
    return ladder[1:] if n_rows > LARGE_ROWS else ladder


def validated_parquet(tx) -> Path | None:
    """The Parquet file of a report run's validated table, when ``tx`` is that table and holds
    at least :data:`LARGE_ROWS` lines.

    During a report run every page's tables are read from the run's validated copy
    (:mod:`analysis.data.validated`); from :data:`LARGE_ROWS` lines DuckDB then reads the file
    itself, out of core, instead of copying the frame's lines into Arrow (the file's extra
    line-number column is not read).  Below that the copy is cheaper than decompressing the
    file again for every query (10M lines: the report took 229 CPU s with copies, 248 with
    file reads).

    Parameters
    ----------
    tx : object
        A frame.

    Returns
    -------
    Path or None
        The file, or None for any other frame.
    """
    from analysis.data.validated import validated_identity

    identity = validated_identity(tx) if isinstance(tx, pd.DataFrame) else None
    if not identity or len(tx) < LARGE_ROWS:
        return None
    folder, _, table = identity.rpartition(":")
    path = Path(folder) / f"{table}.parquet"
    return path if path.is_file() else None


def duckdb_lines(tx, columns: list[str] | None) -> tuple[str, object | None]:
    """What DuckDB scans as the view ``ccm_tx`` (:func:`on_lines`).

    A Parquet file, folder or glob, and from :data:`LARGE_ROWS` lines a report run's validated
    table (:func:`validated_parquet`), are read from the files; any other frame is handed over
    as an Arrow table of ``columns`` (the frame itself without pyarrow), made once for every
    attempt of the memory ladder.

    Parameters
    ----------
    tx : DataFrame, str or Path
        The lines, or a Parquet path, folder or glob.
    columns : list of str or None
        The frame's columns the queries use (ignored for files).

    Returns
    -------
    (str, object or None)
        ``(read_parquet(...) source, None)`` for files, else ``("", table)``.
    """
    kept = None if isinstance(tx, (str, os.PathLike)) else validated_parquet(tx)
    if isinstance(tx, (str, os.PathLike)) or kept is not None:
        pattern = parquet_files(kept or tx).replace("'", "''")
        return f"read_parquet('{pattern}')", None
    if arrow_available():
        import pyarrow as pa

        return "", pa.Table.from_pandas(tx[columns], preserve_index=False)
    return "", tx[columns]  # DuckDB scans the pandas frame itself


def _register_lines(con, lines: tuple[str, object | None]) -> None:
    source, data = lines
    if data is not None:
        con.register("ccm_tx", data)
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW ccm_tx AS SELECT * FROM {source}")


def on_lines(tx, columns: list[str] | None, run):
    """``run(con)`` on a DuckDB connection holding the lines as ``ccm_tx``, under the memory
    ladder (:func:`memory_ladder`): on OutOfMemory the next, larger step is tried.

    Parameters
    ----------
    tx : DataFrame, str or Path
        The lines, or a Parquet path, folder or glob (:func:`duckdb_lines`).
    columns : list of str or None
        The frame's columns the queries use.
    run : callable
        ``run(con)`` -> the result.

    Returns
    -------
    object
        What ``run`` returns.
    """
    import duckdb

    lines = duckdb_lines(tx, columns)
    if isinstance(tx, (str, os.PathLike)):
        with duckdb.connect() as con:  # the row count comes from the files' metadata
            _register_lines(con, lines)
            n_rows = con.sql("SELECT count(*) FROM ccm_tx").fetchall()[0][0]
    else:
        n_rows = len(tx)
    steps = memory_ladder(n_rows)
    for i, (limit, one_pass) in enumerate(steps):
        con = duckdb_connect(memory_limit=limit, one_pass=one_pass)
        try:
            _register_lines(con, lines)
            return run(con)
        except duckdb.OutOfMemoryException:
            if i == len(steps) - 1:
                raise
        finally:
            con.close()
    return None  # pragma: no cover - the loop returns or raises


def _summary_duckdb(tx, *, abc=None, **kw) -> pd.DataFrame:
    needed, date_dtype = None, "datetime64[ns]"
    if not isinstance(tx, (str, os.PathLike)):
        require_columns(tx, [kw["id_col"], kw["date_col"], kw["amount_col"]], "the transactions")
        keys = (kw["id_col"], kw["date_col"], kw["amount_col"], kw["cost_col"])
        needed = [c for c in keys if c in tx.columns]
        if str(tx[kw["date_col"]].dtype).startswith("datetime64"):
            date_dtype = tx[kw["date_col"]].dtype

    def run(con):
        columns = [r[0] for r in con.sql("DESCRIBE SELECT * FROM ccm_tx").fetchall()]
        return fetch_frame(con.sql(summary_sql("duckdb", "ccm_tx", columns=columns, abc=abc, **kw)))

    return finish_sql_result(on_lines(tx, needed, run), date_dtype=date_dtype)


# ---------------------------------------------------------------- pandas reference
def _summary_pandas(
    tx: pd.DataFrame,
    *,
    as_of=None,
    start=None,
    date_col: str = "date",
    id_col: str = "customer_id",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> pd.DataFrame:
    """The reference implementation (plain pandas); see :func:`customer_summary`."""
    require_columns(tx, [id_col, date_col, amount_col], "the transactions")
    df = tx
    if start is not None:
        df = df[df[date_col] >= pd.Timestamp(start)]
    if as_of is not None:
        df = df[df[date_col] < pd.Timestamp(as_of)]
    as_of = (
        pd.Timestamp(as_of)
        if as_of is not None
        else (
            tx[date_col].max().normalize() + pd.Timedelta(days=1)
            if len(tx)
            else pd.Timestamp("1970-01-01")
        )
    )
    day = df[date_col].dt.normalize()
    amount = df[amount_col].astype("float64")
    has_cost = cost_col in df.columns
    work = pd.DataFrame(
        {
            id_col: df[id_col].to_numpy(),
            "day": day.to_numpy(),
            "amount": amount.to_numpy(),
            "gp": (amount - df[cost_col].astype("float64")).to_numpy() if has_cost else np.nan,
            "ret": np.where(amount < 0, -amount, 0.0),
            "is_ret": (amount < 0).to_numpy(),
            "buy_day": day.where(amount > 0).to_numpy(),
        }
    )
    g = work.groupby(id_col, sort=True)
    out = pd.DataFrame(
        {
            "first_date": g["buy_day"].min(),
            "last_date": g["buy_day"].max(),
            "frequency": g["buy_day"].nunique(),
            "n_lines": g.size(),
            "monetary": g["amount"].sum(),
            "gross_profit": g["gp"].sum(min_count=1) if has_cost else np.nan,
            "returns_amount": g["ret"].sum(),
            "n_returns": g["is_ret"].sum(),
        }
    )
    out["recency_days"] = (as_of - out["last_date"]).dt.days
    out["tenure_days"] = (as_of - out["first_date"]).dt.days
    span = (out["last_date"] - out["first_date"]).dt.days
    out["avg_interval_days"] = (span / (out["frequency"] - 1)).where(out["frequency"] > 1)
    out = out.reset_index().rename(columns={id_col: "customer_id"})
    out["n_returns"] = out["n_returns"].astype("int64")
    return out[SUMMARY_COLUMNS]


def _abc_pandas(
    summary: pd.DataFrame,
    cutoff_a: float,
    cutoff_b: float,
    *,
    value_col: str = "monetary",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    # the arithmetic of classification.abc_classes, step by step, so that floats agree
    v = summary[value_col].astype("float64").fillna(0.0)
    order = (
        pd.DataFrame({"v": v, "id": summary[id_col].astype("string")})
        .sort_values(["v", "id"], ascending=[False, True], kind="stable")
        .index
    )
    v = v.loc[order]
    positive = v.clip(lower=0.0)
    total_pos = positive.sum()
    before = (positive.cumsum() - positive).groupby(v).transform("min")
    share = before / total_pos if total_pos > 0 else pd.Series(np.nan, index=v.index)
    cls = np.select(
        [
            v.le(0).to_numpy(),
            (share < cutoff_a - ABC_EPS).to_numpy(),
            (share < cutoff_b - ABC_EPS).to_numpy(),
        ],
        ["C", "A", "B"],
        "C",
    )
    return summary.assign(abc_class=pd.Series(cls, index=order, dtype="str"))


def check_cutoffs(cutoff_a: float, cutoff_b: float) -> None:
    """Check ABC cut-offs: ``0 < cutoff_a < cutoff_b <= 1``.

    Parameters
    ----------
    cutoff_a, cutoff_b : float
        Cumulative net-sales shares where classes A and B end.

    Raises
    ------
    ValueError
        When the cut-offs are out of order or outside (0, 1].
    """
    if not (0 < cutoff_a < cutoff_b <= 1):
        raise ValueError(
            f"ABC cut-offs must satisfy 0 < cutoff_a < cutoff_b <= 1, e.g. (0.75, 0.95); "
            f"got cutoff_a={cutoff_a}, cutoff_b={cutoff_b}"
        )
