"""Churn labels and features as of a cutoff date, with no look past the cutoff.

A *cutoff* is midnight at the start of the day ``cutoff``: everything dated
before that day is history (features), a purchase on the cutoff day or later is
future.  With a horizon of ``h`` days the label window is the days
``cutoff <= d < cutoff + h`` -- in instants, (cutoff, cutoff + h] -- so a
purchase exactly on the cutoff day keeps a customer, and one exactly on day
``cutoff + h`` belongs to the next window.

A customer is *active* at the cutoff when it bought (amount > 0) in the
``active_days`` before it (``None`` = ever), and *churns* when it makes no
purchase in the label window.

Features follow the four indicator families of DOMAIN.md where the tables exist:
transaction (recency, frequency, monetary, tenure, interval and its regularity,
trend, returns, gross margin), financial (collection days, arrears),
contact (complaints, praise, suggestions, visits) and characteristic
(channel, region, industry, credit limit, fee, customer age).

A second entry, :func:`clean_customer_table`, turns a ready customer-level
export (one row per customer with a label column) into model input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.churn.history import TransactionHistory, day_number
from analysis.data.validation import DataError, parse_numbers
from analysis.engine.windows import engine_for

if TYPE_CHECKING:
    from analysis.engine.history_sql import SqlHistory

__all__ = [
    "CATEGORICAL_FEATURES",
    "active_customers",
    "churn_labels",
    "churn_features",
    "features_at",
    "history_for",
    "trailing_sales",
    "clean_customer_table",
    "parse_label",
]

CATEGORICAL_FEATURES = ("channel", "region", "industry")
INTERACTION_KINDS = ("complaint", "praise", "suggestion", "visit")
_YEAR = pd.Timedelta(days=365)
_POSITIVE = {
    "1",
    "yes",
    "y",
    "true",
    "t",
    "churn",
    "churned",
    "lost",
    "left",
    "是",
    "流失",
    "已流失",
}
_NEGATIVE = {
    "0",
    "no",
    "n",
    "false",
    "f",
    "stay",
    "stayed",
    "active",
    "retained",
    "否",
    "未流失",
    "在网",
    "留存",
}


def _before(df: pd.DataFrame, cutoff, date_col: str) -> pd.DataFrame:
    return df[df[date_col] < pd.Timestamp(cutoff)]


def history_for(
    tx: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> TransactionHistory | SqlHistory:
    """The lines of a churn study, ready for sums at any cutoff: sorted in numpy
    (:class:`~analysis.churn.history.TransactionHistory`), or on Spark left to SQL
    (:class:`~analysis.engine.history_sql.SqlHistory`, the same arrays).

    Spark whenever :func:`analysis.engine.windows.engine_for` says so and the ids and dates can
    go to SQL (:func:`~analysis.engine.history_sql.sql_ready`).  DuckDB keeps the numpy class:
    a whole :func:`~analysis.churn.backtest.backtest` of 10M lines took 23.8 s with it (8.2 s in
    the history) and 48.0 s with SqlHistory on DuckDB (32.1 s: each cutoff's snapshot is a
    4-6 s query against 0.7 s of numpy sums), one run each with a load of about 4.5.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    id_col, date_col, amount_col, cost_col : str
        Column names.

    Returns
    -------
    TransactionHistory or SqlHistory
    """
    # imported here: engine.history_sql imports analysis.churn.history, so a module-level import
    # made `import analysis.engine.history_sql` in a fresh process a circular ImportError
    from analysis.engine.history_sql import SqlHistory, sql_ready

    cols = dict(id_col=id_col, date_col=date_col, amount_col=amount_col, cost_col=cost_col)
    if engine_for(tx) == "spark" and sql_ready(tx, id_col=id_col, date_col=date_col):
        return SqlHistory(tx, engine="spark", **cols)
    return TransactionHistory(tx, **cols)


def _history(tx, history, *, id_col, date_col, amount_col, cost_col="cost") -> TransactionHistory:
    if history is not None:
        return history
    return history_for(
        tx, id_col=id_col, date_col=date_col, amount_col=amount_col, cost_col=cost_col
    )


def active_customers(
    tx: pd.DataFrame | None,
    cutoff,
    *,
    active_days: int | None = 365,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    history: TransactionHistory | None = None,
) -> pd.Index:
    """Customers with a purchase in ``[cutoff - active_days, cutoff)`` (sorted ids).

    ``active_days=None`` (or 0) counts any purchase before the cutoff.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (ignored when ``history`` is given).
    cutoff : date-like
        The cutoff day: history before it, future from it.
    active_days : int or None
        Days before the cutoff in which a purchase makes a customer active (None or 0: ever).
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    amount_col : str
        Net amount column (sales; returns negative).
    history : TransactionHistory, optional
        The lines already sorted (:class:`~analysis.churn.history.TransactionHistory`).

    Returns
    -------
    Index
        Sorted ids of the customers active at the cutoff.
    """
    h = _history(tx, history, id_col=id_col, date_col=date_col, amount_col=amount_col)
    return h.ids[h.snapshot(day_number(cutoff)).active(active_days)]


def _labels_at(h: TransactionHistory, snap, active: np.ndarray, horizon_days: int) -> np.ndarray:
    """1 for each active code without a purchase day in [cutoff, cutoff + horizon)."""
    bought = h.purchase_days(snap.cutoff, snap.cutoff + int(horizon_days))
    return (bought[active] == 0).astype("int64")


def churn_labels(
    tx: pd.DataFrame | None,
    cutoff,
    *,
    horizon_days: int = 90,
    active_days: int | None = 365,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    history: TransactionHistory | None = None,
) -> pd.DataFrame:
    """One row per customer active at ``cutoff``: ``churned`` = 1 without a purchase in the window.

    The window is ``cutoff <= date < cutoff + horizon_days`` (see the module note).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (ignored when ``history`` is given).
    cutoff : date-like
        The cutoff day: history before it, future from it.
    horizon_days : int
        Length of the label window in days.
    active_days : int or None
        Days before the cutoff in which a purchase makes a customer active (None or 0: ever).
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    amount_col : str
        Net amount column (sales; returns negative).
    history : TransactionHistory, optional
        The lines already sorted (:class:`~analysis.churn.history.TransactionHistory`).

    Returns
    -------
    DataFrame with columns ``customer_id`` and ``churned`` (int 0/1).
    """
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    h = _history(tx, history, id_col=id_col, date_col=date_col, amount_col=amount_col)
    snap = h.snapshot(day_number(cutoff))
    active = snap.active(active_days)
    return pd.DataFrame(
        {
            "customer_id": h.ids[active].to_numpy(),
            "churned": _labels_at(h, snap, active, horizon_days),
        }
    )


def trailing_sales(
    tx: pd.DataFrame | None,
    cutoff,
    *,
    days: int = 365,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    history: TransactionHistory | None = None,
) -> pd.Series:
    """Net sales per customer in ``[cutoff - days, cutoff)`` (index = customer_id).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (ignored when ``history`` is given).
    cutoff : date-like
        The cutoff day: history before it, future from it.
    days : int
        Length of the window before the cutoff.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    amount_col : str
        Net amount column (sales; returns negative).
    history : TransactionHistory, optional
        The lines already sorted (:class:`~analysis.churn.history.TransactionHistory`).

    Returns
    -------
    Series
        ``sales_12m`` per customer with a line in the window (index ``customer_id``).
    """
    h = _history(tx, history, id_col=id_col, date_col=date_col, amount_col=amount_col)
    end = day_number(cutoff)
    lines = h.lines(end - int(days), end)
    return pd.Series(
        h.sales(end - int(days), end)[lines > 0], index=h.ids[lines > 0], name="sales_12m"
    ).rename_axis("customer_id")


#: the transaction family's columns, in order (``margin_rate`` only when costs are known)
_TRANSACTION_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "avg_interval_days",
    "recency_ratio",
    "return_rate",
    "n_returns",
    "margin_rate",
    "interval_cv",
    "sales_last",
    "sales_prev",
    "days_last",
    "days_prev",
    "sales_trend",
    "sales_12m",
)


def _transaction_features(
    h: TransactionHistory, snap, active: np.ndarray, trend_days: int
) -> pd.DataFrame:
    """The transaction family of features of the ``active`` codes at the snapshot's cutoff.

    Every feature is float64 and written into its row of the frame's one block as soon as it
    is computed (the block ``pd.DataFrame`` would build from a dict of the columns), so the
    columns are never all held twice.
    """
    c, span = snap.cutoff, int(trend_days)
    margin = bool(h.has_cost and snap.cost_lines[active].sum() > 0)
    names = [n for n in _TRANSACTION_FEATURES if margin or n != "margin_rate"]
    block = np.empty((len(names), len(active)))
    col = dict(zip(names, block))  # each a view of its row
    first, last = snap.first_day[active], snap.last_day[active]
    col["recency_days"][:] = c - last
    col["tenure_days"][:] = c - first
    freq = col["frequency"]
    freq[:] = snap.frequency[active]
    gaps = freq - 1
    interval = col["avg_interval_days"]
    with np.errstate(divide="ignore", invalid="ignore"):
        interval[:] = np.where(gaps > 0, (last - first) / gaps, np.nan)
        # std of the gaps from exact integer sums: n·Σg² − (Σg)² is exact in int64
        sum_g = (last - first).astype(np.int64)
        n = gaps.astype(np.int64)
        var = (n * snap.gap_sq_sum[active].astype(np.int64) - sum_g * sum_g) / (n * n)
        col["interval_cv"][:] = np.where(
            (gaps > 0) & (interval > 0), np.sqrt(var) / interval, np.nan
        )
        del first, last, sum_g, n, var
        # how late the customer is against its own rhythm; > 1 = overdue
        col["recency_ratio"][:] = col["recency_days"] / interval
    monetary, returns = col["monetary"], snap.returns_amount[active]
    monetary[:] = snap.monetary[active]
    gross_sales = monetary + returns
    col["return_rate"][:] = np.where(
        gross_sales > 0, returns / np.where(gross_sales > 0, gross_sales, 1), np.nan
    )
    del returns, gross_sales
    col["n_returns"][:] = snap.n_returns[active]
    if margin:
        profit = snap.gross_profit[active]
        col["margin_rate"][:] = np.where(
            monetary > 0, profit / np.where(monetary > 0, monetary, 1), np.nan
        )
        del profit
    last_sales, prev_sales = col["sales_last"], col["sales_prev"]
    last_sales[:] = h.sales(c - span, c)[active]
    prev_sales[:] = h.sales(c - 2 * span, c - span)[active]
    denom = np.abs(last_sales) + np.abs(prev_sales)
    # bounded in [-1, 1]: -1 = bought before, nothing lately; +1 = new this period
    col["sales_trend"][:] = np.where(
        denom > 0, (last_sales - prev_sales) / np.where(denom > 0, denom, 1), 0.0
    )
    del denom
    col["days_last"][:] = h.purchase_days(c - span, c)[active]
    col["days_prev"][:] = h.purchase_days(c - 2 * span, c - span)[active]
    col["sales_12m"][:] = h.sales(c - 365, c)[active]
    return pd.DataFrame(block.T, index=h.ids[active], columns=names, copy=False)


def features_at(
    history: TransactionHistory,
    cutoff,
    *,
    active_days: int | None = 365,
    trend_days: int = 90,
    horizon_days: int | None = None,
    customers: pd.DataFrame | None = None,
    receivables: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.Series | None]:
    """Features (and labels) of the customers active at ``cutoff``, from sorted lines.

    The work behind :func:`churn_features` and :func:`churn_labels`: a study with
    several cutoffs sorts the lines once (:class:`~analysis.churn.history.TransactionHistory`)
    and calls this for each.

    Parameters
    ----------
    history : TransactionHistory
        The transaction lines, sorted.
    cutoff : date-like
        The cutoff day.
    active_days, trend_days : int
        As in :func:`churn_features`.
    horizon_days : int, optional
        When given, the labels of :func:`churn_labels` for this horizon are returned too.
    customers, receivables, interactions : DataFrame, optional
        As in :func:`churn_features`.

    Returns
    -------
    tuple of (DataFrame, Series or None)
        Features indexed by ``customer_id`` (the columns of :func:`churn_features`), and the
        0/1 ``churned`` labels on the same index (None without ``horizon_days``).
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    snap = history.snapshot(day_number(cutoff))
    active = snap.active(active_days)
    out = _transaction_features(history, snap, active, trend_days)
    ids = out.index
    parts = [out]
    if receivables is not None and len(receivables):
        rf = _receivable_features(receivables, cutoff)
        parts.append(rf.reindex(ids).fillna({"arrears": 0.0, "overdue_amount": 0.0}))
    if interactions is not None and len(interactions):
        parts.append(
            _interaction_features(interactions, cutoff, trend_days).reindex(ids).fillna(0.0)
        )
    if customers is not None and len(customers):
        parts.append(_customer_attributes(customers, cutoff).reindex(ids))
    X = pd.concat(parts, axis=1) if len(parts) > 1 else out
    X = X.rename_axis("customer_id")
    if horizon_days is None:
        return X, None
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    return X, pd.Series(_labels_at(history, snap, active, horizon_days), index=ids, name="churned")


def _receivable_features(ar: pd.DataFrame, cutoff) -> pd.DataFrame:
    """Collection days and arrears as the books stood at the cutoff.

    An invoice paid on or after the cutoff counts as unpaid at the cutoff; a
    partial payment counts ``paid_amount`` (the full amount when it is blank).
    """
    ar = _before(ar, cutoff, "invoice_date")
    paid_date = ar["paid_date"] if "paid_date" in ar.columns else pd.Series(pd.NaT, index=ar.index)
    paid_by_cutoff = paid_date.notna() & (paid_date < cutoff)
    amount = ar["amount"].astype("float64")
    paid_amt = ar["paid_amount"].astype("float64") if "paid_amount" in ar.columns else amount
    paid_amt = paid_amt.fillna(amount).where(paid_by_cutoff, 0.0)
    due = ar["due_date"] if "due_date" in ar.columns else ar["invoice_date"] + pd.Timedelta(days=30)
    open_amt = (amount - paid_amt).clip(lower=0)
    recent = ar["invoice_date"] >= cutoff - _YEAR
    work = pd.DataFrame(
        {
            "customer_id": ar["customer_id"].to_numpy(),
            "collect": (paid_date - ar["invoice_date"])
            .dt.days.where(paid_by_cutoff & recent)
            .to_numpy(),
            "arrears": open_amt.to_numpy(),
            "overdue": open_amt.where(due < cutoff, 0.0).to_numpy(),
            "invoiced": amount.where(recent, 0.0).to_numpy(),
        }
    )
    g = work.groupby("customer_id")
    out = pd.DataFrame(
        {
            "collection_days": g["collect"].mean(),
            "arrears": g["arrears"].sum(),
            "overdue_amount": g["overdue"].sum(),
            "invoiced_12m": g["invoiced"].sum(),
        }
    )
    share = (out["overdue_amount"] / out["invoiced_12m"]).where(out["invoiced_12m"] > 0)
    return out.assign(overdue_share=share).drop(columns="invoiced_12m")


def _interaction_features(inter: pd.DataFrame, cutoff, recent_days: int) -> pd.DataFrame:
    """Counts per kind in the year before the cutoff, and complaints in the last ``recent_days``."""
    w = inter[(inter["date"] < cutoff) & (inter["date"] >= cutoff - _YEAR)]
    kinds = w["kind"].astype("string").str.strip().str.lower()
    counts = pd.crosstab(w["customer_id"], kinds).reindex(
        columns=list(INTERACTION_KINDS), fill_value=0
    )
    recent = (kinds == "complaint") & (w["date"] >= cutoff - pd.Timedelta(days=recent_days))
    counts["complaints_recent"] = recent.groupby(w["customer_id"]).sum()
    return (
        counts.rename(columns={k: f"{k}s_12m" for k in INTERACTION_KINDS})
        .fillna(0)
        .astype("float64")
    )


def _customer_attributes(customers: pd.DataFrame, cutoff) -> pd.DataFrame:
    cols = [
        c for c in (*CATEGORICAL_FEATURES, "credit_limit", "monthly_fee") if c in customers.columns
    ]
    out = customers.set_index("customer_id")[cols].copy()
    for c in CATEGORICAL_FEATURES:
        if c in out.columns:
            out[c] = (
                out[c].astype("string").str.strip().astype(object).where(out[c].notna(), np.nan)
            )
    if "since" in customers.columns:
        since = customers.set_index("customer_id")["since"]
        out["customer_age_days"] = (cutoff - since).dt.days.where(since < cutoff).astype("float64")
    return out.drop(columns=[c for c in out.columns if out[c].isna().all()])


def churn_features(
    tx: pd.DataFrame,
    cutoff,
    *,
    customers: pd.DataFrame | None = None,
    receivables: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    active_days: int | None = 365,
    trend_days: int = 90,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> pd.DataFrame:
    """Features of every customer active at ``cutoff`` from data dated before it only.

    Parameters
    ----------
    tx : transactions (customer_id, date, amount [, cost]).
    cutoff : date; rows dated on or after it are ignored.
    customers, receivables, interactions : optional canonical tables; their
        families of features are added when given.
    active_days : who is scored (see :func:`active_customers`).
    trend_days : length of the "last" and "previous" periods of the trend features
        (and of the recent-complaints window).

    Returns
    -------
    DataFrame, one row per active customer: ``customer_id`` then numeric
    features (NaN where undefined, e.g. the interval of a single purchase) and
    the categorical columns of :data:`CATEGORICAL_FEATURES` that exist.
    """
    h = history_for(tx, id_col=id_col, date_col=date_col, amount_col=amount_col, cost_col=cost_col)
    X, _ = features_at(
        h,
        cutoff,
        active_days=active_days,
        trend_days=trend_days,
        customers=customers,
        receivables=receivables,
        interactions=interactions,
    )
    return X.reset_index()


# ------------------------------------------------------------ customer table
def parse_label(raw: pd.Series, *, column: str = "label") -> pd.Series:
    """Map a churn label column (Yes/No, 1/0, True/False, 是/否 ...) to int 0/1.

    Parameters
    ----------
    raw : Series
        The label column as read.
    column : str
        Its name, for error messages.

    Returns
    -------
    Series
        int 0/1, same index and name.

    Raises
    ------
    DataError
        when a value is blank or not a recognised yes/no word.
    """
    text = raw.astype("string").str.strip().str.lower()
    text = text.str.replace(r"\.0+$", "", regex=True)
    pos, neg = text.isin(_POSITIVE), text.isin(_NEGATIVE)
    bad = raw[~(pos | neg)]
    if len(bad):
        shown = ", ".join(repr(v) for v in bad.astype("string").fillna("<blank>").unique()[:5])
        raise DataError(
            f"{len(bad)} label value(s) are not yes/no words: {shown}. Expected 1/0, "
            f"Yes/No, True/False or 是/否 (churned = yes).",
            column=column,
        )
    return pos.astype("int64").rename(raw.name)


def clean_customer_table(
    raw: pd.DataFrame,
    *,
    label_col: str,
    id_col: str = "",
    max_levels: int = 50,
    numeric_share: float = 0.95,
) -> tuple[pd.DataFrame, pd.Series, list[dict]]:
    """Turn a customer-level export into (features, labels, notes).

    Text columns whose non-blank values are (almost) all numbers become numbers
    (blanks and the odd non-number become missing); other text columns are
    categorical with blanks as missing.  Columns with one value, and text
    columns with more than ``max_levels`` distinct values (names, free text)
    are dropped.  Every such change is one entry of ``notes``:
    ``{"column", "action", "count"}`` with action in ``to_number``,
    ``blank_to_missing``, ``not_number_to_missing``, ``dropped_constant``,
    ``dropped_high_cardinality``.

    Parameters
    ----------
    raw : DataFrame
        The export as read (text cells).
    label_col : str
        The churn label column.
    id_col : str
        The customer id column; empty means row numbers.
    max_levels : int
        Text columns with more distinct values are dropped.
    numeric_share : float
        Share of non-blank values that must be numbers for a text column to become numeric.

    Returns
    -------
    X : DataFrame indexed by ``id_col`` (or the row number), numeric columns as
        float64 and categorical columns as object with NaN for missing.
    y : int 0/1 Series aligned with X.
    notes : list of dicts as above.
    """
    for col in (label_col, id_col):
        if col and col not in raw.columns:
            raise DataError(
                f"Required column {col} missing (columns are {', '.join(map(str, raw.columns))})",
                column=col,
            )
    y = parse_label(raw[label_col], column=label_col)
    index = raw[id_col].astype("string").str.strip() if id_col else pd.RangeIndex(len(raw))
    if id_col and index.duplicated().any():  # one customer twice would sit in both train and test
        dup = index[index.duplicated(keep=False)]
        shown = ", ".join(
            f"line {p + 2} {v!r}" for p, v in zip(np.flatnonzero(index.duplicated(keep=False)), dup)
        )
        raise DataError(
            f"{len(dup)} rows share a customer id: {shown[:400]}. Expected each {id_col} once "
            f"(lines counted with the header as line 1).",
            column=id_col,
        )
    notes: list[dict] = []
    cols = {}
    for col in raw.columns:
        if col in (label_col, id_col):
            continue
        values = raw[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            cols[col] = values.astype("float64")
            continue
        text = values.astype("string").str.strip()
        blank = text.isna() | (text == "")
        filled = text[~blank]
        nums, bad = parse_numbers(filled)
        if len(filled) and 1 - len(bad) / len(filled) >= numeric_share:
            notes.append({"column": col, "action": "to_number", "count": int(len(filled))})
            if blank.any():
                notes.append(
                    {"column": col, "action": "blank_to_missing", "count": int(blank.sum())}
                )
            if len(bad):
                notes.append(
                    {"column": col, "action": "not_number_to_missing", "count": int(len(bad))}
                )
            cols[col] = nums.reindex(text.index).astype("float64")
            continue
        if blank.any():
            notes.append({"column": col, "action": "blank_to_missing", "count": int(blank.sum())})
        cols[col] = text.astype(object).where(~blank, np.nan)
    X = pd.DataFrame(cols)
    for col in list(X.columns):
        n_levels = X[col].nunique(dropna=True)
        if n_levels <= 1:
            notes.append({"column": col, "action": "dropped_constant", "count": int(n_levels)})
            X = X.drop(columns=col)
        elif X[col].dtype == object and n_levels > max_levels:
            notes.append(
                {"column": col, "action": "dropped_high_cardinality", "count": int(n_levels)}
            )
            X = X.drop(columns=col)
    X.index = pd.Index(index, name="customer_id")
    return X, y.set_axis(X.index), notes
