"""Customer concentration (客户集中度): Lorenz curve, Gini coefficient, top-N and top-share.

How concentrated sales are on a few customers is the 80/20 question (二八法则) in
numbers.  Conventions used throughout:

- a customer whose returns exceed its purchases (negative net value) counts as
  zero: concentration is about who brings the sales, and a negative value would
  bend the Lorenz curve below zero;
- the Lorenz curve L(p) is the share of the value held by the poorest share p
  of customers (sorted ascending); it runs from (0, 0) to (1, 1);
- Gini = sum_i (2 i - n - 1) x_(i) / (n sum x) with x sorted ascending and
  i = 1..n, which is 1 - 2 x (area under the step-wise Lorenz curve); 0 when
  every customer buys the same, (n - 1) / n when one customer buys everything;
- top-share(f) is the share held by the ceil(f n) largest customers, so the
  "top 20%" of 7 customers is the 2 largest;
- everything is NaN when there are no customers or the total is zero.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.data.periods import Quarter

__all__ = [
    "lorenz_curve",
    "gini",
    "top_n_share",
    "top_share",
    "concentration_summary",
    "concentration_trend",
]


def _clipped(values) -> np.ndarray:
    arr = np.asarray(pd.Series(values, dtype="float64").fillna(0.0), dtype="float64")
    return np.clip(arr, 0.0, None)


def _count_for(fraction: float, n: int) -> int:
    """ceil(fraction x n), immune to float noise (0.2 x 15 = 3.0000000000000004 -> 3)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    return max(1, math.ceil(round(fraction * n, 9))) if n else 0


def lorenz_curve(values) -> pd.DataFrame:
    """Points of the Lorenz curve: ``customer_share`` and ``value_share``, from (0, 0) to (1, 1).

    One point per customer (sorted from the smallest), plus the origin.  With a
    zero total the value shares are NaN.

    Parameters
    ----------
    values : array-like
        A value per customer.

    Returns
    -------
    DataFrame
        ``customer_share`` and ``value_share``.
    """
    x = np.sort(_clipped(values))
    n, total = len(x), x.sum()
    cust = np.arange(n + 1) / n if n else np.array([0.0])
    val = np.concatenate([[0.0], np.cumsum(x)]) / total if total > 0 else np.full(n + 1, np.nan)
    return pd.DataFrame({"customer_share": cust, "value_share": val})


def gini(values) -> float:
    """Gini coefficient of the (clipped) values; NaN for no customers or a zero total.

    Parameters
    ----------
    values : array-like
        A value per customer.

    Returns
    -------
    float
        The Gini coefficient.
    """
    x = np.sort(_clipped(values))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * total))


def top_n_share(values, n: int = 10) -> float:
    """Share of the total held by the ``n`` largest customers (all of them when fewer).

    Parameters
    ----------
    values : array-like
        A value per customer.
    n : int
        Largest customers counted.

    Returns
    -------
    float
        Their share of the total (NaN for a zero total).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    x = np.sort(_clipped(values))[::-1]
    total = x.sum()
    return float(x[:n].sum() / total) if total > 0 else float("nan")


def top_share(values, fraction: float = 0.2) -> float:
    """Share of the total held by the largest ``ceil(fraction x n)`` customers.

    Parameters
    ----------
    values : array-like
        A value per customer.
    fraction : float
        Share of the customers counted.

    Returns
    -------
    float
        Their share of the total (NaN for a zero total).
    """
    x = np.sort(_clipped(values))[::-1]
    k = _count_for(fraction, len(x))
    total = x.sum()
    return float(x[:k].sum() / total) if total > 0 else float("nan")


def concentration_summary(values, *, top_n: int = 10, top_fraction: float = 0.2) -> dict:
    """``customers``, ``total`` (net, negatives kept), ``gini``, ``top_n_share``, ``top_share``.

    Parameters
    ----------
    values : array-like
        A value per customer.
    top_n : int
        As in :func:`top_n_share`.
    top_fraction : float
        As in :func:`top_share`.

    Returns
    -------
    dict
        ``customers``, ``total``, ``gini``, ``top_n_share`` and ``top_share``.
    """
    raw = pd.Series(values, dtype="float64").fillna(0.0)
    return {
        "customers": int(len(raw)),
        "total": float(raw.sum()),
        "gini": gini(raw),
        "top_n_share": top_n_share(raw, top_n),
        "top_share": top_share(raw, top_fraction),
    }


def quarter_totals(
    tx: pd.DataFrame,
    quarters,
    *,
    value: str = "monetary",
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> pd.DataFrame:
    """Each customer's ``value`` in each quarter, in one pass over the lines.

    The same numbers as :func:`analysis.engine.aggregate.customer_summary` per quarter
    (``monetary``: net sales, returns included; ``gross_profit``: amount - cost, lines
    without a cost left out, NaN when none has one), one row per customer with a line in the
    quarter; eight quarters used to take eight passes over every line.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    quarters : iterable of Quarter or str
        The quarters.
    value : {"monetary", "gross_profit"}
        What to total.
    id_col, date_col, amount_col, cost_col : str
        Column names.

    Returns
    -------
    DataFrame
        quarter (str), customer_id and ``value``.
    """
    if value not in ("monetary", "gross_profit"):
        raise ValueError(f"unknown value {value!r}; expected monetary or gross_profit")
    qs = [Quarter.parse(q) for q in quarters]
    if not qs:
        return pd.DataFrame(columns=["quarter", id_col, value])
    names = {q.year * 4 + q.q - 1: str(q) for q in qs}
    from analysis.engine import windows

    engine = windows.engine_for(tx)
    if engine != "pandas":
        step = windows.quarter_totals_spark if engine == "spark" else windows.quarter_totals_duckdb
        cols = dict(id_col=id_col, date_col=date_col, amount_col=amount_col, cost_col=cost_col)
        window = (min(names), max(names), min(q.start for q in qs), max(q.end for q in qs))
        out = step(tx, *window, value=value, **cols)
    else:
        out = _quarter_totals_pandas(tx, qs, value, id_col, date_col, amount_col, cost_col)
    out = out[out["k"].isin(list(names))]
    return pd.DataFrame(
        {
            "quarter": out["k"].map(names).to_numpy(),
            id_col: out[id_col].to_numpy(),
            value: out[value].to_numpy(),
        }
    )


def _quarter_totals_pandas(tx, qs, value, id_col, date_col, amount_col, cost_col) -> pd.DataFrame:
    """quarter_totals' reference pass: k (quarter key), id and value, sorted by key and id."""
    d = tx[date_col]
    keep = (d >= min(q.start for q in qs)) & (d < max(q.end for q in qs)) & tx[id_col].notna()
    lines = tx.loc[keep]
    if value == "gross_profit":
        v = lines[amount_col] - lines[cost_col] if cost_col in lines.columns else np.nan
    else:
        v = lines[amount_col].astype("float64")
    dd = lines[date_col]
    frame = pd.DataFrame(
        {"k": (dd.dt.year * 4 + (dd.dt.month - 1) // 3).to_numpy(), id_col: lines[id_col], value: v}
    )
    sums = frame.groupby(["k", id_col], observed=True, sort=True)[value].sum(min_count=1)
    return sums.reset_index()


def concentration_trend(
    tx: pd.DataFrame,
    quarters,
    *,
    value: str = "monetary",
    top_n: int = 10,
    top_fraction: float = 0.2,
    **summary_kwargs,
) -> pd.DataFrame:
    """Concentration of each quarter's customers: one row per quarter.

    Parameters
    ----------
    tx : DataFrame
        Transactions (customer_id, date, amount [, cost]).
    quarters : iterable of Quarter or str
        Quarters to measure, e.g. the last eight.
    value : {"monetary", "gross_profit"}
        Column of :func:`analysis.engine.aggregate.customer_summary` to measure.
    summary_kwargs
        Column names passed on to ``customer_summary``.

    Returns
    -------
    DataFrame
        quarter (str), customers (with a line in the quarter), value (the
        quarter's net total of ``value``), gini, top_n_share, top_share.
    """
    rows = []
    qs = [Quarter.parse(q) for q in quarters]
    columns = {k: v for k, v in summary_kwargs.items() if k.endswith("_col")}  # not the engine
    totals = quarter_totals(tx, qs, value=value, **columns)
    for q in qs:
        part = totals[totals["quarter"] == str(q)]
        c = concentration_summary(part[value], top_n=top_n, top_fraction=top_fraction)
        rows.append(
            {
                "quarter": str(q),
                "customers": c["customers"],
                "value": c["total"],
                "gini": c["gini"],
                "top_n_share": c["top_n_share"],
                "top_share": c["top_share"],
            }
        )
    return pd.DataFrame(
        rows, columns=["quarter", "customers", "value", "gini", "top_n_share", "top_share"]
    )
