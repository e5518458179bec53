"""Retention: an action per at-risk customer, the win-back list, churn by lifecycle stage.

《财税客户如何分类管理》 on churn prevention (客户流失预防): 定期客户回访 (regular follow-up visits),
提供增值服务 (added services); on loyalty: 根据客户的贡献和合作时间，制定相应的积分制度、折扣政策、奖励措施
(a loyalty offer by contribution and tenure); on feedback: 及时处理客户的投诉和反馈 (complaints handled
promptly); for lost customers: 分析客户流失原因，采取措施挽回客户 (win-back).  《如何做好客户分类管理》:
为每个大客户选派精干的大户业务代表 (an account manager for each large customer); its screening drops
customers without profit or potential.  《客户管理抓住具有价值的“奶油层”客户》: analysis serves 客户挽留.

**Risk.** :func:`churn_risk` takes the churn model of :mod:`analysis.churn` (page 04's backtested
model: the probability of no purchase within ``horizon_days``, with reasons); where the data are too
few for a model (:class:`analysis.errors.InsufficientData`) it falls back to :func:`recency_risk`,
a recency proxy, and says so in ``risk_source``.  It runs page 04's computation again, with the
same parameters and seed, so that page 09 gives the same numbers in its own kernel (the pages run
in separate kernels, two at a time, and page 09 must also run alone); sorting the lines once and
fitting on a sample at scale keeps that second run short.

**Action** (:func:`retention_actions`; the first rule that holds; the order is the project's choice):

1. screened **drop** (淘汰) → ``not_chased`` (no effort: the screening found no profit or potential);
2. a **key customer** (关键客户) → ``account_manager_visit`` (the account manager visits in person,
   also about any complaint);
3. a **complaint** in the last ``complaint_days`` → ``complaint_follow_up``;
4. a customer for at least ``loyalty_tenure_days`` → ``loyalty_offer``;
5. the rest → ``follow_up_call`` (回访 by phone, with an added service).

**Lost last quarter** (:func:`lost_customers`): active at the quarter's start (a purchase in the
``active_days`` before it) and no purchase in the quarter, the churn definition of page 04 with a
horizon of one quarter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.classify.classes import KEY_TIERS
from analysis.data.lookup import is_in
from analysis.data.validation import require_columns

__all__ = [
    "ACTIONS",
    "churn_risk",
    "recency_risk",
    "recent_complaints",
    "complaints_within",
    "retention_actions",
    "ACTION_COLUMNS",
    "action_summary",
    "lost_customers",
    "win_back_list",
    "WIN_BACK_BASIS",
    "WIN_BACK_COLUMNS",
    "WIN_BACK_PAGE_COLUMNS",
    "lost_note",
    "churn_by_stage",
]

ACTIONS = (
    "account_manager_visit",
    "complaint_follow_up",
    "loyalty_offer",
    "follow_up_call",
    "not_chased",
)


def recency_risk(
    base: pd.DataFrame,
    *,
    recency_col: str = "recency_days",
    frequency_col: str = "frequency",
    tenure_col: str = "tenure_days",
    sales_col: str = "monetary",
    id_col: str = "customer_id",
    lang: str = "zh",
) -> pd.DataFrame:
    """A risk proxy in [0, 1) where no churn model can be fitted (not a probability).

    ``ratio`` = days since the last purchase ÷ the customer's usual interval (tenure ÷ purchase
    days, at least one day); ``churn_probability`` = ratio ÷ (1 + ratio): 0.5 when the customer is
    one usual interval overdue, 0.75 at three.

    Parameters
    ----------
    base : DataFrame
        Customers active in the trailing 12 months
        (:func:`analysis.classify.customer_base.customer_base`).
    recency_col, frequency_col, tenure_col : str
        Days since the last purchase, purchase days and tenure in days.
    sales_col : str
        Sales column.
    id_col : str
        Customer id column.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        customer_id, churn_probability (the proxy), sales_12m, expected_lost_sales and reasons (the
        ratio in words, in ``lang``).
    """
    from analysis.viz.labels import label

    require_columns(
        base, [id_col, recency_col, frequency_col, tenure_col, sales_col], "the customer base"
    )
    interval = (
        base[tenure_col].astype("float64") / base[frequency_col].astype("float64").clip(lower=1)
    ).clip(lower=1)
    ratio = base[recency_col].astype("float64") / interval
    p = ratio / (1 + ratio)
    sales = base[sales_col].astype("float64")
    return pd.DataFrame(
        {
            id_col: base[id_col],
            "churn_probability": p,
            "sales_12m": sales,
            "expected_lost_sales": p * sales,
            "reasons": [label("acct_reason_recency", lang, ratio=f"{r:.1f}") for r in ratio],
        }
    )


def churn_risk(
    ds,
    quarter,
    *,
    horizon_days: int = 90,
    active_days: int | None = 365,
    trend_days: int = 90,
    cv_folds: int = 5,
    random_state: int = 0,
    train_sample: int | None = 200_000,  # analysis.churn.TRAIN_SAMPLE (a test checks)
    choice_sample: int | None = 20_000,  # analysis.churn.CHOICE_SAMPLE
    lang: str = "zh",
) -> tuple[pd.DataFrame, str]:
    """Risk now for every active customer and where it comes from ("model" or "recency").

    ``ds`` is the loaded dataset (:class:`analysis.data.io.Dataset`), ``quarter`` the report quarter.
    The model is page 04's (:func:`analysis.churn.backtest.backtest`, then :func:`analysis.churn.explain.risk_scores`);
    when the data are too few for it, :func:`recency_risk` on the trailing 12 months.

    Parameters
    ----------
    ds : analysis.data.io.Dataset
        The loaded data.
    quarter : Quarter
        The report quarter.
    horizon_days, active_days, trend_days, cv_folds : int
        As in :func:`analysis.churn.backtest.backtest`.
    random_state : int
        Seed of the random draws.
    train_sample, choice_sample : int or None
        As in :func:`analysis.churn.backtest.backtest` (the same defaults).
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    tuple of (DataFrame, str)
        customer_id, churn_probability, sales_12m, expected_lost_sales and reasons; and ``"model"``
        or ``"recency"``.
    """
    from analysis import churn
    from analysis.classify.customer_base import customer_base
    from analysis.errors import InsufficientData

    try:
        res = churn.backtest(
            ds.transactions,
            quarter.end,
            horizon_days=horizon_days,
            active_days=active_days,
            trend_days=trend_days,
            tables=churn.feature_tables(ds),
            cv_folds=cv_folds,
            random_state=random_state,
            train_sample=train_sample,
            choice_sample=choice_sample,
        )
    except InsufficientData:
        return recency_risk(customer_base(ds.transactions, quarter), lang=lang), "recency"
    scored = churn.risk_scores(res, lang=lang)
    return scored[
        ["customer_id", "churn_probability", "sales_12m", "expected_lost_sales", "reasons"]
    ], "model"


def recent_complaints(
    interactions: pd.DataFrame,
    start,
    end,
    *,
    n_notes: int = 2,
    id_col: str = "customer_id",
    date_col: str = "date",
    kind_col: str = "kind",
    note_col: str = "note",
) -> pd.DataFrame:
    """Per customer with a complaint in ``[start, end)``: ``complaints`` (count),
    ``last_complaint_date`` and ``last_complaints`` (the latest ``n_notes`` notes, newest first,
    joined by ``; ``; empty without a note column).

    Parameters
    ----------
    interactions : DataFrame
        The interactions table.
    start, end : date-like
        The half-open window ``[start, end)``.
    n_notes : int
        Notes kept per customer.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    kind_col, note_col : str
        Kind (``complaint`` ...) and note columns.

    Returns
    -------
    DataFrame
        customer_id, complaints, last_complaint_date and last_complaints.
    """
    require_columns(interactions, [id_col, date_col, kind_col], "interactions")
    d = interactions[date_col]
    rows = interactions[
        (d >= pd.Timestamp(start))
        & (d < pd.Timestamp(end))
        & interactions[kind_col].eq("complaint")
    ]
    rows = rows.sort_values(date_col, ascending=False, kind="stable")
    notes = rows[note_col] if note_col in rows.columns else pd.Series("", index=rows.index)
    g = rows.assign(_n=notes.fillna("").astype(str)).groupby(id_col, sort=True)
    return (
        pd.DataFrame(
            {
                "complaints": g.size(),
                "last_complaint_date": g[date_col].max(),
                "last_complaints": g["_n"].agg(
                    lambda s: "; ".join(x for x in s.head(n_notes) if x)
                ),
            }
        )
        .rename_axis(id_col)
        .reset_index()
    )


def complaints_within(
    interactions: pd.DataFrame | None, end, *, days: int, **kwargs
) -> pd.DataFrame | None:
    """The complaints of the ``days`` before ``end`` (:func:`recent_complaints` of
    ``[end - days, end)``); None without an interactions table.

    Parameters
    ----------
    interactions : DataFrame or None
        The interactions table, or None when the data have none.
    end : date-like
        The end of the window (exclusive), e.g. the quarter's end.
    days : int
        Days in the window.
    kwargs
        :func:`recent_complaints`' options.

    Returns
    -------
    DataFrame or None
        :func:`recent_complaints`, or None.
    """
    if interactions is None:
        return None
    end = pd.Timestamp(end)
    return recent_complaints(interactions, end - pd.Timedelta(days=days), end, **kwargs)


def retention_actions(
    risk: pd.DataFrame,
    classes: pd.DataFrame,
    *,
    complaints: pd.DataFrame | None = None,
    risk_min: float = 0.3,
    loyalty_tenure_days: int = 1095,
    key_tiers: Sequence[str] = KEY_TIERS,
    tier_col: str = "tier",
    decision_col: str = "decision",
    tenure_col: str = "tenure_days",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """The at-risk customers (``churn_probability`` >= ``risk_min``), each with an ``action``.

    Parameters
    ----------
    risk : DataFrame
        :func:`churn_risk`'s table (customer_id, churn_probability, sales_12m, expected_lost_sales,
        reasons).
    classes : DataFrame
        One row per customer with its tier, screening decision and tenure (missing customers get
        no tier or decision: they fall to the tenure and default rules).
    complaints : DataFrame, optional
        :func:`recent_complaints` (None: no interactions, the complaint rule never holds).

    Returns
    -------
    DataFrame
        The risk columns, tier, decision, tenure, complaints, last_complaints and ``action`` (the
        rules of the module doc), by expected lost sales, largest first.
    """
    require_columns(risk, [id_col, "churn_probability", "expected_lost_sales"], "the risk table")
    require_columns(classes, [id_col, tier_col, decision_col, tenure_col], "the customer classes")
    at = risk[risk["churn_probability"] >= risk_min]
    out = at.merge(classes[[id_col, tier_col, decision_col, tenure_col]], on=id_col, how="left")
    if complaints is not None:
        require_columns(complaints, [id_col, "complaints"], "the complaints table")
        cols = [c for c in (id_col, "complaints", "last_complaints") if c in complaints.columns]
        out = out.merge(complaints[cols], on=id_col, how="left")
    out = out.assign(
        complaints=out.get("complaints", pd.Series(0, index=out.index)).fillna(0).astype("int64")
    )
    if "last_complaints" not in out.columns:
        out["last_complaints"] = ""
    conds = [
        out[decision_col].eq("drop"),
        out[tier_col].isin(list(key_tiers)),
        out["complaints"] > 0,
        out[tenure_col].astype("float64") >= loyalty_tenure_days,
    ]
    action = np.select(
        conds,
        ["not_chased", "account_manager_visit", "complaint_follow_up", "loyalty_offer"],
        "follow_up_call",
    )
    return (
        out.assign(action=action, last_complaints=out["last_complaints"].fillna(""))
        .sort_values("expected_lost_sales", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def action_summary(actions: pd.DataFrame, *, order: Sequence[str] = ACTIONS) -> pd.DataFrame:
    """Per action: customers, sales of the last 12 months and expected lost sales.

    Parameters
    ----------
    actions : DataFrame
        The action list.
    order : sequence of str
        The actions, in the order of the rows.

    Returns
    -------
    DataFrame
        Per action: customers, sales_12m and expected_lost_sales.
    """
    require_columns(actions, ["action", "expected_lost_sales"], "the action list")
    g = actions.groupby("action")
    out = pd.DataFrame({"action": list(order)})
    out["customers"] = out["action"].map(g.size()).fillna(0).astype("int64")
    if "sales_12m" in actions.columns:
        out["sales_12m"] = out["action"].map(g["sales_12m"].sum()).fillna(0.0)
    out["expected_lost_sales"] = out["action"].map(g["expected_lost_sales"].sum()).fillna(0.0)
    return out


def _purchases(
    tx: pd.DataFrame, start, end, id_col: str, date_col: str, amount_col: str
) -> pd.DataFrame:
    d = tx[date_col]
    return tx[(d >= pd.Timestamp(start)) & (d < pd.Timestamp(end)) & (tx[amount_col] > 0)]


def lost_customers(
    tx: pd.DataFrame,
    quarter,
    *,
    active_days: int = 365,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Customers lost in ``quarter``: a purchase in the ``active_days`` before its start, none in it.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    quarter : Quarter
        The quarter.
    active_days : int
        Days before the quarter in which a purchase made a customer active.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    amount_col : str
        Net amount column (sales; returns negative).

    Returns
    -------
    DataFrame
        customer_id and ``last_purchase`` (the last purchase date), sorted by id.
    """
    require_columns(tx, [id_col, date_col, amount_col], "transactions")
    from analysis.engine import windows

    engine = windows.engine_for(tx)
    if engine != "pandas":
        step = windows.lost_customers_spark if engine == "spark" else windows.lost_customers_duckdb
        window = (quarter.start - pd.Timedelta(days=active_days), quarter.start, quarter.end)
        cols = dict(id_col=id_col, date_col=date_col, amount_col=amount_col)
        return step(tx, *window, **cols)
    before = _purchases(
        tx,
        quarter.start - pd.Timedelta(days=active_days),
        quarter.start,
        id_col,
        date_col,
        amount_col,
    )
    during = set(_purchases(tx, quarter.start, quarter.end, id_col, date_col, amount_col)[id_col])
    last = before.groupby(id_col)[date_col].max()
    last = last[~is_in(last.index, during)]
    return last.rename("last_purchase").rename_axis(id_col).reset_index()


def win_back_list(
    lost: pd.DataFrame,
    classes_before: pd.DataFrame,
    *,
    complaints: pd.DataFrame | None = None,
    value_col: str = "monetary",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """The lost customers with their value and classes before they left and their last complaints,
    by value, largest first.  ``classes_before`` holds each customer's classes at the quarter's start
    (e.g. ``value_col``, gross_profit, abc_class, tier, decision); ``win_back`` is False for a
    customer the screening had dropped (not worth winning back); ``last_purchase`` as YYYY-MM-DD text.

    Parameters
    ----------
    lost : DataFrame
        From :func:`lost_customers`.
    classes_before : DataFrame
        Each customer's classes at the quarter's start.
    complaints : DataFrame, optional
        From :func:`recent_complaints`.
    value_col : str
        The value to rank by.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        The lost customers with their classes, complaints and ``win_back``, by value.
    """
    require_columns(lost, [id_col, "last_purchase"], "the lost customers")
    require_columns(classes_before, [id_col, value_col], "the customer classes")
    out = lost.merge(classes_before, on=id_col, how="left")
    if complaints is not None:
        out = out.merge(complaints, on=id_col, how="left")
        out = out.assign(
            complaints=out["complaints"].fillna(0).astype("int64"),
            last_complaints=out["last_complaints"].fillna(""),
        )
    decision = out["decision"] if "decision" in out.columns else pd.Series(np.nan, index=out.index)
    return (
        out.assign(
            win_back=~decision.eq("drop"),
            last_purchase=out["last_purchase"].dt.strftime("%Y-%m-%d"),
        )
        .sort_values(value_col, ascending=False, kind="stable", na_position="last")
        .reset_index(drop=True)
    )


#: the classes before it left that the win-back list shows of a lost customer
WIN_BACK_BASIS = ("customer_id", "monetary", "gross_profit", "abc_class", "tier", "decision")
#: the columns of the win-back staff table (``win_back``)
WIN_BACK_COLUMNS = (
    "customer_id",
    "name",
    "last_purchase",
    *WIN_BACK_BASIS[1:],
    "win_back",
    "complaints",
    "last_complaints",
)
#: the columns of the win-back list on the page (the ABC class left out for width)
WIN_BACK_PAGE_COLUMNS = tuple(c for c in WIN_BACK_COLUMNS if c != "abc_class")
#: the columns of the retention actions' staff table and page list
ACTION_COLUMNS = (
    "customer_id",
    "name",
    "churn_probability",
    "sales_12m",
    "expected_lost_sales",
    "tier",
    "decision",
    "complaints",
    "action",
    "last_complaints",
    "reasons",
)


def lost_note(win_back: pd.DataFrame, quarter, lang: str, *, value_col: str = "monetary") -> str:
    """One sentence: customers lost in ``quarter`` and their sales of the 12 months before.

    Parameters
    ----------
    win_back : DataFrame
        From :func:`win_back_list`.
    quarter : Quarter
        The quarter.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    value_col : str
        The sales column.

    Returns
    -------
    str
        The sentence in ``lang``.
    """
    from analysis.viz.labels import label
    from analysis.viz.style import fmt_cny

    require_columns(win_back, [value_col], "the win-back list")
    return label(
        "acct_lost_note",
        lang,
        quarter=str(quarter),
        n=len(win_back),
        sales=fmt_cny(win_back[value_col].fillna(0).sum()),
    )


def churn_by_stage(
    stages_before: pd.DataFrame,
    lost: pd.DataFrame,
    *,
    stage_col: str = "stage",
    order: Sequence[str] = ("trial", "forming", "stable", "decline"),
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Churn rate in the quarter by the lifecycle stage at its start.

    ``stages_before``: the stages at the quarter's start (customers active then); ``lost``:
    :func:`lost_customers` of the quarter.  Per stage: customers, churned, churn_rate.

    Parameters
    ----------
    stages_before : DataFrame
        The stages at the quarter's start.
    lost : DataFrame
        From :func:`lost_customers`.
    stage_col : str
        The stage column.
    order : sequence of str
        The stages, in the order of the rows.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        Per stage and in total: customers, churned and churn_rate.
    """
    require_columns(stages_before, [id_col, stage_col], "the lifecycle stages")
    require_columns(lost, [id_col], "the lost customers")
    st = stages_before[stages_before[stage_col].isin(list(order))]
    churned = is_in(st[id_col], lost[id_col])
    out = pd.DataFrame({stage_col: list(order)})
    out["customers"] = out[stage_col].map(st[stage_col].value_counts()).fillna(0).astype("int64")
    out["churned"] = (
        out[stage_col].map(churned.groupby(st[stage_col]).sum()).fillna(0).astype("int64")
    )
    out["churn_rate"] = out["churned"] / out["customers"].where(out["customers"] > 0)
    total = pd.DataFrame(
        {
            stage_col: ["all"],
            "customers": [int(out["customers"].sum())],
            "churned": [int(out["churned"].sum())],
        }
    )
    total["churn_rate"] = total["churned"] / total["customers"].where(total["customers"] > 0)
    return pd.concat([out, total], ignore_index=True)
