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
"""

from __future__ import annotations

import os
import uuid

import pandas as pd
import pyarrow as pa

from analysis.data.validation import require_columns
from analysis.engine.aggregate import check_cutoffs, finish_sql_result, summary_sql

#: environment variable with the Spark master for ``ccm report --engine spark``
#: (e.g. ``spark://host:7077``); default a local session on two cores
MASTER_ENV = "CCM_SPARK_MASTER"


def local_session(
    master: str = "local[1]",
    *,
    shuffle_partitions: int = 2,
    app_name: str = "ccm-analysis",
    driver_memory: str = "1g",
):
    """A small local SparkSession (UTC session time zone, Arrow transfers, no UI).

    ``getOrCreate`` returns an already running session unchanged apart from the
    SQL settings set here.

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
        session time zone (UTC in :func:`local_session`).
    as_of, start, date_col, id_col, amount_col, cost_col, abc
        As in :func:`analysis.engine.aggregate.customer_summary`.
    spark : SparkSession, optional
        Defaults to :func:`local_session`.
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
    spark = spark or local_session(os.environ.get(MASTER_ENV) or "local[2]")
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
        # through Arrow, not pyspark's pandas converter (which lags pandas releases)
        sdf = spark.createDataFrame(pa.Table.from_pandas(tx[needed], preserve_index=False))
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
