"""Credit limits by customer class (worked case 3 of 《客户分类案例》: the pharma distributor "MM").

The flow of the case (docs/methods.md, *Credit limits by class* and *The adjustment ledger*):

1. grade customers A/B/C/D on last year's sales and payment record
   (:func:`credit_basis`, :func:`credit_classes`; the scoring is the
   project's choice, the 20/30/30/20 shares those of the Canadian firm in
   《客户管理抓住具有价值的“奶油层”客户》);
2. split next year's total credit limit over the classes (:func:`class_limits`),
   then within a class over its customers in proportion to last year's sales
   (the source: 依据客户分类及上年度销售规模, two levels).  The class shares and
   the cap by the payment record (:func:`customer_limits`) are the project's
   choice; so is how the credit grade (信用等级) scales a customer's room,
   except that grade D gets no new limit: 《如何做好客户分类管理》 gives good credit
   more credit and poor credit none (信用差的则不能授予信用额度);
3. check how receivables are concentrated: the largest debtors against the key
   customers (the largest by sales) (:func:`receivables_concentration`);
4. limits are set once a year; once a quarter one adjustment may move limit
   between customers, keeping the total fixed, raised by the sales director,
   approved by the CEO and filed with the CFO, raising only good payers
   (:func:`check_ledger`; :func:`check_adjustments` checks the balance alone).

Sales per customer come from :func:`analysis.engine.aggregate.customer_summary` and the
payment record (collection days, arrears, arrears rate) from
:func:`analysis.products.margin.receivable_indicators`, so that neither is aggregated twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.data.lookup import is_in

__all__ = [
    "CREDIT_CLASSES",
    "CASE_3_CONCENTRATION",
    "CASE_3_ADJUSTMENT",
    "CASE_3_LEDGER",
    "CASE_3_PAYERS",
    "GRADE_FACTORS",
    "UNRATED_FACTOR",
    "GOOD_PAYER_GRADES",
    "APPROVAL_CHAIN",
    "CONCENTRATION_METRICS",
    "credit_basis",
    "resolve_total_limit",
    "credit_classes",
    "class_limits",
    "customer_limits",
    "limits_by_class",
    "limits_by_grade",
    "receivables_concentration",
    "concentration_vs_case",
    "adjustment_ledger",
    "check_adjustments",
    "apply_adjustments",
    "payment_records",
    "ledger_lines",
    "approval_chain",
    "check_ledger",
    "credit_indicators",
    "abcd_classes",
    "with_credit_grades",
    "LIMIT_COLUMNS",
    "ledger_payers",
]

CREDIT_CLASSES = ("A", "B", "C", "D")

CASE_3_CONCENTRATION = {
    "customers": 450,
    "revenue": 40_000_000,
    "key_customers": 100,
    "key_sales_share": 0.83,
    "receivables_total": 10_000_000,
    "top_debtors": 100,
    "top_debtors_owed": 7_800_000,
    "overlap": 76,
    "overlap_owed": 3_200_000,
}
"""Case 3's published figures: the 100 largest debtors owe 7.8M of about 10M; 76 of
them are key customers (the top 100 by sales, over 83% of 40M revenue) and owe 3.2M."""

CASE_3_ADJUSTMENT = {"C7": 100_000, "B117": -20_000, "C3": -30_000, "D24": -50_000}
"""Case 3's quarterly adjustment: C7 raised by 100,000, paid for by B117, C3 and D24."""

APPROVAL_CHAIN = (("raised_by", "sales_director"), ("approved_by", "ceo"), ("filed_with", "cfo"))
"""Case 3 (《客户分类案例》): 销售总监应向ceo提出申请，经同意后报cfo备案 -- the sales director
applies to the CEO, and once approved it is filed with the CFO."""

CASE_3_LEDGER = (
    {
        "quarter": "",
        "raised_by": "sales_director",
        "approved_by": "ceo",
        "filed_with": "cfo",
        "changes": dict(CASE_3_ADJUSTMENT),
    },
)
"""Case 3's adjustment as a ledger entry (quarter "" = the quarter being reported)."""

CASE_3_PAYERS = {"C7": "good", "B117": "poor", "C3": "poor", "D24": "poor"}
"""The case's judgement of the four customers: C7's collection rate improved (回款率提高);
B117, C3 and D24 pay poorly (回款情况不理想)."""

GRADE_FACTORS = {"A": 1.0, "B": 0.8, "C": 0.5, "D": 0.0}
"""Share of a customer's room (weight and cap) kept at each credit grade.  D = 0 is the source's
(《如何做好客户分类管理》: 信用差的则不能授予信用额度); A-C are the project's choice."""

UNRATED_FACTOR = 0.5
"""Room kept by a customer without a credit grade (no invoices in the year): the project's choice."""

GOOD_PAYER_GRADES = ("A", "B")
"""Credit grades that count as a good payment record for a raise (the project's choice)."""


# ------------------------------------------------------------------- classes
def credit_basis(
    summary: pd.DataFrame,
    indicators: pd.DataFrame | None = None,
    *,
    sales_col: str = "monetary",
    days_col: str = "collection_days",
    arrears_rate_col: str = "arrears_rate",
    arrears_col: str = "arrears",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Last year's sales joined with the payment record: the basis of credit classes.

    Parameters
    ----------
    summary : DataFrame
        One row per customer from :func:`analysis.engine.aggregate.customer_summary`
        over last year (its ``monetary`` is the sales).
    indicators : DataFrame, optional
        The financial indicators (财务类指标) of 《如何做好客户分类管理》 per customer over the same year, from
        :func:`analysis.products.margin.receivable_indicators`: average collection days
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
    sales = pd.DataFrame(
        {
            "customer_id": summary[id_col].to_numpy(),
            "sales": summary[sales_col].astype("float64").to_numpy(),
        }
    )
    if indicators is None:
        pay = pd.DataFrame(
            {
                "customer_id": pd.Series(dtype="object"),
                "collection_days": pd.Series(dtype="float64"),
                "arrears_rate": pd.Series(dtype="float64"),
                "arrears": pd.Series(dtype="float64"),
            }
        )
    else:
        missing = [
            c
            for c in (id_col, days_col, arrears_rate_col, arrears_col)
            if c not in indicators.columns
        ]
        if missing:
            raise ValueError(f"Required column {missing[0]} missing from the receivable indicators")
        pay = pd.DataFrame(
            {
                "customer_id": indicators[id_col].to_numpy(),
                "collection_days": indicators[days_col].astype("float64").to_numpy(),
                "arrears_rate": indicators[arrears_rate_col].astype("float64").to_numpy(),
                "arrears": indicators[arrears_col].astype("float64").to_numpy(),
            }
        )
    out = sales.merge(pay, on="customer_id", how="outer", sort=True)
    return out.assign(sales=out["sales"].fillna(0.0), arrears=out["arrears"].fillna(0.0))


def credit_classes(
    basis: pd.DataFrame,
    *,
    sales_weight: float = 0.5,
    class_shares: Sequence[float] = (0.2, 0.3, 0.3, 0.2),
    classes: Sequence[str] = CREDIT_CLASSES,
) -> pd.DataFrame:
    """Grade customers A/B/C/D on last year's sales and payment record together.

    Each customer gets a sales score (percentile rank of sales) and a payment
    score (mean of the percentile ranks of short collection days and low
    arrears rate; 0.5, neutral, without a payment record). The credit score is
    ``sales_weight x sales score + (1 - sales_weight) x payment score``;
    customers are sorted by it and cut into classes holding ``class_shares`` of
    the customers (the Canadian firm of 《客户管理抓住具有价值的“奶油层”客户》: about
    20/30/30/20%, on order volume and credit; the score itself is the project's choice).

    Parameters
    ----------
    basis : DataFrame
        From :func:`credit_basis`.
    sales_weight : float
        Weight of the sales score.
    class_shares : sequence of float
        Share of the customers in each class.
    classes : sequence of str
        The classes, best first.

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
        raise ValueError(
            f"class_shares has {len(shares)} values for {len(classes)} classes {list(classes)}"
        )
    if (shares < 0).any() or not math.isclose(shares.sum(), 1.0, abs_tol=1e-6):
        raise ValueError(
            f"class_shares must be >= 0 and sum to 1, got {list(class_shares)} "
            f"(sum {shares.sum():g})"
        )
    sales_score = basis["sales"].rank(pct=True, method="average")
    pay_parts = [
        (-basis[c]).rank(pct=True, method="average")
        for c in ("collection_days", "arrears_rate")
        if c in basis.columns
    ]
    payment_score = (
        pd.concat(pay_parts, axis=1).mean(axis=1)
        if pay_parts
        else pd.Series(np.nan, index=basis.index)
    ).fillna(0.5)
    out = basis.assign(
        sales_score=sales_score,
        payment_score=payment_score,
        credit_score=sales_weight * sales_score + (1 - sales_weight) * payment_score,
    )
    out = out.sort_values(
        ["credit_score", "sales", "customer_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    position = (np.arange(len(out)) + 0.5) / max(len(out), 1)  # mid-rank: a lone customer is in A
    edges = np.cumsum(shares)
    idx = np.minimum(np.searchsorted(edges, position, side="right"), len(classes) - 1)
    return out.assign(credit_class=np.asarray(classes, dtype=object)[idx])


# -------------------------------------------------------------------- limits
def resolve_total_limit(
    total_limit: float,
    *,
    current_limits: pd.Series | None = None,
    outstanding: pd.Series | None = None,
) -> float:
    """Next year's total credit limit: the one given, else this year's total, else the receivables.

    ``total_limit > 0`` is used as given; ``0`` means the sum of the customers'
    current ``credit_limit`` when there is one, otherwise the receivables
    outstanding (the credit actually extended).

    Parameters
    ----------
    total_limit : float
        Given total (0: derive it).
    current_limits : Series, optional
        Current limits per customer.
    outstanding : Series, optional
        Receivables outstanding per customer.

    Returns
    -------
    float
        The total limit.
    """
    if total_limit < 0:
        raise ValueError(f"total_limit must be >= 0 (0 = this year's total), got {total_limit}")
    if total_limit > 0:
        return float(total_limit)
    for source in (current_limits, outstanding):
        if source is not None and source.notna().any() and float(source.sum()) > 0:
            return float(source.sum())
    raise ValueError(
        "total_limit is 0 and the data hold neither credit limits nor receivables: "
        "set total_limit to next year's total credit limit"
    )


def class_limits(total_limit: float, class_shares: Mapping[str, float]) -> pd.DataFrame:
    """Next year's limit of each class: its share of the total limit.

    The case sets a limit per class (the first of its two levels) but gives no
    shares: the shares (e.g. 50/30/15/5) are the project's choice.

    Parameters
    ----------
    total_limit : float
        Next year's total.
    class_shares : mapping of str to float
        Class -> share.

    Returns
    -------
    DataFrame
        ``credit_class``, ``limit_share``, ``class_limit``.
    """
    if total_limit < 0:
        raise ValueError(f"total_limit must be >= 0, got {total_limit}")
    total = sum(class_shares.values())
    if any(v < 0 for v in class_shares.values()) or not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(
            f"class limit shares must be >= 0 and sum to 1, got {dict(class_shares)} (sum {total:g})"
        )
    out = pd.DataFrame(
        {
            "credit_class": list(class_shares),
            "limit_share": [float(v) for v in class_shares.values()],
        }
    )
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


def _grade_factor(
    classes: pd.DataFrame,
    grade_col: str,
    factors: Mapping[str, float] | None,
    unrated_factor: float,
) -> pd.Series:
    if grade_col not in classes.columns:
        return pd.Series(1.0, index=classes.index)
    factors = dict(GRADE_FACTORS if factors is None else factors)
    bad = {k: v for k, v in factors.items() if not 0 <= float(v) <= 1}
    if bad or not 0 <= unrated_factor <= 1:
        raise ValueError(
            f"grade factors must be shares between 0 and 1, got {bad or unrated_factor}"
        )
    grades = classes[grade_col]
    unknown = sorted(set(grades.dropna()) - set(factors))
    if unknown:
        raise ValueError(
            f"no grade factor for credit grades {unknown}; factors are set for {sorted(factors)}"
        )
    return grades.map(factors).astype("float64").fillna(float(unrated_factor))


def customer_limits(
    classes: pd.DataFrame,
    limits: pd.DataFrame,
    *,
    cap_sales_share: float = 0.5,
    grade_factors: Mapping[str, float] | None = None,
    unrated_factor: float = UNRATED_FACTOR,
    grade_col: str = "credit_grade",
    sales_col: str = "sales",
    arrears_col: str = "arrears_rate",
) -> pd.DataFrame:
    """Each customer's limit: its class's limit in proportion to sales, capped by its payment record.

    The two levels and the split by last year's sales are the case's
    (《客户分类案例》); the cap and the grade factors are the project's choice.
    A customer's room is scaled by the factor of its credit grade
    (``grade_col``, when the table has one; 信用等级 from
    :func:`analysis.classify.classes.credit_grades`): its weight is
    ``sales x factor`` and its cap ``sales x cap_sales_share x (1 - arrears
    rate) x factor`` (by default half a year of last year's sales, less the
    share it left unpaid; the arrears rate counts as at most 1).  With the
    default :data:`GRADE_FACTORS` grade D gets no new limit (the source: poor
    credit gets none); a customer without a grade keeps ``unrated_factor``.
    What a capped customer cannot take is shared among the others of its class;
    what no one can take stays unallocated (a reserve for quarterly adjustments).
    Customers with no sales get no limit.

    Parameters
    ----------
    classes : DataFrame
        From :func:`credit_classes`.
    limits : DataFrame
        From :func:`class_limits`.
    cap_sales_share : float
        Cap as a share of last year's sales.
    grade_factors : mapping, optional
        Grade -> factor (default :data:`GRADE_FACTORS`).
    unrated_factor : float
        Factor of a customer without a grade.
    grade_col, arrears_col : str
        Credit grade and arrears rate columns.
    sales_col : str
        Sales column.

    Returns
    -------
    DataFrame
        ``classes`` plus ``grade_factor``, ``limit_cap`` and ``new_credit_limit``
        (next year's limit), sorted by class then limit.
    """
    if cap_sales_share <= 0:
        raise ValueError(f"cap_sales_share must be > 0, got {cap_sales_share}")
    unknown = sorted(set(classes["credit_class"]) - set(limits["credit_class"]))
    if unknown:
        raise ValueError(
            f"no class limit for classes {unknown}; limits are set for {list(limits['credit_class'])}"
        )
    factor = _grade_factor(classes, grade_col, grade_factors, unrated_factor)
    sales = classes[sales_col].astype("float64").clip(lower=0).fillna(0.0)
    arrears = (
        classes[arrears_col].astype("float64").fillna(0.0).clip(0, 1)
        if arrears_col in classes
        else 0.0
    )
    cap = sales * cap_sales_share * (1 - arrears) * factor
    weight = sales * factor
    alloc = pd.Series(0.0, index=classes.index)
    per_class = limits.set_index("credit_class")["class_limit"]
    for cls, idx in classes.groupby("credit_class").groups.items():
        alloc[idx] = _capped_proportional(
            weight[idx].to_numpy(), cap[idx].to_numpy(), per_class[cls]
        )
    out = classes.assign(grade_factor=factor, limit_cap=cap, new_credit_limit=alloc)
    order = {c: i for i, c in enumerate(limits["credit_class"])}
    return out.sort_values(
        ["credit_class", "new_credit_limit", "customer_id"],
        key=lambda s: s.map(order) if s.name == "credit_class" else s,
        ascending=[True, False, True],
        kind="stable",
    ).reset_index(drop=True)


LIMIT_COLUMNS = (
    "customer_id",
    "credit_class",
    "credit_grade",
    "sales",
    "arrears_rate",
    "grade_factor",
    "limit_cap",
    "new_credit_limit",
)
"""The columns of :func:`customer_limits` that say how a customer's limit was set."""


def with_credit_grades(
    classes: pd.DataFrame,
    grades: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    grade_col: str = "credit_grade",
) -> pd.DataFrame:
    """The credit classes with each customer's credit grade (信用等级) beside them.

    Parameters
    ----------
    classes : DataFrame
        From :func:`credit_classes`.
    grades : DataFrame
        From :func:`analysis.classify.classes.credit_grades` (one row per customer with
        receivables); only ``id_col`` and ``grade_col`` are taken.

    Returns
    -------
    DataFrame
        ``classes`` (rows and order kept) plus ``grade_col``; NaN for a customer without a grade.
    """
    missing = [c for c in (id_col, grade_col) if c not in grades.columns]
    if missing:
        raise ValueError(f"Required column {missing[0]} missing from the credit grades")
    return classes.merge(grades[[id_col, grade_col]], on=id_col, how="left")


def limits_by_class(customer_limit: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Class limits against what was allocated to customers, and the unallocated reserve.

    Parameters
    ----------
    customer_limit : DataFrame
        From :func:`customer_limits`.
    limits : DataFrame
        From :func:`class_limits`.

    Returns
    -------
    DataFrame
        ``credit_class``, ``customers``, ``sales``, ``limit_share``, ``class_limit``,
        ``allocated``, ``unallocated``.
    """
    g = customer_limit.groupby("credit_class")
    got = pd.DataFrame(
        {"customers": g.size(), "sales": g["sales"].sum(), "allocated": g["new_credit_limit"].sum()}
    )
    out = limits.merge(got, left_on="credit_class", right_index=True, how="left")
    out = out.assign(
        customers=out["customers"].fillna(0).astype("int64"),
        sales=out["sales"].fillna(0.0),
        allocated=out["allocated"].fillna(0.0),
    )
    left = out["class_limit"] - out["allocated"]
    out = out.assign(unallocated=left.where(left.abs() > 1e-6, 0.0))  # no "-0" from float noise
    return out[
        [
            "credit_class",
            "customers",
            "sales",
            "limit_share",
            "class_limit",
            "allocated",
            "unallocated",
        ]
    ]


def limits_by_grade(
    customer_limit: pd.DataFrame, *, grade_col: str = "credit_grade", unrated: str = "grade_unrated"
) -> pd.DataFrame:
    """Customers, sales and next year's limits per credit grade (A, B, C, D, then the unrated).

    Parameters
    ----------
    customer_limit : DataFrame
        From :func:`customer_limits`.
    grade_col : str
        Credit grade column.
    unrated : str
        Code of the unrated row.

    Returns
    -------
    DataFrame
        ``credit_grade`` (``unrated`` for customers without one), ``customers``,
        ``grade_factor``, ``sales``, ``new_credit_limit`` and ``limit_share`` (of all limits).
    """
    grade = customer_limit[grade_col].astype("object").fillna(unrated)
    g = customer_limit.groupby(grade, sort=False)
    order = [k for k in (*CREDIT_CLASSES, unrated) if k in set(grade)]
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "grade_factor": g["grade_factor"].first(),
            "sales": g["sales"].sum(),
            "new_credit_limit": g["new_credit_limit"].sum(),
        }
    ).reindex(order)
    total = out["new_credit_limit"].sum()
    out = out.assign(limit_share=out["new_credit_limit"] / total if total > 0 else np.nan)
    return out.rename_axis(grade_col).reset_index()


# ------------------------------------------------------------- concentration
def receivables_concentration(
    outstanding: pd.Series, sales: pd.Series, *, top_debtors: int = 100, key_customers: int = 100
) -> dict:
    """The largest debtors against the key customers (case 3: 76 of the top 100 debtors are key).

    Parameters
    ----------
    outstanding : Series
        Amount owed per customer (indexed by customer id), e.g. the ``arrears`` of
        :func:`analysis.products.margin.receivable_indicators` at the year's end.
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
        raise ValueError(
            f"top_debtors and key_customers must be >= 1, got {top_debtors} and {key_customers}"
        )
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


CONCENTRATION_METRICS = (
    "receivables_total",
    "top_debtors",
    "top_debtors_owed",
    "top_debtors_share",
    "key_customers",
    "key_sales_share",
    "overlap",
    "overlap_owed",
    "overlap_share_of_top",
)


def concentration_vs_case(ours: Mapping, case: Mapping = CASE_3_CONCENTRATION) -> pd.DataFrame:
    """Our concentration figures beside case 3's published ones.

    Parameters
    ----------
    ours : mapping
        From :func:`receivables_concentration`.
    case : mapping
        Case 3's figures.

    Returns
    -------
    DataFrame
        Two rows, ``figure_source`` = ``case_figure`` and ``our_figure``, and one
        column per figure of :func:`receivables_concentration` (counts, amounts, shares).
    """
    case = {
        **case,
        "top_debtors_share": case["top_debtors_owed"] / case["receivables_total"],
        "overlap_share_of_top": case["overlap_owed"] / case["top_debtors_owed"],
    }
    rows = [
        {"figure_source": name, **{m: float(src[m]) for m in CONCENTRATION_METRICS}}
        for name, src in (("case_figure", case), ("our_figure", ours))
    ]
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

    Parameters
    ----------
    adjustments : mapping or DataFrame
        Customer -> signed change.

    Returns
    -------
    DataFrame
        ``customer_id``, ``limit_change`` (signed CNY) and ``limit_direction``
        (``limit_raise`` / ``limit_cut``).
    """
    s = _as_changes(adjustments)
    out = s.reset_index().assign(
        limit_direction=np.where(s.to_numpy() >= 0, "limit_raise", "limit_cut")
    )
    return out.sort_values("limit_change", ascending=False, kind="stable").reset_index(drop=True)


def _money(x: float) -> str:
    return f"{'+' if x >= 0 else '-'}{abs(x):,.0f}"


def check_adjustments(
    adjustments, *, strict: bool = True, tolerance: float = 0.5, lang: str = "en"
) -> dict:
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
    lang : {"en", "zh"}, default "en"
        Language of ``message`` (the error raised is always in English).

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

    def say(in_lang):
        key = "ledger_adj_balanced" if balanced else "ledger_adj_unbalanced"
        return _say(key, in_lang, raised=_money(raised), cut=_money(cut), net=_money(net))

    if strict and not balanced:
        raise ValueError(say("en"))
    return {
        "raised": raised,
        "cut": cut,
        "net": net,
        "balanced": bool(balanced),
        "message": say(lang),
    }


def apply_adjustments(
    limits: pd.DataFrame, adjustments, *, limit_col: str = "new_credit_limit"
) -> pd.DataFrame:
    """Apply a balanced adjustment to per-customer limits (the total stays the same).

    Raises ``ValueError`` when the adjustment does not balance, names a customer
    without a limit, or would leave a limit below zero.

    Parameters
    ----------
    limits : DataFrame
        Per-customer limits.
    adjustments : mapping or DataFrame
        Customer -> signed change.
    limit_col : str
        The limit column.

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


# ---------------------------------------------------------------- governance
def _say(key: str, lang: str, **values) -> str:
    """A ledger sentence in ``lang`` (labels ``ledger_*`` in viz/labels/ledger.yaml)."""
    from analysis.viz.labels import label

    return label(key, lang, **values)


def _term(key: str, lang: str) -> str:
    """A role or payment record in ``lang`` (its label, e.g. ``ceo``, ``poor``), else the key."""
    from analysis.viz.labels import label_or

    return label_or(key, key, lang)


def _ledger_sentence(key: str, values: dict, lang: str, tolerance: float) -> str:
    """One broken rule of :func:`check_ledger` as a sentence in ``lang``."""
    v = dict(values)
    if "name" in v:
        v["name"] = _say("ledger_name", lang, **v["name"])
    if key.startswith("ledger_step_"):
        got, step = v.pop("got"), v.pop("step")
        v["got"] = (
            _say(
                "ledger_got_other", lang, step=step, value=got if lang == "en" else _term(got, lang)
            )
            if got
            else _say("ledger_got_missing", lang, step=step)
        )
    elif key == "ledger_unbalanced_entry":
        changes = v.pop("changes")
        v["message"] = check_adjustments(changes, strict=False, tolerance=tolerance, lang=lang)[
            "message"
        ]
    elif key.startswith("ledger_raise_"):
        v["change"] = f"{v['change']:,.0f}"
        v["record"] = v["record"] if lang == "en" else _term(str(v["record"]), lang)
    return _say(key, lang, **v)


def payment_records(
    grades: Mapping | pd.Series, *, good_grades: Sequence[str] = GOOD_PAYER_GRADES
) -> dict:
    """Credit grades -> payment records: ``"good"`` for a grade in ``good_grades``, else ``"poor"``.

    Customers without a grade (NaN) are left out: they have no payment record.

    Parameters
    ----------
    grades : mapping or Series
        Customer -> credit grade.
    good_grades : sequence of str
        Grades of good payers.

    Returns
    -------
    dict
        Customer -> ``good`` or ``poor``.
    """
    s = pd.Series(grades, dtype="object").dropna()
    return {k: ("good" if g in set(good_grades) else "poor") for k, g in s.items()}


def ledger_payers(
    grades: pd.DataFrame | None,
    given: Mapping[str, str] | None = None,
    *,
    good_grades: Sequence[str] = GOOD_PAYER_GRADES,
    id_col: str = "customer_id",
    grade_col: str = "credit_grade",
) -> dict:
    """The payment record of each customer a ledger may name: its credit grade where it has one,
    else the record given (e.g. the case's :data:`CASE_3_PAYERS` for customers not in the
    receivables).

    Parameters
    ----------
    grades : DataFrame or None
        From :func:`analysis.classify.classes.credit_grades`; None without receivables.
    given : mapping, optional
        customer_id -> ``"good"`` / ``"poor"``: used where the grades say nothing.
    good_grades : sequence of str
        Grades that count as a good payment record (:func:`payment_records`).

    Returns
    -------
    dict
        customer_id -> ``"good"`` / ``"poor"``, for :func:`check_ledger` and :func:`ledger_lines`.
    """
    graded = (
        {}
        if grades is None
        else payment_records(grades.set_index(id_col)[grade_col], good_grades=good_grades)
    )
    return {**dict(given or {}), **graded}


def _entries(ledger, default_quarter: str) -> list[dict]:
    if isinstance(ledger, Mapping):
        ledger = [ledger]
    out = []
    for i, entry in enumerate(ledger, start=1):
        if not isinstance(entry, Mapping) or "changes" not in entry:
            raise ValueError(
                f"adjustment {i} must be a mapping with 'quarter', 'raised_by', 'approved_by', "
                f"'filed_with' and 'changes' ({{customer: change}}); got {entry!r}"
            )
        quarter = str(entry.get("quarter") or default_quarter)
        out.append(
            {
                "adjustment": i,
                "quarter": quarter,
                **{step: str(entry.get(step) or "").strip().lower() for step, _ in APPROVAL_CHAIN},
                "changes": _as_changes(entry["changes"]),
            }
        )
    return out


def ledger_lines(
    ledger, *, payers: Mapping[str, str] | None = None, default_quarter: str = ""
) -> pd.DataFrame:
    """One row per change of every adjustment in the ledger.

    Parameters
    ----------
    ledger : list of mapping
        The adjustments (quarter, changes, roles).
    payers : mapping, optional
        Customer -> payment record.
    default_quarter : str
        Quarter of an adjustment without one.

    Returns
    -------
    DataFrame
        ``adjustment`` (1, 2 ...), ``quarter``, ``customer_id``, ``limit_change``,
        ``limit_direction`` (``limit_raise`` / ``limit_cut``) and ``payment_record``
        (``good`` / ``poor`` / NaN when unknown).
    """
    payers = dict(payers or {})
    rows = [
        (
            e["adjustment"],
            e["quarter"],
            cid,
            float(v),
            "limit_raise" if v >= 0 else "limit_cut",
            payers.get(cid),
        )
        for e in _entries(ledger, default_quarter)
        for cid, v in e["changes"].items()
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "adjustment",
            "quarter",
            "customer_id",
            "limit_change",
            "limit_direction",
            "payment_record",
        ],
    )


def approval_chain(ledger, *, default_quarter: str = "") -> pd.DataFrame:
    """The approval chain of each adjustment: who raised, approved and filed it, against the rule.

    Parameters
    ----------
    ledger : list of mapping
        The adjustments.
    default_quarter : str
        Quarter of an adjustment without one.

    Returns
    -------
    DataFrame
        One row per adjustment and step: ``adjustment``, ``quarter``, ``approval_step``
        (``raised_by`` / ``approved_by`` / ``filed_with``), ``required_role``,
        ``recorded_role`` and ``step_ok``.
    """
    rows = [
        (e["adjustment"], e["quarter"], step, role, e[step], e[step] == role)
        for e in _entries(ledger, default_quarter)
        for step, role in APPROVAL_CHAIN
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "adjustment",
            "quarter",
            "approval_step",
            "required_role",
            "recorded_role",
            "step_ok",
        ],
    )


def check_ledger(
    ledger,
    *,
    payers: Mapping[str, str] | None = None,
    default_quarter: str = "",
    strict: bool = True,
    tolerance: float = 0.5,
    lang: str = "en",
) -> dict:
    """Check a ledger of quarterly adjustments against the rules of case 3 (《客户分类案例》).

    Rules:

    - at most one adjustment per quarter (每个季度可以在额度范围内做一次调整);
    - each adjustment raised by the sales director, approved by the CEO and
      filed with the CFO (销售总监应向ceo提出申请，经同意后报cfo备案);
    - each adjustment keeps the total fixed (this is :func:`check_adjustments`);
    - a raise goes to a good payer only (the case raises C7 because its
      collection rate improved; 保证回款信誉好的客户拥有更大的信用额度).

    Parameters
    ----------
    ledger : sequence of mappings (or one mapping)
        Each adjustment: ``quarter`` ("" = ``default_quarter``), ``raised_by``,
        ``approved_by``, ``filed_with`` (role codes ``sales_director``, ``ceo``,
        ``cfo``) and ``changes`` ``{customer_id: change}``.
    payers : mapping, optional
        customer_id -> ``"good"`` / ``"poor"`` (e.g. :func:`payment_records`
        of the credit grades, plus the case's :data:`CASE_3_PAYERS`); a raise
        for a customer missing here has no payment record and is refused.
    strict : bool, default True
        Raise ``ValueError`` listing every broken rule; with False, return the
        verdict instead.
    lang : {"en", "zh"}, default "en"
        Language of ``problems`` and ``message`` (the page shows them in the report
        language; the error raised is always in English).

    Returns
    -------
    dict
        ``adjustments`` (count), ``raised``, ``cut``, ``net`` (over all
        adjustments), ``balanced`` (every adjustment nets to zero),
        ``approved`` (no rule broken), ``problems`` (one sentence per broken
        rule) and ``message``.
    """
    entries = _entries(ledger, default_quarter)
    payers = dict(payers or {})
    # every broken rule as (label key, values): the page says it in ``lang``, an error in English
    issues, raised, cut, balanced = [], 0.0, 0.0, True
    per_quarter = pd.Series([e["quarter"] for e in entries], dtype="object").value_counts(
        sort=False
    )
    for q, n in per_quarter.items():
        if n > 1:
            issues.append(("ledger_once", {"n": n, "quarter": q}))
    for e in entries:
        name = {"n": e["adjustment"], "quarter": e["quarter"]}
        for step, role in APPROVAL_CHAIN:
            if e[step] != role:
                issues.append((f"ledger_step_{step}", {"name": name, "step": step, "got": e[step]}))
        verdict = check_adjustments(e["changes"], strict=False, tolerance=tolerance)
        raised, cut = raised + verdict["raised"], cut + verdict["cut"]
        if not verdict["balanced"]:
            balanced = False
            issues.append(("ledger_unbalanced_entry", {"name": name, "changes": e["changes"]}))
        for cid, change in e["changes"].items():
            if change > 0 and payers.get(cid) != "good":
                key = "ledger_raise_poor" if cid in payers else "ledger_raise_no_record"
                issues.append(
                    (key, {"name": name, "cid": cid, "change": change, "record": payers.get(cid)})
                )
    approved = not issues

    def message(lg):
        if approved:
            return _say("ledger_ok", lg, n=len(entries), raised=_money(raised), cut=_money(cut))
        said = [_ledger_sentence(key, values, lg, tolerance) for key, values in issues]
        return _say("ledger_broken", lg, problems=("；" if lg == "zh" else "; ").join(said))

    if strict and not approved:
        raise ValueError(message("en"))
    problems = [_ledger_sentence(key, values, lang, tolerance) for key, values in issues]
    msg = message(lang)
    return {
        "adjustments": len(entries),
        "raised": raised,
        "cut": cut,
        "net": raised + cut,
        "balanced": balanced,
        "approved": approved,
        "problems": problems,
        "message": msg,
    }


def credit_indicators(
    receivables: pd.DataFrame, start, end, *, id_col: str = "customer_id"
) -> pd.DataFrame:
    """The payment record that credit grades read: the financial indicators over ``[start, end)``
    (:func:`analysis.products.margin.receivable_indicators`) with each customer's credit terms
    (``terms_days``, :func:`analysis.classify.classes.credit_terms`).

    Parameters
    ----------
    receivables : DataFrame
        Invoices and payments.
    start, end : date-like
        The half-open window.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        One row per customer with receivables.
    """
    from analysis.classify.classes import credit_terms
    from analysis.products.margin import receivable_indicators

    ind = receivable_indicators(receivables, start, end, id_col=id_col)
    return ind.merge(credit_terms(receivables, id_col=id_col), on=id_col, how="left")


def abcd_classes(
    summary: pd.DataFrame,
    indicators: pd.DataFrame,
    *,
    sales_weight: float = 0.5,
    class_shares: Sequence[float] = (0.2, 0.3, 0.3, 0.2),
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Multi-indicator ABCD classes (:func:`credit_classes`) of the customers of ``summary``.

    Only their payment records count: a customer with receivables but no sales in
    ``summary`` is left out (it would take a class share).

    Parameters
    ----------
    summary : DataFrame
        Customer summary of the year.
    indicators : DataFrame
        From :func:`credit_indicators`.
    sales_weight, class_shares
        As in :func:`credit_classes`.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        :func:`credit_classes` of :func:`credit_basis`.
    """
    own = indicators[is_in(indicators[id_col], summary[id_col])]
    basis = credit_basis(summary, own, id_col=id_col)
    return credit_classes(basis, sales_weight=sales_weight, class_shares=class_shares)
