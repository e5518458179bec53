"""Customer composition by type (客户构成分析, 《如何做好客户分类管理》).

Split customers by type (wholesaler 批发商, retailer 零售商, agent 代理商, franchise
特约店, chain 连锁店, specialty store 专营店 ...), subtotal the sales per type,
each type's share of all sales, each customer's share within its type, and
the big customers' share within each type and of all sales.

Shares are of net sales (returns included); a share is NaN when its total
is not positive.  Customers without a type form the group ``"unknown"``
(label ``cls_channel_unknown``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data.validation import require_columns

__all__ = ["UNKNOWN_TYPE", "attach_type", "composition_by", "share_within_type"]

UNKNOWN_TYPE = "unknown"


def _share(num, den) -> pd.Series:
    num = pd.Series(num, dtype="float64")
    den = (
        pd.Series(den, dtype="float64", index=num.index)
        if np.ndim(den) == 0
        else pd.Series(den, dtype="float64")
    )
    return num / den.where(den > 0)


def attach_type(
    summary: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    by: str = "channel",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """``summary`` with the customer type ``by`` from ``customers`` (blank -> ``"unknown"``).

    Parameters
    ----------
    summary : DataFrame
        One row per customer.
    customers : DataFrame
        The customers table.
    by : str
        The type column of ``customers``.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        ``summary`` with ``by``.
    """
    require_columns(summary, [id_col], "the customer summary")
    require_columns(customers, [id_col, by], "the customers table")
    types = customers[[id_col, by]].drop_duplicates(id_col)
    out = summary.drop(columns=[by], errors="ignore").merge(types, on=id_col, how="left")
    t = out[by].astype("object")
    t = t.where(t.notna() & (t.astype("string").str.strip() != ""), UNKNOWN_TYPE)
    return out.assign(**{by: t})


def share_within_type(
    df: pd.DataFrame, *, by: str = "channel", value_col: str = "monetary"
) -> pd.DataFrame:
    """Add ``type_share``: each customer's share of its type's net sales (NaN if that total <= 0).

    Parameters
    ----------
    df : DataFrame
        Customers with a type.
    by : str
        The type column.
    value_col : str
        Net sales column.

    Returns
    -------
    DataFrame
        ``df`` with ``type_share``.
    """
    require_columns(df, [by, value_col], "the customer table")
    v = df[value_col].astype("float64")
    total = v.groupby(df[by], sort=False).transform("sum")
    return df.assign(type_share=_share(v, total).to_numpy())


def composition_by(
    df: pd.DataFrame,
    *,
    by: str = "channel",
    value_col: str = "monetary",
    big_col: str = "abc_class",
    big_values: Sequence[str] = ("A",),
    id_col: str = "customer_id",
    total_label: str | None = "total",
) -> pd.DataFrame:
    """Subtotals per customer type, largest first, with an optional total row.

    Parameters
    ----------
    df : DataFrame
        One row per customer with its type ``by``, its net value and its class
        (``big_col``), e.g. ABC classes joined with :func:`attach_type`.
    big_values : sequence of str
        Classes that count as big customers (大客户); class A by default.
    total_label : str or None
        Value of ``by`` on the total row; None for no total row.

    Returns
    -------
    DataFrame
        ``by``, ``customers``, ``sales`` (subtotal), ``sales_share`` (of all
        sales), ``avg_sales`` (per customer), ``big_customers``, ``big_sales``,
        ``big_share_in_type`` (big customers' sales / the type's sales),
        ``big_share_of_total`` (their sales / all sales) and
        ``largest_share_in_type`` (the largest single customer's share of its type).
    """
    require_columns(df, [by, value_col, big_col, id_col], "the customer table")
    v = df[value_col].astype("float64")
    big = df[big_col].isin(list(big_values))
    work = pd.DataFrame(
        {
            by: df[by].to_numpy(),
            "v": v.to_numpy(),
            "big": big.to_numpy(),
            "big_v": v.where(big, 0.0).to_numpy(),
            "id": df[id_col].to_numpy(),
        }
    )
    g = work.groupby(by, sort=False)
    out = pd.DataFrame(
        {
            "customers": g["id"].nunique(),
            "sales": g["v"].sum(),
            "largest": g["v"].max(),
            "big_customers": g["big"].sum().astype("int64"),
            "big_sales": g["big_v"].sum(),
        }
    )
    if total_label is not None:
        tot = pd.DataFrame(
            {
                "customers": [work["id"].nunique()],
                "sales": [v.sum()],
                "largest": [v.max()],
                "big_customers": [int(big.sum())],
                "big_sales": [work["big_v"].sum()],
            },
            index=pd.Index([total_label]),
        )
    out = out.sort_values("sales", ascending=False, kind="stable")
    if total_label is not None:
        out = pd.concat([out, tot])
    total = float(v.sum())
    out = out.assign(
        sales_share=_share(out["sales"], total).to_numpy(),
        avg_sales=_share(out["sales"], out["customers"]).to_numpy(),
        big_share_in_type=_share(out["big_sales"], out["sales"]).to_numpy(),
        big_share_of_total=_share(out["big_sales"], total).to_numpy(),
        largest_share_in_type=_share(out["largest"], out["sales"]).to_numpy(),
    )
    cols = [
        "customers",
        "sales",
        "sales_share",
        "avg_sales",
        "big_customers",
        "big_sales",
        "big_share_in_type",
        "big_share_of_total",
        "largest_share_in_type",
    ]
    return out[cols].rename_axis(by).reset_index()
