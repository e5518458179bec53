"""Lifecycle stage, cooperation depth and value level (《财税客户如何分类管理》).

The source names the stages of the customer lifecycle 潜在客户、初次合作客户、长期合作客户、流失客户,
with a strategy for each: 潜在客户 重点进行客户开发; 初次合作 提供优质的服务，增强客户的满意度，
促进长期合作; 长期合作 重点维护客户关系，提供增值服务，提升客户的忠诚度; 流失客户 分析客户流失原因，
采取措施挽回客户.  It gives no rule for placing a customer.  The project reads the stages in the
four phases of the relationship common in Chinese CRM teaching — 考察期 (trial), 形成期 (forming),
稳定期 (stable), 退化期 (decline) — plus 流失 (lost) and 潜在 (prospect), and places each customer
by its purchase history as of a date (:func:`lifecycle_stages`; every threshold a parameter):

1. **trial** (考察期, the source's 初次合作): first purchase less than ``trial_days`` ago;
2. **decline** (退化期): no purchase for more than ``lapse_days``, or 12-month sales down by
   ``decline_rate`` or more against the 12 months before;
3. **forming** (形成期): a customer for less than ``stable_days``, or sales up by ``growth_rate``
   or more;
4. **stable** (稳定期, the source's 长期合作): the rest.

Customers with purchases but none in the 12 months are **lost** (流失); customers on the books
without any purchase are **prospects** (潜在), kept apart from low-value buying customers
(:func:`with_lost_and_prospects`).

Cooperation depth (合作深度): 长期合作客户 (合作时间较长、合作关系稳定), 短期合作客户 (刚刚开始合作或合作时间较短),
潜在客户 (尚未正式合作); the project adds 过去客户 (former, 《如何做好客户分类管理》: 现有客户、过去客户、将来客户)
for the lost ones; long-term = a customer for ``long_term_days`` or more (:func:`cooperation_depth`).

Value level (客户价值, 高/中/低) with its service level (:func:`value_levels`): high = the key
customers of the pyramid (专门的客户服务团队, dedicated team), mid = ordinary customers (标准化的服务模式,
standardised service), low = small customers (自动化服务 … 在线客户服务平台，提供自助式的财税服务,
automated self-service).  The source gives no cut-offs; the pyramid's is the project's choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.accounts._common import growth
from analysis.classify.classes import KEY_TIERS, TIERS
from analysis.data.validation import require_columns

__all__ = [
    "STAGES",
    "ACTIVE_STAGES",
    "DEPTHS",
    "VALUE_LEVELS",
    "lifecycle_stages",
    "with_lost_and_prospects",
    "account_stages",
    "stage_summary",
    "cooperation_depth",
    "value_levels",
    "value_level_summary",
]

STAGES = ("prospect", "trial", "forming", "stable", "decline", "lost")
ACTIVE_STAGES = STAGES[1:5]
DEPTHS = ("long_term", "short_term", "former", "prospect")
VALUE_LEVELS = ("high", "mid", "low")


def lifecycle_stages(
    base: pd.DataFrame,
    *,
    trial_days: int = 180,
    stable_days: int = 730,
    lapse_days: int = 90,
    growth_rate: float = 0.2,
    decline_rate: float = 0.3,
    sales_col: str = "monetary",
    prev_col: str = "monetary_prev_12m",
    recency_col: str = "recency_days",
    tenure_col: str = "tenure_days",
) -> pd.DataFrame:
    """Add ``sales_change`` (12 months against the 12 before; NaN without earlier sales) and
    ``stage`` (trial / forming / stable / decline, the rules of the module doc, in that order of
    test: trial, decline, forming, stable).

    Parameters
    ----------
    base : DataFrame
        Customers active in the last 12 months, one row each, e.g.
        :func:`analysis.classify.customer_base.customer_base`: sales of the 12 months and of the 12 before,
        days since the last purchase and since the first.

    Returns
    -------
    DataFrame
        ``base`` with ``sales_change`` and ``stage``.
    """
    require_columns(base, [sales_col, prev_col, recency_col, tenure_col], "the customer base")
    if not 0 <= trial_days <= stable_days:
        raise ValueError(f"need 0 <= trial_days <= stable_days, got {trial_days} and {stable_days}")
    change = growth(base[sales_col], base[prev_col])
    tenure, recency = base[tenure_col].astype("float64"), base[recency_col].astype("float64")
    conds = [
        tenure < trial_days,
        (recency > lapse_days) | (change <= -decline_rate),
        (tenure < stable_days) | (change >= growth_rate),
    ]
    return base.assign(
        sales_change=change, stage=np.select(conds, ["trial", "decline", "forming"], "stable")
    )


def with_lost_and_prospects(
    stages: pd.DataFrame, ever_bought, on_books=None, *, id_col: str = "customer_id"
) -> pd.DataFrame:
    """``stages`` plus a row per lost customer (bought before, not in ``stages``: stage ``lost``)
    and per prospect (on the books, never bought: stage ``prospect``); their other columns are NaN.

    Parameters
    ----------
    ever_bought : iterable
        Ids of the customers with a purchase up to the date.
    on_books : iterable, optional
        Ids in the customers table (None: no prospects can be known).

    Returns
    -------
    DataFrame
        ``stages`` with the lost customers and the prospects appended.
    """
    require_columns(stages, [id_col, "stage"], "the lifecycle stages")
    have = set(stages[id_col])
    bought = pd.Index(pd.unique(pd.Series(list(ever_bought), dtype="object")))
    lost = sorted(set(bought) - have)
    prospects = [] if on_books is None else sorted(set(on_books) - set(bought) - have)
    extra = pd.DataFrame(
        {id_col: lost + prospects, "stage": ["lost"] * len(lost) + ["prospect"] * len(prospects)}
    )
    if extra.empty:
        return stages.reset_index(drop=True)
    return pd.concat([stages, extra.astype({id_col: stages[id_col].dtype})], ignore_index=True)


def account_stages(
    classes: pd.DataFrame,
    tx: pd.DataFrame,
    as_of,
    *,
    customers: pd.DataFrame | None = None,
    long_term_days: int = 730,
    id_col: str = "customer_id",
    date_col: str = "date",
    **rules,
) -> pd.DataFrame:
    """Every customer's lifecycle stage and cooperation depth at ``as_of``.

    The customers of ``classes`` (those buying in the 12 months) get their stage from
    :func:`lifecycle_stages`; a customer who bought before ``as_of`` but is not in ``classes``
    is lost, one in ``customers`` who never bought a prospect (:func:`with_lost_and_prospects`);
    ``depth`` is :func:`cooperation_depth`.

    Parameters
    ----------
    classes : DataFrame
        One row per buying customer (e.g. :func:`analysis.accounts.classes.account_classes`).
    tx : DataFrame
        Transaction lines (``id_col``, ``date_col``).
    as_of : date-like
        The end of the period (exclusive), e.g. the quarter's end.
    customers : DataFrame, optional
        The customers table; None means no prospects can be known.
    long_term_days : int
        Tenure from which a buying customer is long-term.
    rules
        :func:`lifecycle_stages`' thresholds (``trial_days``, ``stable_days``, ``lapse_days``,
        ``growth_rate``, ``decline_rate``).

    Returns
    -------
    DataFrame
        :func:`lifecycle_stages` of ``classes`` plus a row per lost customer and per prospect,
        with ``depth``.
    """
    require_columns(tx, [id_col, date_col], "the transactions")
    ever_bought = pd.unique(tx.loc[tx[date_col] < pd.Timestamp(as_of), id_col])  # ids, once each
    on_books = None if customers is None else customers[id_col]
    stages = lifecycle_stages(classes, **rules)
    stages = with_lost_and_prospects(stages, ever_bought, on_books, id_col=id_col)
    return cooperation_depth(stages, long_term_days=long_term_days)


def stage_summary(
    stages: pd.DataFrame,
    *,
    sales_col: str = "monetary",
    stage_col: str = "stage",
    order: Sequence[str] = STAGES,
    strategy: bool = True,
) -> pd.DataFrame:
    """Per stage: customers, their share, 12-month sales and its share, and (``strategy``) the
    ``strategy`` column (the stage code; its text, label ``cls_stage_strategy_<stage>``, is the
    source's strategy).  ``stage_col="depth", order=DEPTHS, strategy=False`` counts the depths.

    Parameters
    ----------
    stages : DataFrame
        From :func:`lifecycle_stages` (or with :func:`with_lost_and_prospects`).
    sales_col : str
        Sales column.
    stage_col : str
        The stage column.
    order : sequence of str
        The stages, in the order of the rows.
    strategy : bool
        Add the ``strategy`` column.

    Returns
    -------
    DataFrame
        Per stage: customers, customer_share, sales, sales_share (and strategy).
    """
    require_columns(stages, [stage_col, sales_col], "the lifecycle stages")
    s = stages[sales_col].astype("float64").fillna(0.0)
    out = pd.DataFrame({stage_col: list(order)})
    out["customers"] = (
        out[stage_col].map(stages[stage_col].value_counts()).fillna(0).astype("int64")
    )
    out["customer_share"] = out["customers"] / max(len(stages), 1)
    out[sales_col] = out[stage_col].map(s.groupby(stages[stage_col]).sum()).fillna(0.0)
    total = s.sum()
    out[f"{sales_col}_share"] = out[sales_col] / total if total > 0 else np.nan
    return out.assign(strategy=out[stage_col]) if strategy else out


def cooperation_depth(
    stages: pd.DataFrame,
    *,
    long_term_days: int = 730,
    tenure_col: str = "tenure_days",
    stage_col: str = "stage",
) -> pd.DataFrame:
    """Add ``depth``: prospect and former (lost) from the stage; the buying customers long-term
    when their tenure is at least ``long_term_days``, else short-term.

    Parameters
    ----------
    stages : DataFrame
        From :func:`with_lost_and_prospects`.
    long_term_days : int
        Tenure from which a cooperation is long-term.
    tenure_col : str
        Tenure in days.
    stage_col : str
        The stage column.

    Returns
    -------
    DataFrame
        ``stages`` with ``depth``.
    """
    require_columns(stages, [stage_col, tenure_col], "the lifecycle stages")
    st = stages[stage_col]
    long_term = stages[tenure_col].astype("float64") >= long_term_days
    depth = np.select(
        [st.eq("prospect"), st.eq("lost"), long_term],
        ["prospect", "former", "long_term"],
        "short_term",
    )
    return stages.assign(depth=depth)


def value_levels(
    df: pd.DataFrame,
    *,
    tier_col: str = "tier",
    high_tiers: Sequence[str] = KEY_TIERS,
    mid_tiers: Sequence[str] = (TIERS[2],),
) -> pd.DataFrame:
    """Add ``value_level`` (high / mid / low) and ``service`` (the same code; its text, label
    ``cls_service_<level>``, is the source's service level): high = ``high_tiers`` (the key
    customers), mid = ``mid_tiers`` (ordinary), low = the rest (small); no tier, no level.

    Parameters
    ----------
    df : DataFrame
        Customers with a pyramid tier.
    tier_col : str
        Pyramid tier column.
    high_tiers, mid_tiers : sequence of str
        Tiers of the high and the mid level.

    Returns
    -------
    DataFrame
        ``df`` with ``value_level`` and ``service``.
    """
    require_columns(df, [tier_col], "the customer table")
    t = df[tier_col]
    level = pd.Series(
        np.select(
            [t.isin(list(high_tiers)), t.isin(list(mid_tiers)), t.notna()],
            ["high", "mid", "low"],
            "",
        ),
        index=df.index,
    ).replace("", np.nan)
    return df.assign(value_level=level, service=level)


def value_level_summary(
    df: pd.DataFrame,
    *,
    sales_col: str = "monetary",
    profit_col: str | None = "gross_profit",
    level_col: str = "value_level",
) -> pd.DataFrame:
    """Per value level: customers, sales (and gross profit where given) with their shares, and
    ``service`` (the level code, label ``cls_service_<level>``).

    Parameters
    ----------
    df : DataFrame
        From :func:`value_levels`.
    sales_col : str
        Sales column.
    profit_col : str or None
        Gross profit column (None: left out).
    level_col : str
        The level column.

    Returns
    -------
    DataFrame
        Per level: customers, sales (gross profit) with shares, and service.
    """
    cols = [level_col, sales_col] + ([profit_col] if profit_col else [])
    require_columns(df, cols, "the customer table")
    out = pd.DataFrame({level_col: list(VALUE_LEVELS)})
    out["customers"] = out[level_col].map(df[level_col].value_counts()).fillna(0).astype("int64")
    out["customer_share"] = out["customers"] / max(int(df[level_col].notna().sum()), 1)
    for col in cols[1:]:
        v = df[col].astype("float64")
        out[col] = out[level_col].map(v.groupby(df[level_col]).sum()).fillna(0.0)
        total = v.sum()
        out[f"{col}_share"] = out[col] / total if total > 0 else np.nan
    return out.assign(service=out[level_col])
