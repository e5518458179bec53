"""Each customer's classes as page 01 assigns them, for the account-management page.

:func:`account_classes` runs page 01's chain with the same defaults — ABC by net sales of the
trailing 12 months, the customer pyramid by gross profit, loyalty, the value scorecard, credit
grades and the annual screening — so that page 09's key customers, tiers and screening decisions
are page 01's.  It adds the value level and service level (:func:`analysis.accounts.lifecycle.value_levels`)
and, where the share of wallet is given, the screening's cooperation ground.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.accounts.lifecycle import value_levels
from analysis.classify import classes as cl, scorecard as sc, screening as scr
from analysis.classify.customer_base import customer_base
from analysis.classify.roster import build_roster
from analysis.products.margin import receivable_indicators
from analysis.value.forecast import customer_forecast, potential_value

__all__ = ["account_classes", "headline"]


def account_classes(
    ds,
    quarter,
    *,
    cutoffs: Sequence[float] = (0.75, 0.95),
    key_share: float = 0.2,
    important_share: float = 0.01,
    ordinary_share: float = 0.3,
    tenure_full_days: int = 730,
    credit_days_limits: Sequence[float] = (5, 15, 30),
    credit_overdue_limits: Sequence[float] = (0.05, 0.15, 0.30),
    value_split: float = 50.0,
    wallet: pd.DataFrame | None = None,
    cooperation_split: float = 0.3,
    value_forecast: bool = True,
    random_state: int = 0,
) -> pd.DataFrame:
    """One row per customer active in the trailing 12 months of ``quarter``, with its classes.

    Parameters
    ----------
    ds : analysis.data.io.Dataset
        The loaded data (receivables and interactions are used when present).
    quarter : analysis.data.periods.Quarter
        The report quarter (its trailing 12 months; its previous quarter for the win-back list).
    wallet : DataFrame, optional
        :func:`analysis.accounts.wallet.share_of_wallet`: its ``share_of_wallet`` becomes the
        screening's cooperation ground (``cooperation_split``).
    value_forecast : bool
        As page 01: potential value and the screening's future ground come from the value
        forecast (:func:`analysis.value.forecast.customer_forecast`) where the history allows.
    random_state : int
        The forecast's seed (page 01's default, so both pages class customers alike).

    Returns
    -------
    DataFrame
        :func:`analysis.classify.customer_base.customer_base`'s columns plus abc_class, tier, loyalty,
        service_balance (NaN without interactions), current_value, potential_value, credit_grade
        (NaN without receivables), decision, reason, value_level, service (and share_of_wallet,
        cooperation with ``wallet``).
    """
    tx = ds.transactions
    # the forecast first, while nothing else is held (issue 14: at 10M lines its pass over the lines
    # is the largest transient of page 09; it depends on the lines and the quarter end only)
    expected = (
        customer_forecast(tx, quarter.end, random_state=random_state) if value_forecast else None
    )
    base = customer_base(tx, quarter)
    abc = cl.abc_classes(base, "monetary", cutoffs=cutoffs)
    profit_col = "gross_profit" if ds.has("transactions", "cost") else "monetary"
    tiers = cl.pyramid_tiers(
        abc,
        profit_col,
        key_share=key_share,
        important_share=important_share,
        ordinary_share=ordinary_share,
    )
    loyal = cl.loyalty_scores(tiers, tenure_full_days=tenure_full_days)
    service = (
        sc.service_balance(ds["interactions"], quarter.trailing_12m_start, quarter.end)
        if ds.has("interactions")
        else None
    )
    card = sc.value_scorecard(
        base, base.assign(monetary=base["monetary_prev_12m"]), service, forecast=expected
    )
    parts = [
        loyal[["customer_id", "tier", "loyalty"]],
        card[["customer_id", "current_value", "potential_value"]],
    ]
    credit_col = None
    if ds.has("receivables"):
        rec = ds["receivables"]
        ind = receivable_indicators(rec, quarter.trailing_12m_start, quarter.end).merge(
            cl.credit_terms(rec), on="customer_id", how="left"
        )
        graded = cl.credit_grades(
            ind, days_limits=credit_days_limits, overdue_limits=credit_overdue_limits
        )
        parts.append(graded[["customer_id", "credit_grade"]])
        credit_col = "credit_grade"
    if service is not None:
        parts.append(service[["customer_id", "service_balance"]])
    if wallet is not None:
        parts.append(wallet[["customer_id", "share_of_wallet"]])
    joined = build_roster(abc, parts)
    screen = scr.annual_screening(
        joined,
        value_col=profit_col,
        credit_col=credit_col,
        potential_split=value_split,
        cooperation_col="share_of_wallet" if wallet is not None else None,
        cooperation_split=cooperation_split,
        forecast=None if expected is None else potential_value(expected),
    )
    if "service_balance" not in screen.columns:
        screen = screen.assign(service_balance=float("nan"))
    if "credit_grade" not in screen.columns:
        screen = screen.assign(credit_grade=float("nan"))
    return value_levels(screen)


def _counts(values: pd.Series | None, order: Sequence[str]) -> dict | None:
    if values is None:
        return None
    vc = values.value_counts()
    return {k: int(vc.get(k, 0)) for k in order}


def headline(
    *,
    keys: pd.DataFrame | None,
    plan: pd.DataFrame | None,
    stages: pd.DataFrame,
    typed: pd.DataFrame,
    actions: pd.DataFrame,
    risk_source: str,
    win_back: pd.DataFrame,
    by_stage: pd.DataFrame,
    wallet_record: dict | None,
) -> dict:
    """Page 09's headline numbers for summary.json (None where a section was skipped).

    Parameters
    ----------
    keys : DataFrame or None
        :func:`analysis.accounts.salespeople.key_customers_by_owner` (None: no owner column).
    plan : DataFrame or None
        The visit plan (None: skipped).
    stages : DataFrame
        Lifecycle stages with lost customers and prospects.
    typed : DataFrame
        IBM types with prospects.
    actions : DataFrame
        Retention actions.
    risk_source : str
        ``"model"`` or ``"recency"`` (:func:`analysis.accounts.retention.churn_risk`).
    win_back : DataFrame
        The win-back list.
    by_stage : DataFrame
        Churn by lifecycle stage.
    wallet_record : dict or None
        :func:`analysis.accounts.wallet.wallet_record` (None: no total purchases).

    Returns
    -------
    dict
        Counts and sums per section for summary.json.
    """
    from analysis.accounts.ibm_types import TYPES
    from analysis.accounts.lifecycle import STAGES
    from analysis.accounts.retention import ACTIONS

    rate = by_stage.set_index("stage")["churn_rate"]
    return {
        "key_customers": None if keys is None else int(len(keys)),
        "key_customers_without_owner": None if keys is None else int(keys["no_owner"].sum()),
        "salespeople": None
        if plan is None
        else int(plan["salesperson"].ne("unassigned").groupby(plan["salesperson"]).any().sum()),
        "visits_next_quarter": None if plan is None else int(plan["visits"].sum()),
        "stages": _counts(stages["stage"], STAGES),
        "ibm_types": _counts(typed["ibm_type"], TYPES),
        "risk_source": risk_source,
        "at_risk": int(len(actions)),
        "actions": _counts(actions["action"], ACTIONS),
        "lost_last_quarter": int(len(win_back)),
        "worth_winning_back": int(win_back["win_back"].sum()),
        "churn_rate_by_stage": {
            k: (None if pd.isna(v) else round(float(v), 4)) for k, v in rate.items()
        },
        "share_of_wallet": wallet_record,
    }
