"""The customer summary on Apache Spark: the same SQL text as the DuckDB fast path.

For data that outgrow one machine.  :func:`customer_summary_spark` renders
``analysis/sql/customer_summary.sql`` (and ``abc_class.sql``) for Spark SQL and
runs it; only the day-number expression and identifier quoting differ from the
DuckDB rendering (see ``analysis.engine.aggregate.DAY_EXPR``).  ``pyspark`` is an
optional extra (it needs Java 17 or newer)::

    pip install "pyspark==4.3.0"

Usage, on a cluster's session or a local one::

    from analysis.engine.spark import customer_summary_spark, local_session
    summary = customer_summary_spark("hdfs:///sales/tx/", spark=spark, as_of="2026-01-01")

How a pandas frame reaches Spark.  A page asks for several summaries of the same lines
(the customer base alone four windows), so each frame becomes a Spark DataFrame once per
process (:func:`spark_lines`), not converted again on every call:

- on a local master, Spark reads the lines from a Parquet file: the report run's validated
  copy of the table when the frame is that table (:mod:`analysis.data.validated`), else a
  file written once for the frame.  Spark streams the lines from the file: no copy of
  them is kept on the JVM's heap;
- on a cluster master the executors cannot see this machine's files: the lines go to the
  cluster through Arrow (``createDataFrame``), once per frame.

Handing ``createDataFrame`` the million lines of a report once per summary filled the
local driver's heap (1 GB) on the second call; the scheduler's thread died of the
OutOfMemoryError and the page waited for ever.  The JVM now exits on an OutOfMemoryError
(the page fails instead of hanging), and its heap is :data:`DRIVER_MEMORY_ENV`.
"""

from __future__ import annotations

import os
import uuid
import weakref
from pathlib import Path

import pandas as pd
import pyarrow as pa

from analysis.data.validation import require_columns
from analysis.engine.aggregate import check_cutoffs, finish_sql_result, summary_sql

#: environment variable with the Spark master for ``ccm report --engine spark``
#: (e.g. ``spark://host:7077``); default a local session on two cores
MASTER_ENV = "CCM_SPARK_MASTER"
#: environment variable with the driver memory of the session ``--engine spark`` starts
DRIVER_MEMORY_ENV = "CCM_SPARK_DRIVER_MEMORY"
DEFAULT_DRIVER_MEMORY = "1g"


def local_session(
    master: str = "local[1]",
    *,
    shuffle_partitions: int = 2,
    app_name: str = "ccm-analysis",
    driver_memory: str = "1g",
):
    """A small local SparkSession (UTC session time zone, Arrow transfers, no UI).

    ``getOrCreate`` returns an already running session unchanged apart from the
    SQL settings set here.  The JVM exits on an OutOfMemoryError, so that a caller
    gets an error rather than a scheduler that no longer answers.

    Parameters
    ----------
    master : str
        Spark master.
    shuffle_partitions : int
        ``spark.sql.shuffle.partitions``.
    app_name : str
        Application name.
    driver_memory : str
        Driver memory.

    Returns
    -------
    SparkSession
    """
    import warnings

    with warnings.catch_warnings():
        # we hand data over through Arrow, not pyspark's pandas converter
        warnings.filterwarnings(
            "ignore", "PySpark does not yet fully support pandas", FutureWarning
        )
        from pyspark.sql import SparkSession

        try:  # imported lazily by pyspark later, warning again: import it here, once
            from pyspark.testing import utils  # noqa: F401
        except ImportError:
            pass

    # a local session talks to itself only: bind the driver to the loopback address
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.extraJavaOptions", "-XX:+ExitOnOutOfMemoryError")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.conf.set("spark.sql.shuffle.partitions", str(shuffle_partitions))
    spark.sparkContext.setLogLevel("ERROR")
    return spark


_SESSION: list = []  # the session default_session started in this process


def default_session():
    """The session of ``engine="spark"``: started once per process, then reused.

    Its master is :data:`MASTER_ENV` (default ``local[2]``), its driver memory
    :data:`DRIVER_MEMORY_ENV` (default :data:`DEFAULT_DRIVER_MEMORY`).

    Returns
    -------
    SparkSession
    """
    if _SESSION and _SESSION[0].sparkContext._jsc is not None:  # not stopped
        return _SESSION[0]
    spark = local_session(
        os.environ.get(MASTER_ENV) or "local[2]",
        driver_memory=os.environ.get(DRIVER_MEMORY_ENV) or DEFAULT_DRIVER_MEMORY,
    )
    _SESSION[:] = [spark]
    return spark


# ---------------------------------------------------------------- pandas lines -> Spark, once
#: (id(frame), id(session), columns) -> (weak reference to the frame, Spark DataFrame)
_LINES: dict[tuple, tuple] = {}
_SCRATCH: list[Path] = []  # this process's folder of Parquet copies, made on first use


def _is_local(spark) -> bool:
    return spark.sparkContext.master.startswith("local")


def _scratch_dir() -> Path:
    if not _SCRATCH:
        import atexit
        import shutil
        import tempfile

        from analysis.data.validated import ENV_VAR

        # in a report run, inside the run's staging folder (removed with it even when the
        # kernel is killed before atexit runs)
        run = os.environ.get(ENV_VAR)
        base = run if run and Path(run).is_dir() else None
        folder = Path(tempfile.mkdtemp(prefix="ccm_spark_", dir=base))
        atexit.register(shutil.rmtree, folder, True)
        _SCRATCH.append(folder)
    return _SCRATCH[0]


def _validated_file(tx: pd.DataFrame, needed: list[str]) -> Path | None:
    """The run's Parquet copy of ``tx`` if ``tx`` is a validated table holding ``needed``."""
    from analysis.data.validated import validated_identity

    identity = validated_identity(tx)
    if identity is None:
        return None
    folder, _, table = identity.rpartition(":")
    path = Path(folder) / f"{table}.parquet"
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    return path if set(needed) <= names else None


def _read_lines(spark, path: Path, needed: list[str], date_col: str):
    """Spark DataFrame of ``needed`` from a Parquet file; nanosecond timestamps floored to
    microseconds (Spark reads no nanoseconds; flooring keeps 1969-12-31 23:59:59.9999995
    on its day, where a cast toward zero would move it to 1970-01-01)."""
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    date_type = pq.read_schema(path).field(date_col).type
    nanos = pa.types.is_timestamp(date_type) and date_type.unit == "ns"
    if nanos:  # read INT64 TIMESTAMP(NANOS) as its integer (else: "Illegal Parquet type")
        spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    sdf = spark.read.parquet(str(path)).select(*needed)
    if nanos:
        ns = F.col(date_col)
        # floor to whole microseconds in integers (pmod >= 0), then the instant
        micros = (ns - F.pmod(ns, F.lit(1000))) / F.lit(1000)
        sdf = sdf.withColumn(date_col, F.timestamp_micros(micros.cast("long")))
    return sdf


def spark_lines(tx: pd.DataFrame, needed: list[str], date_col: str, spark):
    """The Spark DataFrame of ``tx[needed]``, made once per frame and session.

    On a local master Spark reads a Parquet file: the run's validated copy when ``tx`` is
    that table, else a copy written once for ``tx``; nanosecond timestamps are floored to
    microseconds (as the pandas reference sees days and windows).  On a
    cluster master the lines go through Arrow (``createDataFrame``) and Spark caches them
    on the executors.  The table of frames holds a weak reference to ``tx``: a frame that
    is gone (or a new frame at its address) is never served, and its Spark DataFrame is
    dropped (unpersisted) on the next call.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (not modified).
    needed : list of str
        The columns to hand over.
    date_col : str
        The date column.
    spark : SparkSession
        The session.

    Returns
    -------
    pyspark.sql.DataFrame
    """
    for key, (ref, sdf) in list(_LINES.items()):
        if ref() is None:
            del _LINES[key]
            sdf.unpersist()
    key = (id(tx), id(spark), tuple(needed))
    hit = _LINES.get(key)
    if hit is not None and hit[0]() is tx:
        return hit[1]
    if _is_local(spark):
        path = _validated_file(tx, needed)
        if path is None:
            path = _scratch_dir() / f"lines_{uuid.uuid4().hex[:12]}.parquet"
            table = pa.Table.from_pandas(tx[needed], preserve_index=False)
            import pyarrow.parquet as pq

            pq.write_table(table, path)  # nanoseconds kept: _read_lines floors them
            weakref.finalize(tx, path.unlink, missing_ok=True)
        # not cached: reading the file again costs less than holding the lines on the heap
        sdf = _read_lines(spark, path, needed, date_col)
    else:
        # through Arrow, not pyspark's pandas converter (which lags pandas releases); kept
        # on the executors, so the lines cross the network once
        sdf = spark.createDataFrame(pa.Table.from_pandas(tx[needed], preserve_index=False))
        sdf = sdf.cache()
    _LINES[key] = (weakref.ref(tx), sdf)
    return sdf


def customer_summary_spark(
    tx,
    *,
    as_of=None,
    start=None,
    date_col: str = "date",
    id_col: str = "customer_id",
    amount_col: str = "amount",
    cost_col: str = "cost",
    abc: tuple[float, float] | None = None,
    spark=None,
    to_pandas: bool = True,
):
    """:func:`analysis.engine.aggregate.customer_summary` computed by Spark SQL.

    Parameters
    ----------
    tx : pandas DataFrame, Spark DataFrame, str or Path
        Transaction lines, or a Parquet path (file, folder or glob) read by Spark.
        Spark reads Parquet timestamps in milli- or microseconds, not nanoseconds
        (write them with ``coerce_timestamps="us"``).  Days are taken in the
        session time zone (UTC in :func:`local_session`).  A pandas frame is handed
        to Spark once per process and session (:func:`spark_lines`).
    as_of, start, date_col, id_col, amount_col, cost_col, abc
        As in :func:`analysis.engine.aggregate.customer_summary`.
    spark : SparkSession, optional
        Defaults to :func:`default_session`.
    to_pandas : bool
        True: the pandas summary, identical to the other engines.  False: the Spark
        DataFrame of the raw SQL result (days since 1970-01-01 in ``first_day`` and
        ``last_day``), to write out on a cluster without collecting it.

    Returns
    -------
    DataFrame
        The pandas summary, or the Spark DataFrame of the raw result (``to_pandas=False``).
    """
    if abc is not None:
        check_cutoffs(*abc)
    spark = spark or default_session()
    kw = dict(
        as_of=as_of,
        start=start,
        date_col=date_col,
        id_col=id_col,
        amount_col=amount_col,
        cost_col=cost_col,
    )
    date_dtype = "datetime64[ns]"
    if isinstance(tx, (str, os.PathLike)):
        sdf = spark.read.parquet(str(tx))
    elif isinstance(tx, pd.DataFrame):
        require_columns(tx, [id_col, date_col, amount_col], "the transactions")
        needed = [c for c in (id_col, date_col, amount_col, cost_col) if c in tx.columns]
        sdf = spark_lines(tx, needed, date_col, spark)
        if str(tx[date_col].dtype).startswith("datetime64"):
            date_dtype = tx[date_col].dtype
    else:  # a Spark DataFrame
        sdf = tx
    view = f"ccm_tx_{uuid.uuid4().hex[:12]}"
    sdf.createOrReplaceTempView(view)
    try:
        result = spark.sql(summary_sql("spark", view, columns=sdf.columns, abc=abc, **kw))
        if not to_pandas:
            return result
        raw = result.toArrow().to_pandas()
    finally:
        spark.catalog.dropTempView(view)
    return finish_sql_result(raw, date_dtype=date_dtype)


# ---------------------------------------------------------------- other SQL steps on the lines
def sql_frame(spark, sql: str) -> pd.DataFrame:
    """One Spark SQL query's rows as a pandas frame, through Arrow (every query of
    :mod:`analysis.engine.windows` on Spark goes through here).

    Parameters
    ----------
    spark : SparkSession
        The session.
    sql : str
        The query.

    Returns
    -------
    DataFrame
        Its rows, in the query's order.
    """
    return spark.sql(sql).toArrow().to_pandas()


def on_spark_lines(tx: pd.DataFrame, needed: list[str], date_col: str, run, *, spark=None):
    """``run(spark, view)`` with ``tx[needed]`` as the temp view ``view``: Spark's counterpart of
    :func:`analysis.engine.aggregate.on_lines`.

    The lines reach Spark once per frame and session (:func:`spark_lines`); the view is
    dropped afterwards.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (not modified).
    needed : list of str
        The columns the queries use.
    date_col : str
        The date column (nanoseconds floored to microseconds, see :func:`spark_lines`).
    run : callable
        ``run(spark, view)`` -> the result.
    spark : SparkSession, optional
        Defaults to :func:`default_session`.

    Returns
    -------
    object
        What ``run`` returns.
    """
    require_columns(tx, needed, "the transactions")
    spark = spark or default_session()
    sdf = spark_lines(tx, needed, date_col, spark)
    view = f"ccm_tx_{uuid.uuid4().hex[:12]}"
    sdf.createOrReplaceTempView(view)
    try:
        return run(spark, view)
    finally:
        spark.catalog.dropTempView(view)
