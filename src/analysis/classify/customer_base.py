"""The per-customer base of notebook 01 and its headline numbers.

Notebook 01 classifies the customers *active in the trailing twelve months*
of the report quarter (at least one transaction line in
``[quarter.trailing_12m_start, quarter.end)``): a year smooths seasonality and
is the period of 《如何做好客户分类管理》's annual screening.  Every per-customer number comes
from :func:`analysis.engine.aggregate.customer_summary`:

- the 12-month window gives ``monetary`` (net sales), ``gross_profit``,
  ``frequency`` (purchase days), ``n_lines`` and ``returns_amount``;
- the whole history up to the quarter end gives ``recency_days`` and
  ``tenure_days`` (a customer's tenure does not start with the window);
- the twelve months before the window give ``monetary_prev_12m`` (growth);
- the report quarter gives ``monetary_quarter`` and ``gross_profit_quarter``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.classify.classes import ABC_CLASSES, class_summary, months_active
from analysis.data.lookup import is_in
from analysis.data.periods import Quarter, quarter_range
from analysis.data.validated import shared_result
from analysis.engine.aggregate import customer_summary

__all__ = [
    "BASIS_COLUMNS",
    "ROSTER_COLUMNS",
    "ROSTER_CODED",
    "basis_column",
    "customer_base",
    "trend_quarters",
    "display_names",
    "roster_ids",
    "abc_windows_table",
    "quarter_abc",
    "previous_abc",
    "class_moves",
    "with_names",
]

#: ABC basis -> customer_summary column
BASIS_COLUMNS = {"sales": "monetary", "gross_profit": "gross_profit"}
#: the roster's columns, in order (those a dataset cannot fill are left out)
ROSTER_COLUMNS = [
    "customer_id",
    "name",
    "channel",
    "region",
    "industry",
    "active_12m",
    "monetary",
    "gross_profit",
    "share",
    "abc_class",
    "tier",
    "quadrant",
    "loyalty",
    "credit_grade",
    "credit_sales",
    "credit_class",
    "rfm_code",
    "rfm_segment",
    "current_value",
    "potential_value",
    "value_group",
    "class_before",
    "move",
    "tag_class",
    "tag_classes",
    "unapproved_tags",
    "decision",
    "reason",
]
#: roster column -> class kind whose names replace the codes (labels cls_<kind>_<code>)
ROSTER_CODED = {
    "active_12m": "bool",
    "tier": "tier",
    "quadrant": "quadrant",
    "credit_sales": "credit_sales",
    "rfm_segment": "rfm_segment",
    "value_group": "value_group",
    "class_before": "class",
    "move": "move",
    "decision": "decision",
    "reason": "reason",
}


def basis_column(basis: str) -> str:
    """The customer-summary column of an ABC basis ("sales" or "gross_profit").

    Parameters
    ----------
    basis : str
        ``"sales"`` or ``"gross_profit"``.

    Returns
    -------
    str
        The column.
    """
    try:
        return BASIS_COLUMNS[basis]
    except KeyError:
        raise ValueError(
            f"unknown abc_basis {basis!r}; expected one of {', '.join(BASIS_COLUMNS)}"
        ) from None


@shared_result  # pages 01, 08 and 09 of one report run share it
def customer_base(tx: pd.DataFrame, quarter: Quarter | str, **summary_kwargs) -> pd.DataFrame:
    """One row per customer active in the trailing 12 months of ``quarter`` (see the module doc).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    quarter : Quarter or str
        The report quarter.
    summary_kwargs
        Passed to :func:`analysis.engine.aggregate.customer_summary` (column names, engine).

    Returns
    -------
    DataFrame
        customer_id, first_date, last_date, recency_days, tenure_days (whole
        history), frequency, n_lines, monetary, gross_profit, returns_amount,
        n_returns (12 months), months_active, monetary_prev_12m,
        monetary_quarter, gross_profit_quarter, n_lines_quarter; sorted by id.
    """
    q = Quarter.parse(quarter)
    start = q.trailing_12m_start
    s12 = customer_summary(tx, start=start, as_of=q.end, **summary_kwargs)
    hist = customer_summary(tx, as_of=q.end, **summary_kwargs)
    prev = customer_summary(tx, start=q.shift(-4).trailing_12m_start, as_of=start, **summary_kwargs)
    sq = customer_summary(tx, start=q.start, as_of=q.end, **summary_kwargs)
    months = months_active(tx, start, q.end)
    ids = s12["customer_id"]
    out = s12.drop(
        columns=["first_date", "last_date", "recency_days", "tenure_days", "avg_interval_days"]
    )
    # each window's columns aligned to the 12-month customers by one lookup per window (a
    # lookup per column hashes half a million ids each time)
    whole = _aligned(hist, ids, ["first_date", "last_date", "recency_days", "tenure_days"])
    for col in whole.columns:
        out[col] = whole[col].to_numpy()
    out["months_active"] = (
        _aligned(months, ids, ["months_active"])["months_active"]
        .fillna(0)
        .astype("int64")
        .to_numpy()
    )
    out["monetary_prev_12m"] = _aligned(prev, ids, ["monetary"])["monetary"].fillna(0.0).to_numpy()
    quarter_cols = _aligned(sq, ids, ["monetary", "gross_profit", "n_lines"])
    out["monetary_quarter"] = quarter_cols["monetary"].fillna(0.0).to_numpy()
    out["gross_profit_quarter"] = quarter_cols["gross_profit"].astype("float64").to_numpy()
    out["n_lines_quarter"] = quarter_cols["n_lines"].fillna(0).astype("int64").to_numpy()
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def _aligned(frame: pd.DataFrame, ids: pd.Series, columns: list[str]) -> pd.DataFrame:
    """``frame``'s ``columns`` for each of ``ids`` (by customer_id; missing ids give NaN)."""
    return frame.set_index("customer_id")[columns].reindex(pd.Index(ids))


def trend_quarters(dates: pd.Series, quarter: Quarter | str, n: int) -> list[Quarter]:
    """The last ``n`` quarters up to ``quarter`` that the data reach (oldest first).

    Parameters
    ----------
    dates : Series
        Transaction dates.
    quarter : Quarter or str
        The report quarter.
    n : int
        Quarters wanted.

    Returns
    -------
    list of Quarter
        The quarters, oldest first.
    """
    q = Quarter.parse(quarter)
    first = pd.to_datetime(dates).min()
    return [x for x in quarter_range(q.shift(-(max(n, 1) - 1)), q) if x.end > first]


def display_names(
    df: pd.DataFrame,
    customers: pd.DataFrame | None,
    *,
    id_col: str = "customer_id",
    name_col: str = "name",
) -> pd.Series:
    """Each row's customer name when the customers table has one, else its id.

    Parameters
    ----------
    df : DataFrame
        Rows with ``id_col``.
    customers : DataFrame or None
        The customers table.
    id_col : str
        Customer id column.
    name_col : str
        Customer name column.

    Returns
    -------
    Series
        A name (or id) per row.
    """
    ids = df[id_col]
    if customers is None or name_col not in customers.columns:
        return ids.astype("object")
    names = customers.drop_duplicates(id_col).set_index(id_col)[name_col]
    return ids.map(names).fillna(ids).astype("object")


def roster_ids(
    active: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    moves: pd.DataFrame | None = None,
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """The roster's rows: active customers, then listed customers and last quarter's leavers not active.

    Parameters
    ----------
    active : DataFrame
        The customers active in the 12 months.
    customers : DataFrame, optional
        The customers table.
    moves : DataFrame, optional
        Class migration (its leavers are listed).
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        ``id_col`` and ``active_12m``.
    """
    ids = [active[id_col]]
    if customers is not None:
        ids.append(customers[id_col])
    if moves is not None:
        ids.append(moves[id_col])
    all_ids = pd.concat(ids, ignore_index=True).drop_duplicates()
    if isinstance(all_ids.dtype, pd.StringDtype):  # as it is: no Python string per customer
        out = pd.DataFrame({id_col: all_ids.reset_index(drop=True)})
    else:
        out = pd.DataFrame({id_col: all_ids.to_numpy()})
    return out.assign(active_12m=is_in(out[id_col], active[id_col]))


def abc_windows_table(
    abc_12m: pd.DataFrame, abc_quarter: pd.DataFrame, *, value_12m: str, value_quarter: str
) -> pd.DataFrame:
    """Count share against value share per class for the 12 months and the quarter, side by side.

    Parameters
    ----------
    abc_12m, abc_quarter : DataFrame
        ABC classes of the 12 months and of the quarter.
    value_12m, value_quarter : str
        Their value columns.

    Returns
    -------
    DataFrame
        Per window and class: count share and value share.
    """
    rows = []
    for window, df, col in (("12m", abc_12m, value_12m), ("quarter", abc_quarter, value_quarter)):
        s = class_summary(df, "abc_class", ABC_CLASSES, [col])
        rows.append(
            pd.DataFrame(
                {
                    "window": window,
                    "abc_class": s["abc_class"],
                    "count": s["count"],
                    "count_share": s["count_share"],
                    "value": s[col],
                    "value_share": s[f"{col}_share"],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def quarter_abc(
    base: pd.DataFrame,
    value_col: str,
    *,
    cutoffs: Sequence[float] = (0.75, 0.95),
    lines_col: str = "n_lines_quarter",
) -> pd.DataFrame:
    """ABC classes of the report quarter alone: the customers of ``base`` with a line in the
    quarter, ranked by ``<value_col>_quarter``.

    Parameters
    ----------
    base : DataFrame
        From :func:`customer_base`.
    value_col : str
        ``monetary`` or ``gross_profit`` (see :func:`basis_column`).

    Returns
    -------
    DataFrame
        :func:`analysis.classify.classes.abc_classes` of those customers, on their id,
        ``lines_col``, ``monetary_quarter`` and ``<value_col>_quarter`` (the page keeps it to
        its end: not the other columns of ``base``).
    """
    from analysis.classify.classes import abc_classes

    value = f"{value_col}_quarter"
    kept = list(dict.fromkeys(["customer_id", lines_col, "monetary_quarter", value]))
    buyers = base.loc[base[lines_col] > 0, [c for c in kept if c in base.columns]]
    return abc_classes(buyers, value, cutoffs=cutoffs)


def previous_abc(
    tx: pd.DataFrame,
    quarter: Quarter | str,
    value_col: str,
    *,
    cutoffs: Sequence[float] = (0.75, 0.95),
) -> pd.DataFrame:
    """ABC classes at the end of the quarter before ``quarter`` (its trailing twelve months), the
    "before" of the class migration.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    quarter : Quarter or str
        The report quarter.
    value_col : str
        The value column of the classes.
    cutoffs : sequence of float
        The ABC cut-offs.

    Returns
    -------
    DataFrame
        :func:`analysis.classify.classes.abc_classes` of the customers active then.
    """
    from analysis.classify.classes import abc_classes

    pq = Quarter.parse(quarter).previous()
    summary = customer_summary(tx, start=pq.trailing_12m_start, as_of=pq.end)
    return abc_classes(summary, value_col, cutoffs=cutoffs)


def class_moves(
    tx: pd.DataFrame,
    quarter: Quarter | str,
    abc: pd.DataFrame,
    value_col: str,
    *,
    cutoffs: Sequence[float] = (0.75, 0.95),
) -> pd.DataFrame:
    """Each customer's ABC class at the end of the quarter before ``quarter`` against ``abc``,
    this quarter's (:func:`previous_abc`, then :func:`analysis.classify.classes.class_migration`).

    Last quarter's classes are not kept: only the migration is.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    quarter : Quarter or str
        The report quarter.
    abc : DataFrame
        This quarter's ABC classes (trailing twelve months).
    value_col : str
        The value column of the classes.
    cutoffs : sequence of float
        The ABC cut-offs.

    Returns
    -------
    DataFrame
        :func:`analysis.classify.classes.class_migration` with ``value_col``.
    """
    from analysis.classify.classes import class_migration

    before = previous_abc(tx, quarter, value_col, cutoffs=cutoffs)
    return class_migration(before, abc, value_col=value_col)


def with_names(
    df: pd.DataFrame,
    customers: pd.DataFrame | None,
    *,
    id_col: str = "customer_id",
    name_col: str = "name",
) -> pd.DataFrame:
    """``df`` with a ``name_col`` column: each customer's name, or its id (:func:`display_names`).

    Parameters
    ----------
    df : DataFrame
        Rows with ``id_col``.
    customers : DataFrame or None
        The customers table.
    id_col : str
        Customer id column.
    name_col : str
        Customer name column.

    Returns
    -------
    DataFrame
        ``df`` with ``name_col``.
    """
    return df.assign(**{name_col: display_names(df, customers, id_col=id_col, name_col=name_col)})
