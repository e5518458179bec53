"""Annual screening (筛选管理, 《如何做好客户分类管理》) and the strategy per tier (《客户分类案例》, 《财税客户如何分类管理》).

Once a year every customer is screened on 《如何做好客户分类管理》's five grounds: annual
purchases (全年购买额, here the pyramid tier), profitability (收益性, gross
profit or net sales), safety (安全性, the credit grade), future (未来性, the
potential value of the scorecard) and cooperation (合作性, folded into the
credit grade and the potential).  The decision, tested in this order:

1. **drop** (淘汰): no profit (value <= 0) and no potential; or poor credit
   (a grade in ``drop_grades``) without being a key or major customer;
2. **keep** (保留): key or major customers (with a warning on poor credit);
3. **nurture** (培养): potential at or above the split;
4. **re-price** (提价降本): the rest: ordinary customers without potential get
   less service at lower cost, small ones a higher price or lower cost.

Each decision comes with a reason (a code, label ``cls_reason_<code>``) so staff can see why.

Where the share of wallet is given (``cooperation_col``, from :mod:`analysis.accounts.wallet`:
our sales ÷ the customer's total purchases), it is the cooperation ground (合作性: 客户对产品的购买率):
an ordinary customer without potential whose share is below ``cooperation_split`` is nurtured
(reason ``low_share``: win more of what it buys elsewhere before cutting its service; the
project's choice), and the result gets ``cooperation`` (high / low).

Where a value forecast is given (``forecast``, from :mod:`analysis.value.forecast`),
the future ground follows it: a customer's potential is the percentile of its
expected gross profit next year instead of the scorecard's proxy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.classify.classes import TIERS
from analysis.data.validation import require_columns

__all__ = ["DECISIONS", "REASONS", "annual_screening", "screen_customers", "strategy_table"]

DECISIONS = ("keep", "nurture", "reprice", "drop")
REASONS = (
    "no_profit",
    "poor_credit",
    "top_tier_watch_credit",
    "top_tier",
    "potential",
    "small_no_potential",
    "ordinary_no_potential",
)
COOPERATION_REASONS = ("low_share",)  # with cooperation_col only (label cls_reason_low_share)


def annual_screening(
    df: pd.DataFrame,
    *,
    tier_col: str = "tier",
    value_col: str = "monetary",
    potential_col: str = "potential_value",
    credit_col: str | None = None,
    potential_split: float = 50.0,
    drop_grades: Sequence[str] = ("D",),
    watch_grades: Sequence[str] = ("C", "D"),
    top_tiers: Sequence[str] = TIERS[:2],
    forecast: pd.DataFrame | None = None,
    id_col: str = "customer_id",
    cooperation_col: str | None = None,
    cooperation_split: float = 0.3,
) -> pd.DataFrame:
    """Add ``decision`` (keep / nurture / reprice / drop) and ``reason`` (codes; labels
    ``cls_decision_<code>`` and ``cls_reason_<code>``).

    Parameters
    ----------
    df : DataFrame
        One row per customer with its tier, value (gross profit or net sales)
        and potential value; optionally a credit grade.
    credit_col : str, optional
        Column with credit grades A-D; None when there are no receivables.
    forecast : DataFrame, optional
        ``id_col`` and ``potential_value`` from the value forecast (e.g.
        :func:`analysis.value.forecast.potential_value`): where a customer has
        one it replaces ``potential_col`` for the future ground; the result then
        gets ``potential_basis`` ("forecast" or "proxy").
    cooperation_col : str, optional
        Share of wallet (0-1; missing = unknown) for the cooperation ground; see the
        module doc.  ``cooperation_split`` is the share below which cooperation is low.

    Returns
    -------
    DataFrame
        ``df`` with ``decision`` and ``reason`` (and ``potential_basis`` with a forecast).
    """
    cols = [tier_col, value_col, potential_col] + ([credit_col] if credit_col else [])
    require_columns(df, cols, "the customer table")
    top = df[tier_col].isin(list(top_tiers))
    no_profit = df[value_col].astype("float64").fillna(0.0).le(0)
    future = df[potential_col].astype("float64")
    basis = {}
    if forecast is not None:
        require_columns(df, [id_col], "the customer table")
        require_columns(forecast, [id_col, "potential_value"], "the value forecast")
        if forecast[id_col].duplicated().any():
            raise ValueError(f"the value forecast has more than one row for a customer ({id_col})")
        fc = df[id_col].map(forecast.set_index(id_col)["potential_value"]).astype("float64")
        basis = {"potential_basis": np.where(fc.notna(), "forecast", "proxy")}
        future = fc.fillna(future)
    potential = future.ge(potential_split)
    credit = df[credit_col] if credit_col else pd.Series(np.nan, index=df.index, dtype="object")
    poor = credit.isin(list(drop_grades))
    watch = credit.isin(list(watch_grades))
    small = df[tier_col].eq(TIERS[3])
    conds = [no_profit & ~potential, poor & ~top, top & watch, top, potential, small]
    decisions, reasons = ["drop", "drop", "keep", "keep", "nurture", "reprice"], list(REASONS[:6])
    if cooperation_col is not None:
        require_columns(df, [cooperation_col], "the customer table")
        share = df[cooperation_col].astype("float64")
        basis["cooperation"] = np.where(
            share.isna(), None, np.where(share < cooperation_split, "low", "high")
        )
        conds.insert(5, df[tier_col].eq(TIERS[2]) & share.lt(cooperation_split))
        decisions.insert(5, "nurture")
        reasons.insert(5, COOPERATION_REASONS[0])
    return df.assign(
        decision=np.select(conds, decisions, "reprice"),
        reason=np.select(conds, reasons, REASONS[6]),
        **basis,
    )


def strategy_table(
    screened: pd.DataFrame, *, tier_col: str = "tier", value_col: str = "monetary"
) -> pd.DataFrame:
    """Per tier (key first): customers, value and its share, customers per decision (``decision_<code>``),
    and ``strategy``
    (the tier code; its text, label ``cls_strategy_<tier>``, runs from dedicated staff for key
    customers to a higher price or lower cost for small ones).

    Parameters
    ----------
    screened : DataFrame
        From :func:`annual_screening`.
    tier_col : str
        Pyramid tier column.
    value_col : str
        The value summed.

    Returns
    -------
    DataFrame
        Per tier: customers, value and share, customers per decision and ``strategy``.
    """
    require_columns(screened, [tier_col, value_col, "decision"], "the screened table")
    v = screened[value_col].astype("float64")
    total = v.sum()
    counts = pd.crosstab(screened[tier_col], screened["decision"]).reindex(
        index=list(TIERS), columns=list(DECISIONS), fill_value=0
    )
    out = pd.DataFrame({tier_col: list(TIERS)})
    out["customers"] = (
        out[tier_col].map(screened[tier_col].value_counts()).fillna(0).astype("int64")
    )
    out[value_col] = out[tier_col].map(v.groupby(screened[tier_col]).sum()).fillna(0.0)
    out[f"{value_col}_share"] = out[value_col] / total if total > 0 else np.nan
    for d in DECISIONS:
        out[f"decision_{d}"] = counts[d].to_numpy().astype("int64")
    return out.assign(strategy=out[tier_col])


def screen_customers(
    classes: pd.DataFrame,
    tiers: pd.DataFrame,
    card: pd.DataFrame,
    credit: pd.DataFrame | None = None,
    *,
    value_col: str = "monetary",
    potential_split: float = 50.0,
    forecast: pd.DataFrame | None = None,
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """The annual screening of the classified customers, from their tier, value card and credit grade.

    Parameters
    ----------
    classes : DataFrame
        One row per customer (the screening's rows), with ``value_col``.
    tiers : DataFrame
        ``id_col`` and ``tier`` (:func:`analysis.classify.classes.pyramid_tiers`).
    card : DataFrame
        The value card (``potential_value``; :func:`analysis.classify.scorecard.value_card`).
    credit : DataFrame, optional
        ``id_col`` and ``credit_grade``; None when there are no receivables.
    forecast : DataFrame, optional
        The value forecast's customers (``expected_gross_profit`` / ``expected_sales``): their
        percentile (:func:`analysis.value.forecast.potential_value`) is the future ground
        where a customer has one.

    Returns
    -------
    DataFrame
        ``classes`` with the joined columns, ``decision`` and ``reason``
        (:func:`annual_screening`).
    """
    from analysis.classify.roster import build_roster

    credit_part = None if credit is None else credit[[id_col, "credit_grade"]]
    joined = build_roster(classes, [tiers[[id_col, "tier"]], card, credit_part], id_col=id_col)
    potential = None
    if forecast is not None:
        from analysis.value.forecast import potential_value

        potential = potential_value(forecast, id_col=id_col)
    return annual_screening(
        joined,
        value_col=value_col,
        credit_col=None if credit is None else "credit_grade",
        potential_split=potential_split,
        forecast=potential,
        id_col=id_col,
    )
