"""Customer classes (客户分类): ABC/Pareto, pyramid tiers, sales x loyalty, credit grades, RFM, migration.

Every function takes one row per customer (usually built from
:func:`analysis.engine.aggregate.customer_summary`) and returns a new frame with the
class added; inputs are never modified.  Class values are short codes ("important",
"A", "up" ...); their Chinese and English names are the labels
``cls_<kind>_<code>`` in ``labels/classification.yaml`` (see
:func:`class_label`).

Shared rules
------------
- **Ranking and ties.** Customers are ranked by value, largest first.  A
  class is decided by what the customers with a *strictly larger* value hold
  (their share of the total, or their number), so customers with exactly the
  same value always share a class, whatever their ids.
- **Non-positive values.** A customer with zero value, or whose returns make
  its net value negative, brings nothing: it is class C (ABC), small (pyramid)
  and never "high sales".
- **Float noise.** A cumulative share equal to a cut-off up to 1e-12 counts as
  reaching it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data.validation import require_columns
from analysis.viz.labels import label

__all__ = [
    "class_label",
    "label_values",
    "header",
    "ABC_CLASSES",
    "TIERS",
    "KEY_TIERS",
    "QUADRANTS",
    "CREDIT_GRADES",
    "CREDIT_SALES",
    "RFM_SEGMENTS",
    "MOVES",
    "NO_CLASS",
    "abc_classes",
    "class_summary",
    "abc_summary",
    "pyramid_tiers",
    "tier_summary",
    "key_customer_share",
    "months_active",
    "loyalty_scores",
    "sales_loyalty_quadrants",
    "credit_terms",
    "credit_grades",
    "credit_sales_cross",
    "rfm_scores",
    "rfm_segments",
    "class_migration",
    "migration_matrix",
    "largest_moves",
    "largest_moves_each_way",
    "move_summary",
    "graded_customers",
    "credit_sales_summary",
]

EPS = 1e-12
ABC_CLASSES = ("A", "B", "C")
# The tiers of the two pyramids in 《客户分类案例》: 重要客户 and 次要客户 together are the
# key customers (关键客户), then 普通客户 and 小客户 (docs/methods.md#customer-pyramid).
TIERS = ("important", "secondary", "ordinary", "small")  # 重要 / 次要 / 普通 / 小客户
KEY_TIERS = TIERS[:2]  # 关键客户 = 重要客户 + 次要客户
# (high sales, high loyalty) -> quadrant letter.  《如何做好客户分类管理》 only names the four
# quadrants A-D of sales volume x loyalty; which letter is which, and the meanings below, are the
# project's choice (docs/methods.md#sales-loyalty-quadrants).
QUADRANTS = {
    (True, True): "A",  # 核心客户 core: keep and reward
    (True, False): "B",  # 摇摆大客户 big but not loyal: secure them
    (False, True): "C",  # 忠诚小客户 loyal but small: grow their share of wallet
    (False, False): "D",  # 边缘客户 marginal: serve at low cost
}
CREDIT_GRADES = ("A", "B", "C", "D")
CREDIT_SALES = ("both_good", "strong_sales_poor_credit", "good_credit_weak_sales", "both_weak")
# (R high, F high, M high) -> the eight classic RFM classes (重要价值客户 ...)
RFM_SEGMENTS = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_retain",
    (False, False, True): "important_winback",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_retain",
    (False, False, False): "general_winback",
}
MOVES = ("up", "down", "same", "entered", "left")
NO_CLASS = "none"


# ------------------------------------------------------------------ names
def class_label(kind: str, code, lang: str) -> str:
    """The name of a class code: label ``cls_<kind>_<code>`` when defined, else the code itself.

    Parameters
    ----------
    kind : str
        The class kind (``tier``, ``abc`` ...).
    code : object
        The class code.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The name in ``lang``.
    """
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return "–"
    try:
        return label(f"cls_{kind}_{code}", lang)
    except KeyError:
        return str(code)


def label_values(values: pd.Series, kind: str, lang: str) -> pd.Series:
    """Class codes -> names (see :func:`class_label`); missing values stay missing.

    Parameters
    ----------
    values : Series
        Class codes.
    kind : str
        The class kind.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    Series
        The names (object dtype).
    """
    names = {v: class_label(kind, v, lang) for v in values.dropna().unique()}
    return values.map(names).astype("object")


def header(col: str, lang: str) -> str:
    """Header text of a column: label ``cls_<col>``, else the common label ``<col>``, else the name.

    Parameters
    ----------
    col : str
        The column name.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The header in ``lang``.
    """
    for key in (f"cls_{col}", col):
        try:
            return label(key, lang)
        except KeyError:
            continue
    return str(col)


# ------------------------------------------------------------------ helpers
def _unique_ids(df: pd.DataFrame, id_col: str) -> None:
    dup = df[id_col].duplicated(keep=False)
    if dup.any():
        shown = ", ".join(map(str, df.loc[dup, id_col].unique()[:5]))
        raise ValueError(f"{id_col} must be unique (one row per customer); repeated: {shown}")


def _values(df: pd.DataFrame, col: str) -> pd.Series:
    v = df[col].astype("float64")
    if len(v) and v.isna().all():
        raise ValueError(
            f"column {col} has no values (gross profit needs a cost column in the "
            f"transactions; use the sales basis instead)"
        )
    return v.fillna(0.0)


def _n_before(values: pd.Series) -> pd.Series:
    """How many rows have a strictly larger value (ties share the count)."""
    return ((-values).rank(method="min") - 1).astype("float64")


def _cum_bounds(shares: Sequence[float], n: int, what: str) -> np.ndarray:
    shares = [float(s) for s in shares]
    if any(s < 0 for s in shares) or sum(shares) > 1 + EPS:
        raise ValueError(f"{what} must be non-negative shares adding up to at most 1, got {shares}")
    return np.round(np.cumsum(shares) * n, 9)


def _check_cutoffs(cutoffs: Sequence[float]) -> tuple[float, float]:
    if len(cutoffs) != 2:
        raise ValueError(
            f"cutoffs must be two cumulative shares (A, B), e.g. (0.75, 0.95); got {cutoffs!r}"
        )
    a, b = (float(c) for c in cutoffs)
    if not 0 < a < b <= 1:
        raise ValueError(
            f"cutoffs must satisfy 0 < A < B <= 1, e.g. (0.75, 0.95) or (0.8, 0.95); got {cutoffs!r}"
        )
    return a, b


def _pct_rank(values: pd.Series) -> pd.Series:
    """Percentile rank in (0, 1]; equal values share the average rank."""
    return values.rank(method="average", pct=True)


# ------------------------------------------------------------------ ABC / Pareto
def abc_classes(
    df: pd.DataFrame,
    value_col: str,
    *,
    cutoffs: Sequence[float] = (0.75, 0.95),
    id_col: str = "customer_id",
    class_col: str = "abc_class",
) -> pd.DataFrame:
    """ABC (Pareto) classes by cumulative share of value (ABC分类).

    Works for customers and for products (``id_col="product_id"``), on sales or
    on gross profit.

    Parameters
    ----------
    df : DataFrame
        One row per customer (or product).
    value_col : str
        The value to rank by (net sales, gross profit ...).
    cutoffs : (float, float)
        Cumulative shares closing class A and class B; (0.75, 0.95) reads the
        A ≈ 75%, B ≈ 20%, C ≈ 5% of 《如何做好客户分类管理》's customer analysis as
        shares of sales (docs/methods.md#abc-pareto).
    id_col, class_col : str
        Identifier column and name of the class column to add.

    Returns
    -------
    DataFrame
        The rows sorted by value (largest first; equal values by id), with
        ``rank`` (1 = largest), ``share`` (value / net total, NaN when the net
        total is not positive), ``cum_share`` (cumulative share of the positive
        values, for the Pareto line) and ``class_col``.

    Notes
    -----
    Boundary rule: a row is in A when the rows with a strictly larger value
    hold less than the A cut-off (e.g. 75%) of the positive total; in B when
    they hold less than the B cut-off; otherwise in C.  So the customer whose
    own sales carry the cumulative share across the cut-off is in A, A always
    reaches at least the cut-off, and equal values always share a class (the
    same customers rank above each of them).  A share exactly equal to the
    cut-off has reached it.  Rows with a value of zero or less are C.  With
    cut-offs (0.75, 0.95) and values 50, 30, 15, 5 the larger rows hold 0%,
    50%, 80% and 95%: classes A, A, B, C.
    """
    require_columns(df, [id_col, value_col], "the table to classify")
    a, b = _check_cutoffs(cutoffs)
    _unique_ids(df, id_col)
    v = _values(df, value_col)
    order = (
        pd.DataFrame({"v": v, "id": df[id_col].astype("string")})
        .sort_values(["v", "id"], ascending=[False, True], kind="stable")
        .index
    )
    v = v.loc[order]
    positive = v.clip(lower=0.0)
    total_pos, total_net = positive.sum(), v.sum()
    cum = positive.cumsum()
    before = (cum - positive).groupby(v).transform("min")
    if total_pos > 0:
        before_share, cum_share = before / total_pos, cum / total_pos
    else:
        before_share = cum_share = pd.Series(np.nan, index=v.index)
    cls = np.select(
        [
            v.le(0).to_numpy(),
            (before_share < a - EPS).to_numpy(),
            (before_share < b - EPS).to_numpy(),
        ],
        ["C", "A", "B"],
        "C",
    )
    out = df.loc[order].assign(
        rank=np.arange(1, len(v) + 1),
        share=(v / total_net) if total_net > 0 else np.nan,
        cum_share=cum_share.to_numpy(),
        **{class_col: cls},
    )
    return out.reset_index(drop=True)


def class_summary(
    df: pd.DataFrame,
    class_col: str,
    classes: Sequence[str],
    value_cols: Sequence[str] = ("monetary",),
) -> pd.DataFrame:
    """Count and value per class, with shares of the totals (every listed class gets a row).

    Shares are of the net totals of the whole table, so they add up to 1; a
    share is NaN when its total is not positive.  Rows whose class is not in
    ``classes`` (e.g. unrated) count in the totals but get no row.

    Parameters
    ----------
    df : DataFrame
        One row per customer.
    class_col : str
        The class column.
    classes : sequence of str
        The classes, in the order of the rows.
    value_cols : sequence of str
        Columns summed per class.

    Returns
    -------
    DataFrame
        ``class_col``, ``count``, ``count_share`` and, per value column, the
        column and ``<column>_share``.
    """
    require_columns(df, [class_col, *value_cols], "the class table")
    g = df.groupby(class_col, sort=False)
    out = pd.DataFrame({class_col: list(classes)})
    counts = g.size()
    out["count"] = out[class_col].map(counts).fillna(0).astype("int64")
    out["count_share"] = out["count"] / len(df) if len(df) else np.nan
    for col in value_cols:
        vals = df[col].astype("float64")
        sums = vals.groupby(df[class_col], sort=False).sum()
        out[col] = out[class_col].map(sums).fillna(0.0).astype("float64")
        total = vals.sum()
        out[f"{col}_share"] = out[col] / total if total > 0 else np.nan
    return out


def abc_summary(
    classes: pd.DataFrame,
    value_cols: Sequence[str] = ("monetary",),
    *,
    class_col: str = "abc_class",
) -> pd.DataFrame:
    """Count share against value share for A, B and C (the Pareto table).

    Parameters
    ----------
    classes : DataFrame
        From :func:`abc_classes`.
    value_cols : sequence of str
        Columns summed per class.
    class_col : str
        The ABC class column.

    Returns
    -------
    DataFrame
        As :func:`class_summary` for A, B and C.
    """
    return class_summary(classes, class_col, ABC_CLASSES, value_cols)


# ------------------------------------------------------------------ pyramid
def _check_pyramid(key_share: float, important_share: float, ordinary_share: float) -> list[float]:
    shares = [
        float(important_share),
        float(key_share) - float(important_share),
        float(ordinary_share),
    ]
    if not 0 < key_share <= 1:
        raise ValueError(
            f"key_share must be a share of customers in (0, 1], e.g. 0.2; got {key_share!r}"
        )
    if not 0 <= important_share <= key_share:
        raise ValueError(
            f"important_share must be between 0 and key_share ({key_share}): the important "
            f"customers are part of the key customers; got {important_share!r}"
        )
    if ordinary_share < 0 or key_share + ordinary_share > 1 + EPS:
        raise ValueError(
            f"ordinary_share must be >= 0 and key_share + ordinary_share at most 1 "
            f"(the rest are small); got {key_share!r} + {ordinary_share!r}"
        )
    return shares


def pyramid_tiers(
    df: pd.DataFrame,
    value_col: str,
    *,
    key_share: float = 0.20,
    important_share: float = 0.01,
    ordinary_share: float = 0.30,
    id_col: str = "customer_id",
    tier_col: str = "tier",
) -> pd.DataFrame:
    """Customer pyramid tiers (客户金字塔): important / secondary / ordinary / small.

    《客户分类案例》: the key customers (关键客户) are the top 20% of customers and
    bring about 80% of profit; its two pyramids (customer count, profit) name
    the tiers 重要客户 and 次要客户 (together the key customers), 普通客户 and
    小客户, but give no shares beyond the key 20%.  So ``key_share`` (0.20) is
    the source's; the split of the key customers into important
    (``important_share`` of all customers, default 1%) and secondary (the rest
    of ``key_share``) and the share of ordinary customers (``ordinary_share``,
    default 30%; the rest are small) are the project's choice, a common textbook
    split of 1% / 19% / 30% / 50% (docs/methods.md#customer-pyramid).

    Customers are ranked by ``value_col`` (profit when known).  A customer is
    in a tier when the number of customers with a strictly larger value is
    below the tier's cumulative bound (e.g. key when fewer than 0.2 n rank
    above it), so ties share a tier; a value of zero or less is always small.

    Parameters
    ----------
    df : DataFrame
        One row per customer.
    value_col : str
        The value ranked (gross profit when known).
    key_share, important_share, ordinary_share : float
        Shares of all customers in the key tiers, in the important tier and in the ordinary tier.
    id_col : str
        Customer id column.
    tier_col : str
        The tier column written.

    Returns
    -------
    DataFrame
        ``df`` (same order) with ``tier_rank`` (1 = largest, ties share),
        ``tier_col`` and ``key_customer`` (True for the important and
        secondary tiers).
    """
    require_columns(df, [id_col, value_col], "the table to tier")
    shares = _check_pyramid(key_share, important_share, ordinary_share)
    _unique_ids(df, id_col)
    v = _values(df, value_col)
    before = _n_before(v)
    b1, b2, b3 = _cum_bounds(shares, len(df), "pyramid shares")
    tier = np.select(
        [
            v.le(0).to_numpy(),
            (before < b1).to_numpy(),
            (before < b2).to_numpy(),
            (before < b3).to_numpy(),
        ],
        [TIERS[3], TIERS[0], TIERS[1], TIERS[2]],
        TIERS[3],
    )
    return df.assign(
        tier_rank=(before + 1).astype("int64"),
        **{tier_col: tier},
        key_customer=np.isin(tier, KEY_TIERS),
    )


def tier_summary(
    tiers: pd.DataFrame,
    value_cols: Sequence[str] = ("monetary", "gross_profit"),
    *,
    tier_col: str = "tier",
) -> pd.DataFrame:
    """Count and value per tier, important first (the two pyramids of 《客户分类案例》).

    Parameters
    ----------
    tiers : DataFrame
        From :func:`pyramid_tiers`.
    value_cols : sequence of str
        Columns summed per tier.
    tier_col : str
        Pyramid tier column.

    Returns
    -------
    DataFrame
        As :func:`class_summary` per tier.
    """
    return class_summary(tiers, tier_col, TIERS, value_cols)


def key_customer_share(tiers: pd.DataFrame, value_col: str, *, tier_col: str = "tier") -> dict:
    """The key customers (重要 + 次要客户) against all: their count, share of customers and share of value.

    The check of 《客户分类案例》's rule of thumb: the top 20% of customers bring about 80% of profit.

    Parameters
    ----------
    tiers : DataFrame
        From :func:`pyramid_tiers`.
    value_col : str
        The value whose share is measured.
    tier_col : str
        Pyramid tier column.

    Returns
    -------
    dict
        ``key_customers``, ``key_count_share`` and ``key_value_share``.
    """
    require_columns(tiers, [tier_col, value_col], "the tier table")
    key = tiers[tier_col].isin(KEY_TIERS)
    v = tiers[value_col].astype("float64")
    total = float(v.sum())
    return {
        "key_customers": int(key.sum()),
        "key_count_share": float(key.mean()) if len(tiers) else float("nan"),
        "key_value_share": float(v[key].sum()) / total if total > 0 else float("nan"),
    }


# ------------------------------------------------------------------ loyalty and quadrants
def months_active(
    tx: pd.DataFrame,
    start,
    end,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Distinct calendar months with a purchase (amount > 0) per customer in ``[start, end)``.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    start, end : date-like
        The half-open window.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    amount_col : str
        Net amount column (sales; returns negative).

    Returns
    -------
    DataFrame
        customer_id and ``months_active``; customers without a purchase have no row.
    """
    require_columns(tx, [id_col, date_col, amount_col], "transactions")
    from analysis.engine import windows

    engine = windows.engine_for(tx)
    if engine != "pandas":
        step = windows.months_active_spark if engine == "spark" else windows.months_active_duckdb
        cols = dict(id_col=id_col, date_col=date_col, amount_col=amount_col)
        return step(tx, start, end, **cols)
    d = tx[date_col]
    rows = tx[(d >= pd.Timestamp(start)) & (d < pd.Timestamp(end)) & (tx[amount_col] > 0)]
    if rows.empty:
        return pd.DataFrame(
            {id_col: rows[id_col].iloc[:0], "months_active": pd.Series(dtype="int64")}
        )
    # distinct (customer, month) pairs as integer keys: no 10-million-row frame of pairs
    codes, ids = pd.factorize(rows[id_col], sort=True)
    month = (rows[date_col].dt.year * 12 + rows[date_col].dt.month).to_numpy(dtype="int64")
    span = int(month.max() - month.min()) + 1
    pairs = pd.unique(codes.astype("int64") * span + (month - month.min()))
    counts = np.bincount(pairs // span, minlength=len(ids))
    return pd.DataFrame({id_col: np.asarray(ids, dtype=object), "months_active": counts})


def loyalty_scores(
    df: pd.DataFrame,
    *,
    months_col: str = "months_active",
    tenure_col: str = "tenure_days",
    window_months: int = 12,
    tenure_full_days: int = 730,
) -> pd.DataFrame:
    """Loyalty (忠诚度) in [0, 1] from tenure and regularity.

    - ``tenure_score`` = tenure_days / ``tenure_full_days`` capped at 1: how
      long the customer has bought from us (two years = full);
    - ``activity_score`` = months with a purchase / ``window_months`` capped at
      1: how regularly it buys (a purchase every month = full);
    - ``loyalty`` = the mean of the two.  Missing inputs count as 0.

    Parameters
    ----------
    df : DataFrame
        One row per customer.
    months_col : str
        Months with a purchase.
    tenure_col : str
        Tenure in days.
    window_months : int
        Months of the window.
    tenure_full_days : int
        Tenure that scores 1.

    Returns
    -------
    DataFrame
        ``df`` with ``tenure_score``, ``activity_score`` and ``loyalty``.
    """
    require_columns(df, [months_col, tenure_col], "the customer table")
    if window_months < 1 or tenure_full_days < 1:
        raise ValueError("window_months and tenure_full_days must be at least 1")
    tenure = (df[tenure_col].astype("float64") / tenure_full_days).clip(0, 1).fillna(0.0)
    activity = (df[months_col].astype("float64") / window_months).clip(0, 1).fillna(0.0)
    return df.assign(tenure_score=tenure, activity_score=activity, loyalty=(tenure + activity) / 2)


def sales_loyalty_quadrants(
    df: pd.DataFrame,
    *,
    sales_col: str = "monetary",
    loyalty_col: str = "loyalty",
    sales_split: float | None = None,
    loyalty_split: float | None = None,
    quadrant_col: str = "quadrant",
) -> pd.DataFrame:
    """Sales volume x loyalty quadrants A-D (销量×忠诚度四象限).

    《如何做好客户分类管理》 names the method and the four quadrants A-D and no
    more; the loyalty measure, the splits and the meaning of each letter are
    the project's choice (docs/methods.md#sales-loyalty-quadrants).

    High sales: at or above ``sales_split`` (default: the median of the table)
    and above zero.  High loyalty: at or above ``loyalty_split`` (default: the
    median loyalty).  Medians split the customers into halves on each axis,
    whatever the business; a fixed split (e.g. 0.5) can be given.  A = high
    sales and loyal (core), B = high sales, not loyal (wavering big), C = loyal
    but small, D = neither (marginal).  The splits used are returned as
    columns ``sales_split`` and ``loyalty_split`` for the chart.

    Parameters
    ----------
    df : DataFrame
        Customers with sales and loyalty.
    sales_col : str
        Sales column.
    loyalty_col : str
        Loyalty column.
    sales_split, loyalty_split : float, optional
        The splits (default: the medians).
    quadrant_col : str
        The quadrant column written.

    Returns
    -------
    DataFrame
        ``df`` with the quadrant, ``sales_split`` and ``loyalty_split``.
    """
    require_columns(df, [sales_col, loyalty_col], "the customer table")
    s = df[sales_col].astype("float64").fillna(0.0)
    loyal = df[loyalty_col].astype("float64").fillna(0.0)
    split = float(s.median()) if sales_split is None else float(sales_split)
    lsplit = float(loyal.median()) if loyalty_split is None else float(loyalty_split)
    high_s = (s >= split) & (s > 0)
    high_l = loyal >= lsplit
    quad = [QUADRANTS[(bool(a), bool(b))] for a, b in zip(high_s, high_l)]
    return df.assign(**{quadrant_col: quad}, sales_split=split, loyalty_split=lsplit)


# ------------------------------------------------------------------ credit
def _grade_index(values: pd.Series, limits: Sequence[float]) -> pd.Series:
    """0 (A) when value <= limits[0], 1 (B) <= limits[1], 2 (C) <= limits[2], else 3 (D); NaN stays NaN."""
    limits = [float(x) for x in limits]
    if len(limits) != 3 or sorted(limits) != limits:
        raise ValueError(
            f"grade limits must be three increasing numbers (A, B, C; beyond = D), got {limits}"
        )
    idx = np.searchsorted(np.asarray(limits), values.to_numpy(dtype="float64"), side="left").astype(
        "float64"
    )
    return pd.Series(np.where(values.isna(), np.nan, idx), index=values.index)


def credit_terms(
    receivables: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    invoice_date_col: str = "invoice_date",
    due_date_col: str = "due_date",
) -> pd.DataFrame:
    """Each customer's credit terms (账期): the median days from invoice to due date.

    Parameters
    ----------
    receivables : DataFrame
        Invoices.
    id_col : str
        Customer id column.
    invoice_date_col, due_date_col : str
        Invoice and due date columns.

    Returns
    -------
    DataFrame
        customer_id and ``terms_days`` (NaN for a customer whose invoices carry no due date).
    """
    require_columns(receivables, [id_col, invoice_date_col], "receivables")
    if due_date_col in receivables.columns:
        days = (receivables[due_date_col] - receivables[invoice_date_col]).dt.days.astype("float64")
    else:
        days = pd.Series(np.nan, index=receivables.index)
    terms = days.groupby(receivables[id_col], sort=True).median()
    return terms.rename("terms_days").rename_axis(id_col).reset_index()


def credit_grades(
    indicators: pd.DataFrame,
    *,
    days_limits: Sequence[float] = (5, 15, 30),
    overdue_limits: Sequence[float] = (0.05, 0.15, 0.30),
    days_col: str = "collection_days",
    terms_col: str | None = "terms_days",
    default_terms: float = 30.0,
    overdue_col: str = "overdue",
    invoiced_col: str = "invoiced",
    grade_col: str = "credit_grade",
) -> pd.DataFrame:
    """Credit grades A-D from payment behaviour (信用等级).

    《如何做好客户分类管理》 grades customers by credit from high to low; the two
    measures and their limits are the project's choice (docs/methods.md#credit-grades).

    Two measures, each graded against three limits (at or below the first = A,
    the second = B, the third = C, beyond = D):

    - ``days_over_terms``: average collection days (平均收款周期) minus the
      customer's credit terms (``terms_col``; ``default_terms`` where unknown),
      so a customer on 90-day terms who pays on day 90 is as good as one on
      30-day terms paying on day 30;
    - ``overdue_rate``: overdue amount / amount invoiced in the period (the part
      of the arrears past its due date; an overdue amount without invoicing
      in the period is rate 1, nothing invoiced and nothing overdue rate 0).

    The grade is the worse of the two; with only one measure, that one; with
    neither (no invoices, no receipts) the customer is unrated (NaN).
    ``credit_points`` = 4 (A) ... 1 (D).

    Parameters
    ----------
    indicators : DataFrame
        One row per customer, e.g. :func:`analysis.products.margin.receivable_indicators`
        joined with :func:`credit_terms`.
    terms_col : str or None
        Column with the credit terms in days; None grades the raw collection days.

    Returns
    -------
    DataFrame
        ``indicators`` with ``days_over_terms``, ``overdue_rate``, the grade and ``credit_points``.
    """
    require_columns(indicators, [days_col, overdue_col, invoiced_col], "the receivable indicators")
    inv = indicators[invoiced_col].astype("float64").fillna(0.0)
    over = indicators[overdue_col].astype("float64").fillna(0.0)
    rate = pd.Series(
        np.where(inv > 0, over / inv.where(inv > 0), np.where(over > 0, 1.0, 0.0)),
        index=indicators.index,
    )
    terms = (
        indicators[terms_col].astype("float64").fillna(default_terms)
        if terms_col and terms_col in indicators.columns
        else 0.0
        if terms_col is None
        else pd.Series(default_terms, index=indicators.index)
    )
    late = indicators[days_col].astype("float64") - terms
    gd = _grade_index(late, days_limits)
    go = _grade_index(rate.where(inv.gt(0) | over.gt(0)), overdue_limits)
    worst = pd.concat([gd, go], axis=1).max(axis=1, skipna=True)
    letters = np.array(CREDIT_GRADES, dtype=object)
    grade = pd.Series(
        [letters[int(i)] if pd.notna(i) else np.nan for i in worst],
        index=indicators.index,
        dtype="object",
    )
    return indicators.assign(
        days_over_terms=late,
        overdue_rate=rate,
        **{grade_col: grade},
        credit_points=(4 - worst).astype("float64"),
    )


def credit_sales_cross(
    df: pd.DataFrame,
    *,
    credit_col: str = "credit_grade",
    sales_class_col: str = "abc_class",
    good_grades: Sequence[str] = ("A", "B"),
    strong_classes: Sequence[str] = ("A",),
    cross_col: str = "credit_sales",
) -> pd.DataFrame:
    """Cross credit with sales (《如何做好客户分类管理》's three types plus "both weak"): both good, strong sales but poor credit, good credit but weak
    sales, both weak.  Unrated customers (no credit grade) get NaN.

    Parameters
    ----------
    df : DataFrame
        Customers with a credit grade and an ABC class.
    credit_col, sales_class_col : str
        Credit grade and sales class columns.
    good_grades, strong_classes : sequence of str
        Grades counted good and classes counted strong.
    cross_col : str
        The column written.

    Returns
    -------
    DataFrame
        ``df`` with the credit × sales type.
    """
    require_columns(df, [credit_col, sales_class_col], "the customer table")
    good = df[credit_col].isin(list(good_grades))
    strong = df[sales_class_col].isin(list(strong_classes))
    key = np.select([good & strong, strong, good], CREDIT_SALES[:3], CREDIT_SALES[3])
    return df.assign(
        **{cross_col: pd.Series(key, index=df.index, dtype="object").where(df[credit_col].notna())}
    )


# ------------------------------------------------------------------ RFM
def _score(values: pd.Series, bins: int) -> pd.Series:
    pct = _pct_rank(values).to_numpy()
    return pd.Series(
        np.clip(np.ceil(np.round(pct * bins, 9)), 1, bins).astype("int64"), index=values.index
    )


def rfm_scores(
    df: pd.DataFrame,
    *,
    recency_col: str = "recency_days",
    frequency_col: str = "frequency",
    monetary_col: str = "monetary",
    bins: int = 5,
) -> pd.DataFrame:
    """R, F and M scores 1..``bins`` by percentile rank (RFM分析).

    score = ceil(bins x percentile rank), the percentile rank being rank / n
    with equal values sharing their average rank, so ties share a score and
    a table where everyone is equal sits in the middle.  R ranks the most
    recent highest (a customer who never bought has the worst recency); F and
    M rank the largest highest.  ``rfm_code`` is e.g. "545".

    Parameters
    ----------
    df : DataFrame
        One row per customer.
    recency_col, frequency_col, monetary_col : str
        Days since the last purchase, purchase days and net sales.
    bins : int
        Highest score.

    Returns
    -------
    DataFrame
        ``df`` with ``r_score``, ``f_score``, ``m_score`` and ``rfm_code``.
    """
    require_columns(df, [recency_col, frequency_col, monetary_col], "the customer table")
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins!r}")
    rec = -df[recency_col].astype("float64").fillna(np.inf)
    r = _score(rec, bins)
    f = _score(df[frequency_col].astype("float64").fillna(0.0), bins)
    m = _score(df[monetary_col].astype("float64").fillna(0.0), bins)
    code = r.astype(str) + f.astype(str) + m.astype(str)
    # one text per code (at most bins**3) that the rows point at, not a Python string per row
    at, codes = pd.factorize(code)
    code = pd.Series(codes.to_numpy(dtype=object)[at], index=code.index, dtype="object")
    return df.assign(r_score=r, f_score=f, m_score=m, rfm_code=code)


def rfm_segments(
    scores: pd.DataFrame, *, high_score: int = 4, segment_col: str = "rfm_segment"
) -> pd.DataFrame:
    """The eight RFM classes (重要价值客户 ... 一般挽留客户): R, F and M each high when the score is
    at or above ``high_score``; M high = 重要 (important), R and F decide value / develop / retain / win back.

    Parameters
    ----------
    scores : DataFrame
        From :func:`rfm_scores`.
    high_score : int
        Lowest high score.
    segment_col : str
        The column written.

    Returns
    -------
    DataFrame
        ``scores`` with the segment.
    """
    require_columns(scores, ["r_score", "f_score", "m_score"], "the RFM scores")
    hi = [scores[c] >= high_score for c in ("r_score", "f_score", "m_score")]
    seg = [RFM_SEGMENTS[(bool(r), bool(f), bool(m))] for r, f, m in zip(*hi)]
    return scores.assign(**{segment_col: seg})


# ------------------------------------------------------------------ migration
def class_migration(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    class_col: str = "abc_class",
    order: Sequence[str] = ABC_CLASSES,
    id_col: str = "customer_id",
    value_col: str | None = None,
) -> pd.DataFrame:
    """Each customer's class last period vs this period (the dynamic principle, 动态原则).

    ``order`` lists the classes best first.  A customer missing from a period
    has class ``"none"``.  ``move`` is up / down / same (classes compared by
    ``order``), entered (none -> a class) or left (a class -> none).  With
    ``value_col`` the values of both periods and their change are kept.

    Parameters
    ----------
    before, after : DataFrame
        Classes of the two periods.
    class_col : str
        Class column.
    order : sequence of str
        The classes, best first.
    id_col : str
        Customer id column.
    value_col : str, optional
        A value kept for both periods.

    Returns
    -------
    DataFrame
        One row per customer: class before and after, ``move`` (and values and change), sorted by
        id.
    """
    require_columns(before, [id_col, class_col], "the earlier classes")
    require_columns(after, [id_col, class_col], "the later classes")
    cols = [id_col, class_col] + ([value_col] if value_col else [])
    m = before[cols].merge(after[cols], on=id_col, how="outer", suffixes=("_before", "_after"))
    cb = m[f"{class_col}_before"].astype("object").fillna(NO_CLASS)
    ca = m[f"{class_col}_after"].astype("object").fillna(NO_CLASS)
    unknown = (set(cb) | set(ca)) - {NO_CLASS, *order}
    if unknown:
        raise ValueError(f"classes {sorted(map(str, unknown))} are not in order {list(order)}")
    pos = {c: i for i, c in enumerate(order)}
    rb, ra = cb.map(pos), ca.map(pos)
    move = np.select(
        [cb.eq(NO_CLASS), ca.eq(NO_CLASS), ra < rb, ra > rb],
        ["entered", "left", "up", "down"],
        "same",
    )
    out = pd.DataFrame({id_col: m[id_col], "class_before": cb, "class_after": ca, "move": move})
    if value_col:
        vb = m[f"{value_col}_before"].astype("float64").fillna(0.0)
        va = m[f"{value_col}_after"].astype("float64").fillna(0.0)
        out = out.assign(value_before=vb, value_after=va, change=va - vb)
    return out.sort_values(id_col, kind="stable").reset_index(drop=True)


def migration_matrix(moves: pd.DataFrame, *, order: Sequence[str] = ABC_CLASSES) -> pd.DataFrame:
    """Transition counts: rows = class last period, columns = class this period ("none" last).

    Parameters
    ----------
    moves : DataFrame
        From :func:`class_migration`.
    order : sequence of str
        The classes, best first.

    Returns
    -------
    DataFrame
        Customers per (class before, class after).
    """
    require_columns(moves, ["class_before", "class_after"], "the migration table")
    states = [*order, NO_CLASS]
    mat = pd.crosstab(moves["class_before"], moves["class_after"]).reindex(
        index=states, columns=states, fill_value=0
    )
    mat.index.name, mat.columns.name = "class_before", "class_after"
    return mat.astype("int64")


def largest_moves(moves: pd.DataFrame, *, direction: str = "up", n: int = 10) -> pd.DataFrame:
    """The ``n`` largest moves up (biggest value gain first) or down (biggest loss first).

    "up" includes customers who entered, "down" those who left.

    Parameters
    ----------
    moves : DataFrame
        From :func:`class_migration`.
    direction : str
        ``"up"`` or ``"down"``.
    n : int
        Customers kept.

    Returns
    -------
    DataFrame
        The ``n`` largest moves.
    """
    require_columns(moves, ["move", "change"], "the migration table (built with value_col)")
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")
    kinds = ["up", "entered"] if direction == "up" else ["down", "left"]
    rows = moves[moves["move"].isin(kinds)]
    rows = rows.sort_values("change", ascending=(direction == "down"), kind="stable")
    return rows.head(n).reset_index(drop=True)


def largest_moves_each_way(moves: pd.DataFrame, *, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest moves up, then the ``n`` largest moves down (:func:`largest_moves`).

    Parameters
    ----------
    moves : DataFrame
        From :func:`class_migration` (built with ``value_col``).
    n : int
        Customers each way.

    Returns
    -------
    DataFrame
        At most ``2 n`` rows: the moves up (biggest gain first), then down (biggest loss first).
    """
    return pd.concat(
        [largest_moves(moves, direction=d, n=n) for d in ("up", "down")], ignore_index=True
    )


def move_summary(moves: pd.DataFrame, *, move_col: str = "move") -> pd.DataFrame:
    """Customers and the change of value per direction of migration (升级、降级、不变、新进、流失).

    Parameters
    ----------
    moves : DataFrame
        From :func:`class_migration` (built with ``value_col``, so it has ``change``).

    Returns
    -------
    DataFrame
        ``move``, ``count``, ``count_share`` and ``change`` (the sum of the value changes; a
        share of a net change means nothing, so there is none).
    """
    return class_summary(moves, move_col, MOVES, ["change"]).drop(columns="change_share")


def graded_customers(
    abc: pd.DataFrame,
    indicators: pd.DataFrame,
    *,
    days_limits: Sequence[float] = (5, 15, 30),
    overdue_limits: Sequence[float] = (0.05, 0.15, 0.30),
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Each classified customer with its credit grade and its credit × sales type.

    Parameters
    ----------
    abc : DataFrame
        From :func:`abc_classes`: ``id_col``, ``abc_class`` and ``monetary``.
    indicators : DataFrame
        The payment record per customer with credit terms (e.g.
        :func:`analysis.finance.credit.credit_indicators`), graded by :func:`credit_grades`.
    days_limits, overdue_limits : sequence of float
        Limits of grades A, B, C (see :func:`credit_grades`).

    Returns
    -------
    DataFrame
        One row per customer of ``abc``: ``id_col``, ``abc_class``, ``monetary``, the grading
        columns (NaN without receivables) and ``credit_sales`` (:func:`credit_sales_cross`).
    """
    require_columns(abc, [id_col, "abc_class", "monetary"], "the ABC table")
    graded = credit_grades(indicators, days_limits=days_limits, overdue_limits=overdue_limits)
    return credit_sales_cross(
        abc[[id_col, "abc_class", "monetary"]].merge(graded, on=id_col, how="left")
    )


def credit_sales_summary(
    credit: pd.DataFrame, value_cols: Sequence[str] = ("monetary", "arrears", "overdue")
) -> pd.DataFrame:
    """Customers, sales, arrears and overdue per credit × sales type (信用×销售), with shares.

    Parameters
    ----------
    credit : DataFrame
        From :func:`graded_customers` (or :func:`credit_sales_cross`).
    value_cols : sequence of str
        Columns summed per type.

    Returns
    -------
    DataFrame
        One row per type of :data:`CREDIT_SALES` (see :func:`class_summary`); unrated
        customers count in the totals only.
    """
    return class_summary(credit, "credit_sales", CREDIT_SALES, value_cols)
