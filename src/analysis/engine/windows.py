"""Per-customer counts over transaction windows, run by DuckDB on millions of lines.

The pandas functions that call these (e.g. :func:`analysis.classify.classes.months_active`)
stay the reference: they hand over to DuckDB from
:data:`analysis.engine.aggregate.AUTO_MIN_ROWS` lines when the engine is ``auto`` or
``duckdb``, and the tests hold both to the same result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.engine.aggregate import (
    _ts_literal,
    arrow_available,
    duckdb_connect,
    fetch_frame,
    quote,
)


def _lines(tx: pd.DataFrame, columns: list[str]):
    """The columns DuckDB scans: an Arrow table when pyarrow is installed, else the frame."""
    if arrow_available():
        import pyarrow as pa

        return pa.Table.from_pandas(tx[columns], preserve_index=False)
    return tx[columns]


def months_active_duckdb(
    tx: pd.DataFrame,
    start,
    end,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Distinct calendar months with a purchase (amount > 0) per customer in ``[start, end)``.

    The same result as :func:`analysis.classify.classes.months_active`, by one SQL
    aggregation.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    start, end : date-like
        The half-open window.
    id_col, date_col, amount_col : str
        Column names.

    Returns
    -------
    DataFrame
        customer_id (named ``id_col``) and ``months_active``, sorted by id; customers
        without a purchase have no row.
    """
    i, d, a = (quote(c, "duckdb") for c in (id_col, date_col, amount_col))
    sql = f"""
        SELECT {i} AS ccm_id,
               COUNT(DISTINCT year({d}) * 12 + month({d})) AS months_active
        FROM ccm_tx
        WHERE {d} >= {_ts_literal(pd.Timestamp(start))}
          AND {d} < {_ts_literal(pd.Timestamp(end))}
          AND {a} > 0 AND {i} IS NOT NULL
        GROUP BY {i}
        ORDER BY {i}
    """
    con = duckdb_connect()
    try:
        con.register("ccm_tx", _lines(tx, [id_col, date_col, amount_col]))
        raw = fetch_frame(con.sql(sql))
    finally:
        con.close()
    return pd.DataFrame(
        {
            id_col: np.asarray(raw["ccm_id"], dtype=object),
            "months_active": raw["months_active"].astype("int64").to_numpy(),
        }
    )
