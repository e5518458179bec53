"""IBM's four customer types (《客户管理抓住具有价值的“奶油层”客户》).

The article: IBM公司则对客户做出如下分类：忠诚型客户、快速成长型客户、睡眠型客户和值得重视和培养的客户，
在划分客户标准上也采取了多元的标准：忠诚度、满意度、销售额等指标.  It gives no rule.  The
project's rule, from data the suite has, tested in this order (every threshold a parameter):

1. **sleeping** (睡眠型): no purchase for more than ``sleep_days``;
2. **fast-growing** (快速成长型): a high- or mid-value customer whose 12-month sales rose by
   ``growth_min`` or more on the 12 months before, or that reached that value within its first
   ``new_days``;
3. **loyal** (忠诚型): loyalty (忠诚度: tenure and months with a purchase,
   :func:`analysis.classify.classes.loyalty_scores`) at least ``loyalty_split`` (0.85: a customer of
   two years or more that bought in at least 9 of the 12 months) and, where the satisfaction is
   known (praise + suggestions − complaints of the year), not negative;
4. **worth nurturing** (值得重视和培养): the other high- or mid-value customers, and low-value
   ones growing by ``growth_min`` or more;
5. **general** (一般客户): the low-value rest, outside IBM's four types.

Prospects (潜在客户: on the books, never bought) are a sixth group, never mixed with the
low-value buying customers: the article's 潜在客户群 are prospects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.accounts._common import growth
from analysis.data.lookup import is_in
from analysis.data.validation import require_columns

__all__ = ["IBM_TYPES", "TYPES", "ibm_types", "with_prospects", "type_summary"]

IBM_TYPES = ("loyal", "fast_growing", "sleeping", "worth_nurturing")
TYPES = (*IBM_TYPES, "general", "prospect")


def ibm_types(
    df: pd.DataFrame,
    *,
    sleep_days: int = 90,
    growth_min: float = 0.3,
    loyalty_split: float = 0.85,
    new_days: int = 365,
    satisfaction_col: str | None = None,
    sales_col: str = "monetary",
    prev_col: str = "monetary_prev_12m",
    recency_col: str = "recency_days",
    tenure_col: str = "tenure_days",
    loyalty_col: str = "loyalty",
    level_col: str = "value_level",
    valued: Sequence[str] = ("high", "mid"),
) -> pd.DataFrame:
    """Add ``sales_change`` and ``ibm_type`` (sleeping / fast_growing / loyal / worth_nurturing /
    general, the rules of the module doc) to the buying customers.

    Parameters
    ----------
    df : DataFrame
        One row per buying customer with sales of the 12 months and the 12 before, recency and
        tenure in days, ``loyalty`` (0-1) and ``value_level`` (high / mid / low).
    satisfaction_col : str, optional
        A satisfaction score (e.g. ``service_balance`` of :func:`analysis.classify.scorecard.service_balance`);
        a negative one keeps a customer out of the loyal type.  Missing = not known.

    Returns
    -------
    DataFrame
        ``df`` with ``sales_change`` and ``ibm_type``.
    """
    cols = [sales_col, prev_col, recency_col, tenure_col, loyalty_col, level_col]
    require_columns(
        df, cols + ([satisfaction_col] if satisfaction_col else []), "the customer table"
    )
    change = growth(df[sales_col], df[prev_col])
    valued_now = df[level_col].isin(list(valued))
    new = df[tenure_col].astype("float64") < new_days
    satisfied = (
        (df[satisfaction_col].astype("float64").fillna(0) >= 0) if satisfaction_col else True
    )
    growing = change >= growth_min
    conds = [
        df[recency_col].astype("float64") > sleep_days,
        valued_now & (growing | new),
        (df[loyalty_col].astype("float64") >= loyalty_split) & satisfied,
        valued_now | growing,
    ]
    return df.assign(
        sales_change=change,
        ibm_type=np.select(
            conds, ["sleeping", "fast_growing", "loyal", "worth_nurturing"], "general"
        ),
    )


def with_prospects(
    typed: pd.DataFrame,
    stages: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    type_col: str = "ibm_type",
) -> pd.DataFrame:
    """``typed`` plus one row per prospect of ``stages`` (stage ``prospect``) with type ``prospect``.

    Parameters
    ----------
    typed : DataFrame
        From :func:`ibm_types`.
    stages : DataFrame
        Lifecycle stages with prospects
        (:func:`analysis.accounts.lifecycle.with_lost_and_prospects`).
    id_col : str
        Customer id column.
    type_col : str
        The type column.

    Returns
    -------
    DataFrame
        ``typed`` with the prospects appended.
    """
    require_columns(stages, [id_col, "stage"], "the lifecycle stages")
    ids = stages.loc[stages["stage"].eq("prospect") & ~is_in(stages[id_col], typed[id_col]), id_col]
    if ids.empty:
        return typed
    return pd.concat(
        [typed, pd.DataFrame({id_col: ids.to_numpy(), type_col: "prospect"})], ignore_index=True
    )


def type_summary(
    df: pd.DataFrame,
    *,
    sales_col: str = "monetary",
    type_col: str = "ibm_type",
    order: Sequence[str] = TYPES,
) -> pd.DataFrame:
    """Per type: customers and share, 12-month sales and share, mean sales change.

    Parameters
    ----------
    df : DataFrame
        Typed customers.
    sales_col : str
        Sales column.
    type_col : str
        The type column.
    order : sequence of str
        The types, in the order of the rows.

    Returns
    -------
    DataFrame
        Per type: customers, customer_share, sales, sales_share and mean sales_change.
    """
    require_columns(df, [type_col, sales_col], "the typed customers")
    s = df[sales_col].astype("float64").fillna(0.0)
    out = pd.DataFrame({type_col: list(order)})
    out["customers"] = out[type_col].map(df[type_col].value_counts()).fillna(0).astype("int64")
    out["customer_share"] = out["customers"] / max(len(df), 1)
    out[sales_col] = out[type_col].map(s.groupby(df[type_col]).sum()).fillna(0.0)
    total = s.sum()
    out[f"{sales_col}_share"] = out[sales_col] / total if total > 0 else np.nan
    if "sales_change" in df.columns:
        out["mean_sales_change"] = out[type_col].map(df.groupby(type_col)["sales_change"].mean())
    return out
