"""Credit limits by customer class (worked case 3, seed 002: the pharma distributor "MM").

The flow of the case:

1. grade customers A/B/C/D on last year's sales and payment record
   (:func:`credit_basis`, :func:`credit_classes`);
2. split next year's total credit limit over the classes (:func:`class_limits`,
   each class's share a parameter), then within a class over its customers in
   proportion to sales, capped by the payment record (:func:`customer_limits`);
3. check how receivables are concentrated: the largest debtors against the key
   customers (the largest by sales) (:func:`receivables_concentration`);
4. during the year a quarterly adjustment may move limit between customers but
   must keep the total fixed (:func:`check_adjustments`, :func:`apply_adjustments`).

Sales per customer come from :func:`analysis.aggregate.customer_summary` and the
payment record (collection days, arrears, arrears rate) from
:func:`analysis.margin.receivable_indicators`, so that neither is aggregated twice.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "CREDIT_CLASSES", "CASE_3_CONCENTRATION", "CASE_3_ADJUSTMENT", "CONCENTRATION_METRICS", "credit_basis",
    "resolve_total_limit", "credit_classes", "class_limits", "customer_limits", "limits_by_class",
    "receivables_concentration", "concentration_vs_case", "adjustment_ledger", "check_adjustments",
    "apply_adjustments",
]

CREDIT_CLASSES = ("A", "B", "C", "D")

CASE_3_CONCENTRATION = {
    "customers": 450, "revenue": 40_000_000, "key_customers": 100, "key_sales_share": 0.83,
    "receivables_total": 10_000_000, "top_debtors": 100, "top_debtors_owed": 7_800_000,
    "overlap": 76, "overlap_owed": 3_200_000,
}
"""Case 3's published figures: the 100 largest debtors owe 7.8M of about 10M; 76 of
them are key customers (the top 100 by sales, over 83% of 40M revenue) and owe 3.2M."""

CASE_3_ADJUSTMENT = {"C7": 100_000, "B117": -20_000, "C3": -30_000, "D24": -50_000}
"""Case 3's quarterly adjustment: C7 raised by 100,000, paid for by B117, C3 and D24."""


# ------------------------------------------------------------------- classes
def credit_basis(summary: pd.DataFrame, indicators: pd.DataFrame | None = None, *,
                 sales_col: str = "monetary", days_col: str = "collection_days",
                 arrears_rate_col: str = "arrears_rate", arrears_col: str = "arrears",
                 id_col: str = "customer_id") -> pd.DataFrame:
    """Last year's sales joined with the payment record: the basis of credit classes.

    Parameters
    ----------
    summary : DataFrame
        One row per customer from :func:`analysis.aggregate.customer_summary`
        over last year (its ``monetary`` is the sales).
    indicators : DataFrame, optional
        Seed 001's financial indicators per customer over the same year, from
        :func:`analysis.margin.receivable_indicators`: average collection days
        (平均收款周期), arrears at the end (欠款额) and arrears rate (欠款率).
        ``None`` when there is no receivables table.

    Customers in either table are kept: a customer without sales has 0, one
    without invoices has no payment record (NaN) and owes nothing.

    Returns
    -------
    DataFrame
        ``customer_id``, ``sales``, ``collection_days``, ``arrears_rate``, ``arrears``.
    """
    if sales_col not in summary.columns:
        raise ValueError(f"Required column {sales_col} missing from the customer summary")
    sales = pd.DataFrame({"customer_id": summary[id_col].to_numpy(),
                          "sales": summary[sales_col].astype("float64").to_numpy()})
    if indicators is None:
        pay = pd.DataFrame({"customer_id": pd.Series(dtype="object"), "collection_days": pd.Series(dtype="float64"),
                            "arrears_rate": pd.Series(dtype="float64"), "arrears": pd.Series(dtype="float64")})
    else:
        missing = [c for c in (id_col, days_col, arrears_rate_col, arrears_col) if c not in indicators.columns]
        if missing:
            raise ValueError(f"Required column {missing[0]} missing from the receivable indicators")
        pay = pd.DataFrame({"customer_id": indicators[id_col].to_numpy(),
                            "collection_days": indicators[days_col].astype("float64").to_numpy(),
                            "arrears_rate": indicators[arrears_rate_col].astype("float64").to_numpy(),
                            "arrears": indicators[arrears_col].astype("float64").to_numpy()})
    out = sales.merge(pay, on="customer_id", how="outer", sort=True)
    return out.assign(sales=out["sales"].fillna(0.0), arrears=out["arrears"].fillna(0.0))


def credit_classes(basis: pd.DataFrame, *, sales_weight: float = 0.5,
                   class_shares: Sequence[float] = (0.2, 0.3, 0.3, 0.2),
                   classes: Sequence[str] = CREDIT_CLASSES) -> pd.DataFrame:
    """Grade customers A/B/C/D on last year's sales and payment record together.

    Each customer gets a sales score (percentile rank of sales) and a payment
    score (mean of the percentile ranks of short collection days and low
    arrears rate; 0.5, neutral, without a payment record). The credit score is
    ``sales_weight x sales score + (1 - sales_weight) x payment score``;
    customers are sorted by it and cut into classes holding ``class_shares`` of
    the customers (seed 004's Canadian firm: about 20/30/30/20%).

    Returns
    -------
    DataFrame
        ``basis`` plus ``sales_score``, ``payment_score``, ``credit_score`` and
        ``credit_class``, best first.
    """
    if not 0 <= sales_weight <= 1:
        raise ValueError(f"sales_weight must be between 0 and 1, got {sales_weight}")
    shares = np.asarray(class_shares, dtype="float64")
    if len(shares) != len(classes):
        raise ValueError(f"class_shares has {len(shares)} values for {len(classes)} classes {list(classes)}")
    if (shares < 0).any() or not math.isclose(shares.sum(), 1.0, abs_tol=1e-6):
        raise ValueError(f"class_shares must be >= 0 and sum to 1, got {list(class_shares)} "
                         f"(sum {shares.sum():g})")
    sales_score = basis["sales"].rank(pct=True, method="average")
    pay_parts = [(-basis[c]).rank(pct=True, method="average") for c in ("collection_days", "arrears_rate")
                 if c in basis.columns]
    payment_score = (pd.concat(pay_parts, axis=1).mean(axis=1) if pay_parts
                     else pd.Series(np.nan, index=basis.index)).fillna(0.5)
    out = basis.assign(sales_score=sales_score, payment_score=payment_score,
                       credit_score=sales_weight * sales_score + (1 - sales_weight) * payment_score)
    out = out.sort_values(["credit_score", "sales", "customer_id"], ascending=[False, False, True],
                          kind="stable").reset_index(drop=True)
    position = (np.arange(len(out)) + 0.5) / max(len(out), 1)  # mid-rank: a lone customer is in A
    edges = np.cumsum(shares)
    idx = np.minimum(np.searchsorted(edges, position, side="right"), len(classes) - 1)
    return out.assign(credit_class=np.asarray(classes, dtype=object)[idx])


# -------------------------------------------------------------------- limits
def resolve_total_limit(total_limit: float, *, current_limits: pd.Series | None = None,
                        outstanding: pd.Series | None = None) -> float:
    """Next year's total credit limit: the one given, else this year's total, else the receivables.

    ``total_limit > 0`` is used as given; ``0`` means the sum of the customers'
    current ``credit_limit`` when there is one, otherwise the receivables
    outstanding (the credit actually extended).
    """
    if total_limit < 0:
        raise ValueError(f"total_limit must be >= 0 (0 = this year's total), got {total_limit}")
    if total_limit > 0:
        return float(total_limit)
    for source in (current_limits, outstanding):
        if source is not None and source.notna().any() and float(source.sum()) > 0:
            return float(source.sum())
    raise ValueError("total_limit is 0 and the data hold neither credit limits nor receivables: "
                     "set total_limit to next year's total credit limit")


def class_limits(total_limit: float, class_shares: Mapping[str, float]) -> pd.DataFrame:
    """Next year's limit of each class: its share of the total limit.

    Returns
    -------
    DataFrame
        ``credit_class``, ``limit_share``, ``class_limit``.
    """
    if total_limit < 0:
        raise ValueError(f"total_limit must be >= 0, got {total_limit}")
    total = sum(class_shares.values())
    if any(v < 0 for v in class_shares.values()) or not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"class limit shares must be >= 0 and sum to 1, got {dict(class_shares)} (sum {total:g})")
    out = pd.DataFrame({"credit_class": list(class_shares), "limit_share": [float(v) for v in class_shares.values()]})
    return out.assign(class_limit=out["limit_share"] * float(total_limit))


def _capped_proportional(weights: np.ndarray, caps: np.ndarray, total: float) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` without exceeding ``caps``; what a capped
    customer cannot take goes to the others (water filling). Leftover stays unallocated."""
    alloc = np.zeros(len(weights))
    free = weights > 0
    left = float(total)
    while left > 1e-9 and free.any():
        share = left * weights[free] / weights[free].sum()
        room = caps[free] - alloc[free]
        take = np.minimum(share, room)
        alloc[free] += take
        left -= take.sum()
        full = np.zeros(len(weights), dtype=bool)
        full[np.flatnonzero(free)[share >= room - 1e-9]] = True
        if not full.any():
            break
        free &= ~full
    return alloc


def customer_limits(classes: pd.DataFrame, limits: pd.DataFrame, *, cap_sales_share: float = 0.5,
                    sales_col: str = "sales", arrears_col: str = "arrears_rate") -> pd.DataFrame:
    """Each customer's limit: its class's limit in proportion to sales, capped by its payment record.

    A customer's cap is ``sales x cap_sales_share x (1 - arrears rate)`` (by
    default half a year of last year's sales, less the share it left unpaid;
    the arrears rate counts as at most 1).
    What a capped customer cannot take is shared among the others of its class;
    what no one can take stays unallocated (a reserve for quarterly adjustments).
    Customers with no sales get no limit.

    Returns
    -------
    DataFrame
        ``classes`` plus ``limit_cap`` and ``new_credit_limit`` (next year's limit),
        sorted by class then limit.
    """
    if cap_sales_share <= 0:
        raise ValueError(f"cap_sales_share must be > 0, got {cap_sales_share}")
    unknown = sorted(set(classes["credit_class"]) - set(limits["credit_class"]))
    if unknown:
        raise ValueError(f"no class limit for classes {unknown}; limits are set for {list(limits['credit_class'])}")
    sales = classes[sales_col].astype("float64").clip(lower=0).fillna(0.0)
    arrears = classes[arrears_col].astype("float64").fillna(0.0).clip(0, 1) if arrears_col in classes else 0.0
    cap = sales * cap_sales_share * (1 - arrears)
    alloc = pd.Series(0.0, index=classes.index)
    per_class = limits.set_index("credit_class")["class_limit"]
    for cls, idx in classes.groupby("credit_class").groups.items():
        alloc[idx] = _capped_proportional(sales[idx].to_numpy(), cap[idx].to_numpy(), per_class[cls])
    out = classes.assign(limit_cap=cap, new_credit_limit=alloc)
    order = {c: i for i, c in enumerate(limits["credit_class"])}
    return out.sort_values(["credit_class", "new_credit_limit", "customer_id"],
                           key=lambda s: s.map(order) if s.name == "credit_class" else s,
                           ascending=[True, False, True], kind="stable").reset_index(drop=True)


def limits_by_class(customer_limit: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Class limits against what was allocated to customers, and the unallocated reserve.

    Returns
    -------
    DataFrame
        ``credit_class``, ``customers``, ``sales``, ``limit_share``, ``class_limit``,
        ``allocated``, ``unallocated``.
    """
    g = customer_limit.groupby("credit_class")
    got = pd.DataFrame({"customers": g.size(), "sales": g["sales"].sum(), "allocated": g["new_credit_limit"].sum()})
    out = limits.merge(got, left_on="credit_class", right_index=True, how="left")
    out = out.assign(customers=out["customers"].fillna(0).astype("int64"),
                     sales=out["sales"].fillna(0.0), allocated=out["allocated"].fillna(0.0))
    left = out["class_limit"] - out["allocated"]
    out = out.assign(unallocated=left.where(left.abs() > 1e-6, 0.0))  # no "-0" from float noise
    return out[["credit_class", "customers", "sales", "limit_share", "class_limit", "allocated", "unallocated"]]


# ------------------------------------------------------------- concentration
def receivables_concentration(outstanding: pd.Series, sales: pd.Series, *, top_debtors: int = 100,
                              key_customers: int = 100) -> dict:
    """The largest debtors against the key customers (case 3: 76 of the top 100 debtors are key).

    Parameters
    ----------
    outstanding : Series
        Amount owed per customer (indexed by customer id), e.g. the ``arrears`` of
        :func:`analysis.margin.receivable_indicators` at the year's end.
    sales : Series
        Sales per customer (indexed by customer id) over the same year.
    top_debtors, key_customers : int
        How many of the largest debtors, and of the largest customers by sales
        (the key customers), to compare. Ties are broken by customer id.

    Returns
    -------
    dict
        ``receivables_total``, ``top_debtors`` (count, at most the number of
        customers owing anything), ``top_debtors_owed``, ``top_debtors_share``,
        ``key_customers`` (count), ``key_sales_share``, ``overlap`` (key customers
        among the top debtors), ``overlap_owed``, ``overlap_share_of_top``
        (overlap_owed / top_debtors_owed) and ``non_key_owed`` (top debtors that are not key).
    """
    if top_debtors < 1 or key_customers < 1:
        raise ValueError(f"top_debtors and key_customers must be >= 1, got {top_debtors} and {key_customers}")
    owed = outstanding.astype("float64")
    owed = owed[owed > 0]
    debtors = _top(owed, top_debtors)
    sales = sales.astype("float64")
    key = _top(sales[sales > 0], key_customers)
    both = debtors.index.intersection(key.index)
    top_owed = float(debtors.sum())
    total_sales = float(sales[sales > 0].sum())
    return {
        "receivables_total": float(owed.sum()),
        "top_debtors": int(len(debtors)),
        "top_debtors_owed": top_owed,
        "top_debtors_share": top_owed / float(owed.sum()) if len(owed) else math.nan,
        "key_customers": int(len(key)),
        "key_sales_share": float(key.sum()) / total_sales if total_sales else math.nan,
        "overlap": int(len(both)),
        "overlap_owed": float(debtors[both].sum()),
        "overlap_share_of_top": float(debtors[both].sum()) / top_owed if top_owed else math.nan,
        "non_key_owed": top_owed - float(debtors[both].sum()),
    }


def _top(values: pd.Series, n: int) -> pd.Series:
    df = pd.DataFrame({"id": values.index.astype(str), "v": values.to_numpy()}, index=values.index)
    keep = df.sort_values(["v", "id"], ascending=[False, True], kind="stable").index[:n]
    return values[keep]


CONCENTRATION_METRICS = ("receivables_total", "top_debtors", "top_debtors_owed", "top_debtors_share",
                         "key_customers", "key_sales_share", "overlap", "overlap_owed", "overlap_share_of_top")


def concentration_vs_case(ours: Mapping, case: Mapping = CASE_3_CONCENTRATION) -> pd.DataFrame:
    """Our concentration figures beside case 3's published ones.

    Returns
    -------
    DataFrame
        Two rows, ``figure_source`` = ``case_figure`` and ``our_figure``, and one
        column per figure of :func:`receivables_concentration` (counts, amounts, shares).
    """
    case = {**case, "top_debtors_share": case["top_debtors_owed"] / case["receivables_total"],
            "overlap_share_of_top": case["overlap_owed"] / case["top_debtors_owed"]}
    rows = [{"figure_source": name, **{m: float(src[m]) for m in CONCENTRATION_METRICS}}
            for name, src in (("case_figure", case), ("our_figure", ours))]
    return pd.DataFrame(rows)


# -------------------------------------------------------------------- ledger
def _as_changes(adjustments) -> pd.Series:
    if isinstance(adjustments, pd.DataFrame):
        missing = [c for c in ("customer_id", "limit_change") if c not in adjustments.columns]
        if missing:
            raise ValueError(f"Required column {missing[0]} missing from the adjustments")
        s = adjustments.set_index("customer_id")["limit_change"]
    else:
        s = pd.Series(dict(adjustments), dtype="float64")
    return s.astype("float64").rename("limit_change").rename_axis("customer_id")


def adjustment_ledger(adjustments) -> pd.DataFrame:
    """The proposed changes as a ledger: one row per customer, raises first, then cuts.

    Returns
    -------
    DataFrame
        ``customer_id``, ``limit_change`` (signed CNY) and ``limit_direction``
        (``limit_raise`` / ``limit_cut``).
    """
    s = _as_changes(adjustments)
    out = s.reset_index().assign(limit_direction=np.where(s.to_numpy() >= 0, "limit_raise", "limit_cut"))
    return out.sort_values("limit_change", ascending=False, kind="stable").reset_index(drop=True)


def _money(x: float) -> str:
    return f"{'+' if x >= 0 else '-'}{abs(x):,.0f}"


def check_adjustments(adjustments, *, strict: bool = True, tolerance: float = 0.5) -> dict:
    """Check that a quarterly adjustment keeps the total credit limit fixed.

    Case 3: raising C7 by 100,000 must be paid for by cuts elsewhere (B117
    -20,000, C3 -30,000, D24 -50,000).

    Parameters
    ----------
    adjustments : mapping or DataFrame
        ``{customer_id: change}`` or a frame with ``customer_id`` and ``limit_change``.
    strict : bool, default True
        Raise ``ValueError`` naming the imbalance when the changes do not net
        to zero; with False, return the verdict instead.
    tolerance : float, default 0.5
        Largest net (CNY) still counted as balanced (rounding of cents).

    Returns
    -------
    dict
        ``raised`` (sum of increases), ``cut`` (sum of decreases, negative),
        ``net``, ``balanced`` and ``message``.
    """
    s = _as_changes(adjustments)
    if s.isna().any():
        raise ValueError(f"adjustments without an amount for {list(s.index[s.isna()])}")
    raised, cut = float(s[s > 0].sum()), float(s[s < 0].sum())
    net = raised + cut
    balanced = abs(net) <= tolerance
    msg = (f"adjustments balance: {_money(raised)} raised vs {_money(cut)} cut" if balanced else
           f"adjustments do not balance: {_money(raised)} raised vs {_money(cut)} cut, net {_money(net)}")
    if strict and not balanced:
        raise ValueError(msg)
    return {"raised": raised, "cut": cut, "net": net, "balanced": bool(balanced), "message": msg}


def apply_adjustments(limits: pd.DataFrame, adjustments, *, limit_col: str = "new_credit_limit") -> pd.DataFrame:
    """Apply a balanced adjustment to per-customer limits (the total stays the same).

    Raises ``ValueError`` when the adjustment does not balance, names a customer
    without a limit, or would leave a limit below zero.

    Returns
    -------
    DataFrame
        ``limits`` with ``limit_change`` and the new ``limit_col``.
    """
    check_adjustments(adjustments)
    s = _as_changes(adjustments).groupby(level=0).sum()
    unknown = sorted(set(s.index) - set(limits["customer_id"]))
    if unknown:
        raise ValueError(f"adjustments name customers without a limit: {unknown}")
    change = limits["customer_id"].map(s).fillna(0.0)
    new = limits[limit_col].astype("float64") + change
    negative = limits.loc[new < -1e-9, "customer_id"].tolist()
    if negative:
        raise ValueError(f"adjustments would cut below zero the limit of {negative}")
    return limits.assign(limit_change=change, **{limit_col: new})
