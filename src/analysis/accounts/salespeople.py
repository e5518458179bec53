"""Salespeople and the visit plan (专人负责; 路序分类 → 访问计划), 《如何做好客户分类管理》.

The course's analysis flow: 整理资料 → 客户构成分析 → 划分客户等级 → 客户名册登记 →
对客户进行路序分类、确定客户访问计划; its second step finds the key customers from each
salesperson's record (从销售人员的推销实绩中找出重点客户), and one of its four principles is
专人负责 (a named person in charge).  Here:

- :func:`salesperson_summary`: per salesperson (owner, the ``salesperson`` column of
  ``customers``): customers per ABC class, key customers (关键客户 = 重要 + 次要客户 of the
  pyramid) and the share of company sales; the customers without an owner form one row;
- :func:`key_customers_by_owner`: the key customers with their owner, an empty owner flagged;
- :func:`visit_plan`: next quarter's visits.  The source gives no frequencies: the project's
  choice is a visit every ``every_weeks[class]`` weeks (A weekly, B every four weeks, C once a
  quarter), customers grouped by route (线路, or region where there is no route), each route on
  one weekday, the visits of a class spread over the weeks so that the week's load is even;
- :func:`visit_workload` and :func:`plan_sheets`: visits per salesperson and week, and one table
  per salesperson for the sales team's workbook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.accounts._common import blank_to_na, unique_ids
from analysis.classify.classes import ABC_CLASSES, KEY_TIERS, header, label_values
from analysis.data.validation import require_columns
from analysis.viz.labels import label
from analysis.viz.style import fmt_cny

__all__ = [
    "UNASSIGNED",
    "VISIT_EVERY_WEEKS",
    "WEEKDAYS",
    "QUARTER_WEEKS",
    "with_owner",
    "salesperson_summary",
    "key_customers_by_owner",
    "KEY_COLUMNS",
    "without_owner",
    "unowned_note",
    "visit_plan",
    "visit_workload",
    "PLAN_COLUMNS",
    "salesperson_plan",
    "STAFF_CODED",
    "staff_table",
    "plan_sheets",
]

#: the owner shown for customers without one (label ``cls_owner_unassigned``)
UNASSIGNED = "unassigned"
#: weeks between visits per ABC class (the project's choice: A weekly, B monthly, C quarterly)
VISIT_EVERY_WEEKS: dict[str, int] = {"A": 1, "B": 4, "C": 13}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
QUARTER_WEEKS = 13


def with_owner(
    classes: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    owner_col: str = "salesperson",
    route_col: str | None = "route",
    region_col: str = "region",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """``classes`` with each customer's owner and route from ``customers``.

    A blank owner becomes missing; ``route`` falls back to the region where the route is
    missing (or absent from ``customers``), then to missing.

    Parameters
    ----------
    classes : DataFrame
        Classified customers.
    customers : DataFrame
        The customers table.
    owner_col : str
        Salesperson column.
    route_col : str or None
        Route column (None: none).
    region_col : str
        Region column (the route's fallback).
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        ``classes`` with ``owner_col`` and ``route``.
    """
    require_columns(classes, [id_col], "the customer classes")
    require_columns(customers, [id_col, owner_col], "customers")
    unique_ids(customers, id_col, "customers")
    c = customers.set_index(id_col)
    ids = classes[id_col]
    route = pd.Series(np.nan, index=ids.index, dtype="object")
    for col in (route_col, region_col):
        if col and col in c.columns:
            route = route.fillna(blank_to_na(ids.map(c[col])))
    return classes.drop(columns=[x for x in (owner_col, "route") if x in classes.columns]).assign(
        **{owner_col: blank_to_na(ids.map(c[owner_col])), "route": route}
    )


def _owner_key(df: pd.DataFrame, owner_col: str) -> pd.Series:
    return df[owner_col].astype("object").where(df[owner_col].notna(), UNASSIGNED)


def salesperson_summary(
    df: pd.DataFrame,
    *,
    owner_col: str = "salesperson",
    sales_col: str = "monetary",
    class_col: str = "abc_class",
    tier_col: str = "tier",
    classes: Sequence[str] = ABC_CLASSES,
    key_tiers: Sequence[str] = KEY_TIERS,
) -> pd.DataFrame:
    """Per salesperson: customers, customers per class, key customers and the share of sales.

    Parameters
    ----------
    df : DataFrame
        One row per customer with ``owner_col`` (missing = no owner), ``sales_col``,
        ``class_col`` and ``tier_col``.

    Returns
    -------
    DataFrame
        ``salesperson`` (:data:`UNASSIGNED` for the customers without an owner, last),
        ``customers``, ``class_<c>`` per class, ``key_customers``, ``sales``, ``sales_share`` (of
        all customers' sales), ``key_sales_share`` (key customers' share of the salesperson's
        sales); salespeople by sales, largest first.
    """
    require_columns(df, [owner_col, sales_col, class_col, tier_col], "the customer table")
    owner = _owner_key(df, owner_col)
    sales = df[sales_col].astype("float64")
    key = df[tier_col].isin(list(key_tiers))
    g = pd.DataFrame({"o": owner, "s": sales, "k": key, "ks": sales.where(key, 0.0)}).groupby(
        "o", sort=False
    )
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "key_customers": g["k"].sum(),
            "sales": g["s"].sum(),
            "key_sales": g["ks"].sum(),
        }
    )
    counts = pd.crosstab(owner, df[class_col]).reindex(columns=list(classes), fill_value=0)
    for c in classes:
        out[f"class_{c}"] = counts[c].reindex(out.index).fillna(0).astype("int64")
    total = sales.sum()
    out["sales_share"] = out["sales"] / total if total > 0 else np.nan
    out["key_sales_share"] = out["key_sales"] / out["sales"].where(out["sales"] > 0)
    out = out.assign(last=out.index == UNASSIGNED).sort_values(
        ["last", "sales"], ascending=[True, False]
    )
    out = out.rename_axis("salesperson").reset_index()
    cols = [
        "salesperson",
        "customers",
        *[f"class_{c}" for c in classes],
        "key_customers",
        "sales",
        "sales_share",
        "key_sales_share",
    ]
    return out[cols].astype({"customers": "int64", "key_customers": "int64"}).reset_index(drop=True)


def key_customers_by_owner(
    df: pd.DataFrame,
    *,
    owner_col: str = "salesperson",
    sales_col: str = "monetary",
    tier_col: str = "tier",
    key_tiers: Sequence[str] = KEY_TIERS,
) -> pd.DataFrame:
    """The key customers (tier in ``key_tiers``), each with its owner and ``no_owner`` (True = nobody
    is in charge, the gap 专人负责 closes); those without an owner first, then by owner and sales.

    Parameters
    ----------
    df : DataFrame
        From :func:`with_owner`.
    owner_col : str
        Salesperson column.
    sales_col : str
        Sales column.
    tier_col : str
        Pyramid tier column.
    key_tiers : sequence of str
        The key tiers.

    Returns
    -------
    DataFrame
        The key customers with ``no_owner``, sorted.
    """
    require_columns(df, [owner_col, sales_col, tier_col], "the customer table")
    key = df[df[tier_col].isin(list(key_tiers))]
    out = key.assign(no_owner=key[owner_col].isna(), salesperson=_owner_key(key, owner_col))
    return out.sort_values(
        ["no_owner", "salesperson", sales_col], ascending=[False, True, False], kind="stable"
    ).reset_index(drop=True)


def _weeks(offset: int, every: int, n_weeks: int) -> list[int]:
    return list(range(offset + 1, n_weeks + 1, every))


def visit_plan(
    df: pd.DataFrame,
    *,
    every_weeks: Mapping[str, int] | None = None,
    n_weeks: int = QUARTER_WEEKS,
    owner_col: str = "salesperson",
    route_col: str = "route",
    class_col: str = "abc_class",
    sales_col: str = "monetary",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Next quarter's visits: one row per customer whose class has a visit frequency.

    Parameters
    ----------
    df : DataFrame
        One row per customer with its owner (missing = :data:`UNASSIGNED`), route (missing =
        ``"–"``), class and sales.
    every_weeks : mapping, optional
        Weeks between visits per class (default :data:`VISIT_EVERY_WEEKS`); a class missing
        from it, or with 0, is not visited.
    n_weeks : int
        Weeks in the plan (13 = a quarter).

    Returns
    -------
    DataFrame
        The input columns plus ``every_weeks``, ``weekday`` (code mon..fri: each owner's routes,
        largest first, take the weekdays in turn), ``visits`` and ``weeks`` (e.g. ``"2, 6, 10"``):
        within an owner's route and class the customers, largest first, start in weeks 1, 2, …
        ``every`` in turn, so that a class's visits spread evenly over the weeks.  Sorted by
        owner, weekday, route, class and sales.
    """
    require_columns(df, [id_col, owner_col, route_col, class_col, sales_col], "the customer table")
    every_weeks = dict(VISIT_EVERY_WEEKS if every_weeks is None else every_weeks)
    bad = {k: v for k, v in every_weeks.items() if not isinstance(v, (int, np.integer)) or v < 0}
    if bad or n_weeks < 1:
        raise ValueError(
            f"every_weeks must map classes to whole weeks >= 0 and n_weeks be >= 1; got {bad or n_weeks}"
        )
    every = df[class_col].map(every_weeks).fillna(0).astype("int64")
    plan = df[every > 0].assign(
        every_weeks=every[every > 0],
        salesperson=lambda d: _owner_key(d, owner_col),
        route=lambda d: d[route_col].astype("object").fillna("–"),
    )
    sizes = plan.groupby(["salesperson", "route"]).size().rename("n").reset_index()
    sizes = sizes.sort_values(
        ["salesperson", "n", "route"], ascending=[True, False, True], kind="stable"
    )
    sizes["weekday"] = [
        WEEKDAYS[i % len(WEEKDAYS)] for i in sizes.groupby("salesperson").cumcount()
    ]
    plan = plan.merge(
        sizes[["salesperson", "route", "weekday"]], on=["salesperson", "route"], how="left"
    )
    plan = plan.sort_values(
        ["salesperson", "route", class_col, sales_col],
        ascending=[True, True, True, False],
        kind="stable",
    )
    offset = plan.groupby(["salesperson", "route", class_col]).cumcount() % plan["every_weeks"]
    weeks = [_weeks(int(o), int(e), n_weeks) for o, e in zip(offset, plan["every_weeks"])]
    plan = plan.assign(
        visits=[len(w) for w in weeks], weeks=[", ".join(map(str, w)) for w in weeks]
    )
    day = plan["weekday"].map({d: i for i, d in enumerate(WEEKDAYS)})
    return (
        plan.assign(_d=day, _u=plan["salesperson"].eq(UNASSIGNED))
        .sort_values(
            ["_u", "salesperson", "_d", "route", class_col, sales_col],
            ascending=[True, True, True, True, True, False],
            kind="stable",
        )
        .drop(columns=["_d", "_u"])
        .reset_index(drop=True)
    )


def visit_workload(
    plan: pd.DataFrame,
    *,
    n_weeks: int = QUARTER_WEEKS,
    class_col: str = "abc_class",
    classes: Sequence[str] = ABC_CLASSES,
) -> pd.DataFrame:
    """Per salesperson: customers, routes, visits per class (``visits_<c>``), visits in the quarter
    and per week (visits ÷ ``n_weeks``).

    Parameters
    ----------
    plan : DataFrame
        The visit plan.
    n_weeks : int
        Weeks in the quarter.
    class_col : str
        Class column.
    classes : sequence of str
        The classes counted.

    Returns
    -------
    DataFrame
        Per salesperson: customers, routes, visits per class, visits and visits_per_week.
    """
    require_columns(plan, ["salesperson", "route", "visits", class_col], "the visit plan")
    g = plan.groupby("salesperson", sort=False)
    out = pd.DataFrame({"customers": g.size(), "routes": g["route"].nunique()})
    by_class = plan.pivot_table(
        index="salesperson", columns=class_col, values="visits", aggfunc="sum", fill_value=0
    ).reindex(columns=list(classes), fill_value=0)
    for c in classes:
        out[f"visits_{c}"] = by_class[c].reindex(out.index).fillna(0).astype("int64")
    out["visits"] = g["visits"].sum()
    out["visits_per_week"] = out["visits"] / n_weeks
    return out.rename_axis("salesperson").reset_index()


PLAN_COLUMNS = (
    "salesperson",
    "weekday",
    "route",
    "customer_id",
    "name",
    "abc_class",
    "tier",
    "monetary",
    "every_weeks",
    "visits",
    "weeks",
)


def salesperson_plan(plan: pd.DataFrame, salesperson: str | None = None) -> pd.DataFrame:
    """One salesperson's visits of :func:`visit_plan`, in its order, with :data:`PLAN_COLUMNS`.

    Parameters
    ----------
    plan : DataFrame
        From :func:`visit_plan`.
    salesperson : str, optional
        Whose visits; None means the plan's first salesperson (the page's example).

    Returns
    -------
    DataFrame
        That salesperson's rows (index reset) with the columns of :data:`PLAN_COLUMNS` it has;
        empty for an empty plan.
    """
    require_columns(plan, ["salesperson"], "the visit plan")
    if salesperson is None:
        salesperson = plan["salesperson"].iloc[0] if len(plan) else None
    rows = plan[plan["salesperson"] == salesperson]
    return rows[[c for c in PLAN_COLUMNS if c in plan.columns]].reset_index(drop=True)


STAFF_CODED = {
    "weekday": "weekday",
    "tier": "tier",
    "salesperson": "owner",
    "decision": "decision",
    "action": "action",
    "stage": "stage",
    "ibm_type": "ibm",
    "value_level": "value_level",
    "win_back": "bool",
    "no_owner": "bool",
}


def staff_table(
    df: pd.DataFrame,
    lang: str,
    *,
    columns: Sequence[str] = PLAN_COLUMNS,
    coded: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A table for the sales team in ``lang``: the columns present of ``columns``, class codes named
    (``coded`` maps column -> class kind; default :data:`STAFF_CODED`), headers labelled.

    Parameters
    ----------
    df : DataFrame
        A plan or customer table.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    columns : sequence of str
        Columns to keep, in order.
    coded : mapping, optional
        Column -> class kind for the codes to name.

    Returns
    -------
    DataFrame
        The table with headers and codes in ``lang``.
    """
    out = df[[c for c in columns if c in df.columns]]
    coded = STAFF_CODED if coded is None else coded
    out = out.assign(
        **{
            c: label_values(out[c], k, lang).where(out[c].notna())
            for c, k in coded.items()
            if c in out
        }
    )
    out.columns = [header(c, lang) for c in out.columns]
    return out


#: the columns of the key customers' staff table (``key_customers_by_salesperson``)
KEY_COLUMNS = (
    "salesperson",
    "customer_id",
    "name",
    "abc_class",
    "tier",
    "monetary",
    "gross_profit",
    "no_owner",
)


def without_owner(keys: pd.DataFrame) -> pd.DataFrame:
    """The key customers nobody is in charge of (the gap 专人负责 closes).

    Parameters
    ----------
    keys : DataFrame
        From :func:`key_customers_by_owner`.

    Returns
    -------
    DataFrame
        Their rows (index reset) with :data:`KEY_COLUMNS` but the owner and ``no_owner``
        (the same for all of them), where present.
    """
    require_columns(keys, ["no_owner"], "the key customers")
    cols = [c for c in KEY_COLUMNS if c in keys.columns and c not in ("salesperson", "no_owner")]
    return keys.loc[keys["no_owner"].astype(bool), cols].reset_index(drop=True)


def unowned_note(keys: pd.DataFrame, lang: str, *, sales_col: str = "monetary") -> str:
    """One sentence: how many key customers have no owner and their sales (or that all have one).

    Parameters
    ----------
    keys : DataFrame
        From :func:`key_customers_by_owner`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    sales_col : str
        Sales column.

    Returns
    -------
    str
        The sentence in ``lang``.
    """
    require_columns(keys, ["no_owner", sales_col], "the key customers")
    gap = keys[keys["no_owner"]]
    if gap.empty:
        return label("acct_all_key_owned", lang)
    return label("acct_unowned_key_note", lang, n=len(gap), sales=fmt_cny(gap[sales_col].sum()))


def plan_sheets(staff_plan: pd.DataFrame, lang: str) -> dict[str, pd.DataFrame]:
    """One table per salesperson (sheet name = the salesperson) from :func:`staff_table`'s output,
    in its row order; the owner column itself is dropped from each sheet.

    Parameters
    ----------
    staff_plan : DataFrame
        From :func:`staff_table`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    dict of str to DataFrame
        Salesperson -> that person's rows.
    """
    col = header("salesperson", lang)
    require_columns(staff_plan, [col], "the staff visit plan")
    return {
        str(k): g.drop(columns=col).reset_index(drop=True)
        for k, g in staff_plan.groupby(col, sort=False)
    }
