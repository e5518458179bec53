"""What a classification programme is worth: the two value formulas of 《客户分类管理》.

Two goals, two formulas (docs/methods.md, *The two value formulas*):

- growth (worked case 1, Suzhou): the source writes
  ``客户分类价值V = 客户分类收入增长量 - 客户分类投入`` (the class's revenue increase
  minus the investment in the class: added staff cost + target bonuses); its
  case counts the increase as added gross margin (年度增收毛利), and so does this
  module: moving clients to a dearer package adds
  ``(new fee - old fee) x upgraded clients x months`` (all of the fee uplift is
  margin in the case; ``margin_rate`` scales it when it is not);
- efficiency (worked case 2, Jiaxing):
  ``V = 相同工作量下节约的人力成本 + 管理人员成本`` (staff cost saved at the same
  workload + management cost saved), computed as staff saved x yearly cost per head.

Case 1 is described by a :class:`GrowthCase`; every growth function takes one,
so sensitivity and tornado analyses are ``dataclasses.replace`` on the inputs.
Case 2 starts from a staffing plan: a class mix (clients per service class),
which group serves how many clients of each class, and how many clients one
accountant carries in each group.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.data.lookup import is_in

__all__ = [
    "GrowthCase",
    "CASE_1",
    "added_gross_margin",
    "growth_value",
    "break_even_upgrades",
    "value_waterfall",
    "target_vs_achieved",
    "value_grid",
    "tornado",
    "second_year",
    "tag_class_profile",
    "class_vs_case",
    "CASE_2_CLASSES",
    "CASE_2_GROUPS",
    "CASE_2_CLIENTS_PER_HEAD",
    "staffing_plan",
    "efficiency_value",
    "staffing_summary",
    "staffing_table",
    "new_business_revenue",
    "capacity_sensitivity",
]

ROUNDING = ("nearest", "up", "none")


# ================================================================ case 1: growth
@dataclass(frozen=True)
class GrowthCase:
    """Inputs of a growth-through-classification programme (worked case 1).

    Parameters
    ----------
    clients_in_class : float
        Clients in the class at the start (338 value-mining clients).
    old_fee, new_fee : float
        Average monthly fee before, and the monthly fee of the package sold (CNY).
    upgraded : float
        Clients who moved to the new package (56).
    months : float
        Months of the period in which the upgraded fees ran (6: a half-year target).
    investment : mapping of str to float
        Added cost of the programme by item (CNY), e.g. a lead's bonus and new posts.
    target_rate : float, default 0
        Share of the class the programme aimed to upgrade (0.15).
    margin_rate : float, default 1
        Share of the fee uplift that is gross margin (the case counts all of it).
    """

    clients_in_class: float
    old_fee: float
    new_fee: float
    upgraded: float
    months: float
    investment: Mapping[str, float] = field(default_factory=dict)
    target_rate: float = 0.0
    margin_rate: float = 1.0

    def __post_init__(self):
        for name in ("clients_in_class", "old_fee", "new_fee", "upgraded", "months"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.target_rate <= 1:
            raise ValueError(f"target_rate must be a share between 0 and 1, got {self.target_rate}")
        if not 0 <= self.margin_rate <= 1:
            raise ValueError(f"margin_rate must be a share between 0 and 1, got {self.margin_rate}")
        bad = {k: v for k, v in self.investment.items() if v < 0}
        if bad:
            raise ValueError(f"investment items must be >= 0; got {bad}")

    @property
    def fee_uplift(self) -> float:
        """Monthly price uplift per upgraded client: new fee - old fee."""
        return self.new_fee - self.old_fee

    @property
    def margin_per_upgrade(self) -> float:
        """Gross margin one upgraded client adds over the period."""
        return self.fee_uplift * self.months * self.margin_rate

    @property
    def investment_total(self) -> float:
        return float(sum(self.investment.values()))


CASE_1 = GrowthCase(
    clients_in_class=338,
    old_fee=1800,
    new_fee=3000,
    upgraded=56,
    months=6,
    investment={"lead_bonus": 80_000, "advisor_posts": 250_000},
    target_rate=0.15,
)
"""Worked case 1 (《客户分类管理》): V = 403,200 - 80,000 - 250,000 = 73,200 CNY."""


def added_gross_margin(
    *, old_fee: float, new_fee: float, upgraded: float, months: float, margin_rate: float = 1.0
) -> float:
    """Added gross margin of moving clients to a dearer package.

    ``(new_fee - old_fee) x upgraded x months x margin_rate``; case 1:
    ``(3,000 - 1,800) x 56 x 6 = 403,200`` CNY.

    Parameters
    ----------
    old_fee, new_fee : float
        Monthly fees before and after.
    upgraded : float
        Clients upgraded.
    months : float
        Months counted.
    margin_rate : float
        Margin rate of the added fee.

    Returns
    -------
    float
        The added gross margin in CNY.
    """
    return float((new_fee - old_fee) * upgraded * months * margin_rate)


def _value(case: GrowthCase) -> float:
    return case.margin_per_upgrade * case.upgraded - case.investment_total


def break_even_upgrades(case: GrowthCase) -> float:
    """Upgrades at which the added margin pays the investment (V = 0).

    ``investment / ((new_fee - old_fee) x months x margin_rate)``; case 1:
    330,000 / 7,200 = 45.83, so 46 clients. ``inf`` when an upgrade adds no margin.

    Parameters
    ----------
    case : GrowthCase
        The programme's inputs.

    Returns
    -------
    float
        Upgrades at V = 0 (fractional; ``inf`` when none suffices).
    """
    per = case.margin_per_upgrade
    return math.inf if per <= 0 else case.investment_total / per


def growth_value(case: GrowthCase) -> dict:
    """Headline figures of a growth programme.

    Parameters
    ----------
    case : GrowthCase
        The programme's inputs.

    Returns
    -------
    dict
        ``fee_uplift``, ``added_margin``, ``investment``, ``value`` (V), ``roi``
        (V / investment), ``target_upgrades`` (target rate x class size),
        ``achieved_rate``, ``target_met``, ``break_even_upgrades`` (fractional),
        ``break_even_clients`` (whole clients) and ``break_even_rate``.
    """
    be = break_even_upgrades(case)
    inv = case.investment_total
    n = case.clients_in_class
    added = added_gross_margin(
        old_fee=case.old_fee,
        new_fee=case.new_fee,
        upgraded=case.upgraded,
        months=case.months,
        margin_rate=case.margin_rate,
    )
    target = case.target_rate * n
    return {
        "fee_uplift": float(case.fee_uplift),
        "added_margin": added,
        "investment": inv,
        "value": added - inv,
        "roi": (added - inv) / inv if inv else math.nan,
        "target_upgrades": float(target),
        "achieved_rate": case.upgraded / n if n else math.nan,
        "target_met": bool(case.upgraded >= target),
        "break_even_upgrades": float(be),
        # a hair of tolerance so 45.000000001 from float noise is not read as 46
        "break_even_clients": int(math.ceil(be - 1e-9)) if math.isfinite(be) else None,
        "break_even_rate": be / n if n and math.isfinite(be) else math.nan,
    }


def value_waterfall(case: GrowthCase) -> pd.DataFrame:
    """Steps from added margin to V, for a waterfall chart.

    Parameters
    ----------
    case : GrowthCase
        The programme's inputs.

    Returns
    -------
    DataFrame
        One row per step: ``step`` (``added_margin``, each investment item,
        ``class_value``), ``kind`` (gain / cost / total), ``amount`` (signed), and the
        bar's ``bottom`` and ``top``.
    """
    added = added_gross_margin(
        old_fee=case.old_fee,
        new_fee=case.new_fee,
        upgraded=case.upgraded,
        months=case.months,
        margin_rate=case.margin_rate,
    )
    rows = [("added_margin", "gain", added, 0.0, added)]
    level = added
    for item, cost in case.investment.items():
        rows.append((item, "cost", -float(cost), level - cost, level))
        level -= cost
    rows.append(("class_value", "total", level, min(0.0, level), max(0.0, level)))
    return pd.DataFrame(rows, columns=["step", "kind", "amount", "bottom", "top"])


def target_vs_achieved(case: GrowthCase) -> pd.DataFrame:
    """Break-even, target and achieved upgrades side by side.

    Parameters
    ----------
    case : GrowthCase
        The programme's inputs.

    Returns
    -------
    DataFrame
        Rows ``break_even``, ``upgrade_target``, ``upgrade_achieved``; columns
        ``scenario``, ``upgrades``, ``upgrade_rate`` (share of the class),
        ``added_margin``, ``class_value`` (V).
    """
    n = case.clients_in_class
    rows = []
    for name, ups in (
        ("break_even", break_even_upgrades(case)),
        ("upgrade_target", case.target_rate * n),
        ("upgrade_achieved", case.upgraded),
    ):
        added = case.margin_per_upgrade * ups if math.isfinite(ups) else math.nan
        rows.append(
            (name, float(ups), ups / n if n else math.nan, added, added - case.investment_total)
        )
    return pd.DataFrame(
        rows, columns=["scenario", "upgrades", "upgrade_rate", "added_margin", "class_value"]
    )


def value_grid(
    case: GrowthCase, *, rates: Sequence[float], uplifts: Sequence[float]
) -> pd.DataFrame:
    """V over upgrade rate x monthly price uplift (a sensitivity table for a heatmap).

    Upgrades are ``rate x clients_in_class`` as an expected (fractional) count,
    the uplift replaces ``new_fee - old_fee``; months, margin rate and the
    investment stay as in ``case``.

    Parameters
    ----------
    case : GrowthCase
        The programme's inputs.
    rates : sequence of float
        Upgrade rates.
    uplifts : sequence of float
        Monthly fee uplifts.

    Returns
    -------
    DataFrame
        Index ``upgrade_rate`` (``rates``), columns ``fee_uplift`` (``uplifts``), values V in CNY.
    """
    r = np.asarray(rates, dtype="float64")[:, None]
    u = np.asarray(uplifts, dtype="float64")[None, :]
    v = r * case.clients_in_class * u * case.months * case.margin_rate - case.investment_total
    return pd.DataFrame(
        v,
        index=pd.Index(list(rates), name="upgrade_rate"),
        columns=pd.Index(list(uplifts), name="fee_uplift"),
    )


TORNADO_INPUTS = ("upgraded", "new_fee", "old_fee", "months")


def tornado(case: GrowthCase, *, swing: float = 0.2) -> pd.DataFrame:
    """V when each input in turn moves by ``-swing`` and ``+swing`` (default ±20%).

    Inputs are the upgrades, the new and old fees, the months and each
    investment item; the others stay at their base values.

    Parameters
    ----------
    case : GrowthCase
        The programme's inputs.
    swing : float
        Relative move of each input.

    Returns
    -------
    DataFrame
        ``input``, ``base``, ``low_input``, ``high_input``, ``value_low``,
        ``value_high`` and ``range`` (|value_high - value_low|), widest first
        (ties keep the input order above).
    """
    if not 0 < swing < 1:
        raise ValueError(f"swing must be between 0 and 1 (a share such as 0.2), got {swing}")
    rows = []
    for name in TORNADO_INPUTS:
        base = getattr(case, name)
        lo, hi = (_value(replace(case, **{name: base * f})) for f in (1 - swing, 1 + swing))
        rows.append((name, base, base * (1 - swing), base * (1 + swing), lo, hi))
    for item, cost in case.investment.items():
        lo, hi = (
            _value(replace(case, investment={**case.investment, item: cost * f}))
            for f in (1 - swing, 1 + swing)
        )
        rows.append((item, cost, cost * (1 - swing), cost * (1 + swing), lo, hi))
    out = pd.DataFrame(
        rows, columns=["input", "base", "low_input", "high_input", "value_low", "value_high"]
    )
    out = out.assign(range=(out["value_high"] - out["value_low"]).abs())
    return out.sort_values("range", ascending=False, kind="stable").reset_index(drop=True)


def second_year(
    case: GrowthCase,
    *,
    recurring: Iterable[str] | None = None,
    retained_rate: float = 1.0,
    months: float = 12,
) -> pd.DataFrame:
    """Year one as in the case, year two with a full year of the upgraded fees.

    Parameters
    ----------
    case : GrowthCase
    recurring : iterable of str, optional
        Investment items that are paid again in year two (salaries, yearly
        bonuses); ``None`` = all of them. Unknown names raise ``ValueError``.
        The source says only that year two's profit is considerable; the
        project reads both of case 1's items as recurring (the lead's bonus
        goes with a standing post), so year two is
        ``1,200 x 56 x 12 - 330,000 = 476,400`` CNY.
    retained_rate : float, default 1
        Share of the upgraded clients still on the package in year two.
    months : float, default 12
        Months of upgraded fees in year two.

    Returns
    -------
    DataFrame
        Rows ``year_1``, ``year_2``: ``projection_year``, ``upgraded_clients``,
        ``fee_months``, ``added_margin``, ``investment``, ``class_value`` (V),
        ``cumulative_value``.
    """
    items = list(case.investment) if recurring is None else list(recurring)
    unknown = sorted(set(items) - set(case.investment))
    if unknown:
        raise ValueError(
            f"recurring costs {unknown} are not investment items; valid: {sorted(case.investment)}"
        )
    if not 0 <= retained_rate <= 1:
        raise ValueError(f"retained_rate must be a share between 0 and 1, got {retained_rate}")
    y1_margin = case.margin_per_upgrade * case.upgraded
    y2_up = case.upgraded * retained_rate
    y2_margin = case.fee_uplift * case.margin_rate * months * y2_up
    y2_cost = float(sum(case.investment[i] for i in items))
    out = pd.DataFrame(
        {
            "projection_year": ["year_1", "year_2"],
            "upgraded_clients": [float(case.upgraded), float(y2_up)],
            "fee_months": [float(case.months), float(months)],
            "added_margin": [y1_margin, y2_margin],
            "investment": [case.investment_total, y2_cost],
        }
    )
    out = out.assign(class_value=out["added_margin"] - out["investment"])
    return out.assign(cumulative_value=out["class_value"].cumsum())


def tag_class_profile(
    customers: pd.DataFrame,
    classes: pd.DataFrame,
    *,
    class_key: str,
    id_col: str = "customer_id",
    fee_col: str = "monthly_fee",
    classes_col: str = "tag_classes",
) -> dict:
    """Size and average monthly fee of one tag class of the firm's own client book.

    Parameters
    ----------
    customers : DataFrame
        The customers table (``customer_id``, ``monthly_fee``).
    classes : DataFrame
        Tag classes per customer from :func:`analysis.classify.tags.tag_classes` (the
        tag rules of notebook 01); ``tag_classes`` lists every class a client is in.
    class_key : str
        The class to profile, e.g. ``"value_mining"`` (价值挖掘类客户).

    Returns
    -------
    dict
        ``clients`` (in the class), ``share`` (of all clients) and ``avg_fee``
        (mean monthly fee of the class; NaN when none of them has a fee).
    """
    for col, where in ((fee_col, "customers"), (id_col, "customers")):
        if col not in customers.columns:
            raise ValueError(f"Required column {col} missing from {where}")
    if classes_col not in classes.columns:
        raise ValueError(f"Required column {classes_col} missing from the tag classes")
    member_ids = classes.loc[
        classes[classes_col].fillna("").astype(str).str.split(";").map(lambda ks: class_key in ks),
        id_col,
    ]
    member = is_in(customers[id_col], set(member_ids))
    fee = pd.to_numeric(customers.loc[member, fee_col], errors="coerce")
    n = len(customers)
    return {
        "clients": int(member.sum()),
        "share": float(member.sum() / n) if n else math.nan,
        "avg_fee": float(fee.mean()) if fee.notna().any() else math.nan,
    }


def class_vs_case(profile: Mapping, case: GrowthCase) -> pd.DataFrame:
    """The firm's own class (:func:`tag_class_profile`) beside the case's inputs.

    Parameters
    ----------
    profile : mapping
        From :func:`tag_class_profile`.
    case : GrowthCase
        The programme's inputs.

    Returns
    -------
    DataFrame
        Rows ``figure_source`` = ``case_figure`` and ``our_figure``; columns
        ``firm_class_clients`` and ``firm_class_avg_fee``.
    """
    return pd.DataFrame(
        {
            "figure_source": ["case_figure", "our_figure"],
            "firm_class_clients": [float(case.clients_in_class), float(profile["clients"])],
            "firm_class_avg_fee": [float(case.old_fee), float(profile["avg_fee"])],
        }
    )


# ============================================================ case 2: efficiency
CASE_2_CLASSES = {
    "zero_filing": 240,
    "books_no_tax": 150,
    "books_and_tax": 360,
    "books_tax_stock": 50,
}
"""Worked case 2: 800 clients in four service classes."""

CASE_2_GROUPS = {
    "group_1": {"zero_filing": 240, "books_no_tax": 150},
    "group_2": {"books_and_tax": 260},
    "group_3": {"books_and_tax": 100, "books_tax_stock": 50},
}
"""Who serves whom in case 2: group 3's two leads carry 50 class-3 + 25 class-4
clients each; group 2 takes the rest of class 3 (the source's split is garbled; the
totals per class are kept)."""

CASE_2_CLIENTS_PER_HEAD = {"group_1": 130, "group_2": 85, "group_3": 75}
"""Average load per head: group 1 is 3 people for 390 clients (batch zero
filings), group 2 about 85 each, group 3 75 each."""


def _heads(fte: float, rounding: str) -> float:
    if rounding == "none":
        return fte
    if rounding == "up":
        return float(math.ceil(fte - 1e-9))
    # "nearest": the case states average loads ("about 85 each"), so 3.06 FTE is 3 people;
    # half rounds up, and a group with work keeps at least one head
    return float(max(1, math.floor(fte + 0.5))) if fte > 0 else 0.0


def staffing_plan(
    class_clients: Mapping[str, float],
    group_classes: Mapping[str, Mapping[str, float]],
    clients_per_head: Mapping[str, float | Mapping[str, float]],
    *,
    rounding: str = "nearest",
    class_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Accountants needed per group from the class mix and the capacity per head.

    Parameters
    ----------
    class_clients : mapping
        Clients per service class, e.g. ``{"zero_filing": 240, ...}``.
    group_classes : mapping
        For each group, how many clients of each class it serves. Every class's
        clients must be served exactly once (the sums per class must match
        ``class_clients``).
    clients_per_head : mapping
        For each group, clients one accountant carries: a number (the group's
        average load) or a mapping class -> capacity (per-class capacity; the
        group's workload is then ``sum(clients / capacity)``).
    rounding : {"nearest", "up", "none"}
        Heads from workload: "nearest" reads capacity as an average load, as
        the case does (260 clients at about 85 each = 3 people); "up" never
        exceeds capacity; "none" keeps fractional FTE.
    class_names : mapping, optional
        Display names of the classes in ``service_classes`` (e.g. zh labels).

    Returns
    -------
    DataFrame
        One row per group: ``service_group``, ``service_classes`` (``class: clients`` text),
        ``clients``, ``fte`` (workload in accountants), ``heads`` and
        ``clients_per_head`` (load per head after rounding).
    """
    if rounding not in ROUNDING:
        raise ValueError(f"unknown rounding {rounding!r}; expected one of {', '.join(ROUNDING)}")
    _check_groups(class_clients, group_classes, clients_per_head)
    rows = []
    for group, served in group_classes.items():
        cap = clients_per_head[group]
        fte = sum(n / (cap[c] if isinstance(cap, Mapping) else cap) for c, n in served.items())
        heads = _heads(fte, rounding)
        clients = float(sum(served.values()))
        names = class_names or {}
        rows.append(
            (
                group,
                ", ".join(f"{names.get(c, c)}: {n:g}" for c, n in served.items()),
                clients,
                fte,
                heads,
                clients / heads if heads else math.nan,
            )
        )
    return pd.DataFrame(
        rows,
        columns=["service_group", "service_classes", "clients", "fte", "heads", "clients_per_head"],
    )


def _check_groups(class_clients, group_classes, clients_per_head) -> None:
    served: dict[str, float] = {}
    for group, classes in group_classes.items():
        for c, n in classes.items():
            if c not in class_clients:
                raise ValueError(
                    f"group {group} serves unknown class {c!r}; classes: {', '.join(class_clients)}"
                )
            if n < 0:
                raise ValueError(f"group {group} serves {n} clients of {c}; must be >= 0")
            served[c] = served.get(c, 0) + n
        cap = clients_per_head.get(group)
        if cap is None:
            raise ValueError(
                f"no clients_per_head for group {group}; groups: {', '.join(group_classes)}"
            )
        caps = cap.values() if isinstance(cap, Mapping) else [cap]
        if isinstance(cap, Mapping) and set(classes) - set(cap):
            raise ValueError(f"group {group} has no capacity for {sorted(set(classes) - set(cap))}")
        if any(v <= 0 for v in caps):
            raise ValueError(f"clients_per_head of group {group} must be > 0, got {cap}")
    off = {
        c: (served.get(c, 0), n)
        for c, n in class_clients.items()
        if not math.isclose(served.get(c, 0), n)
    }
    if off:
        text = "; ".join(f"{c}: {s:g} served of {n:g}" for c, (s, n) in off.items())
        raise ValueError(f"groups do not serve each class's clients exactly once: {text}")


def efficiency_value(
    *,
    staff_before: float,
    staff_after: float,
    cost_per_head: float,
    management_cost_saved: float = 0.0,
) -> float:
    """V of an efficiency programme: staff saved x yearly cost per head + management cost saved.

    Case 2: (10 - 8) x 100,000 = 200,000 CNY.  The source computes with
    100,000 per head though it quotes an average pay of about 7,000 a month
    (84,000 a year, which would give 168,000); the project keeps the source's
    100,000 (docs/methods.md, *Case 2: efficiency through classes*).

    Parameters
    ----------
    staff_before, staff_after : float
        Heads before and after.
    cost_per_head : float
        Yearly cost per head.
    management_cost_saved : float
        Other yearly savings.

    Returns
    -------
    float
        V in CNY.
    """
    return float((staff_before - staff_after) * cost_per_head + management_cost_saved)


def staffing_summary(
    plan: pd.DataFrame,
    *,
    staff_before: float,
    cost_per_head: float,
    management_cost_saved: float = 0.0,
    heads_outside_count: float = 0.0,
) -> dict:
    """Staff before and after, staff saved and V from a :func:`staffing_plan`.

    ``heads_outside_count`` heads of the plan are left out of the staff after,
    so that it is counted like ``staff_before``: case 2 counts 10 staff
    (8 lead accountants, a supervisor who keeps no books, an intern) and also
    says 原有9个会计 carried the clients; with ``staff_before=9`` the
    supervisor (one head of group 1) leaves the count after as well
    (``heads_outside_count=1``) and V is the same.

    Parameters
    ----------
    plan : DataFrame
        From :func:`staffing_plan`.
    staff_before : float
        Heads before.
    cost_per_head : float
        Yearly cost per head.
    management_cost_saved : float
        Other yearly savings.
    heads_outside_count : float
        Heads of the plan not counted after.

    Returns
    -------
    dict
        ``clients``, ``staff_before``, ``staff_after`` (heads), ``fte_after``,
        ``staff_saved``, ``value`` (from whole heads) and ``value_fte`` (from the
        fractional workload: what the capacity itself is worth).
    """
    if not 0 <= heads_outside_count <= float(plan["heads"].sum()):
        raise ValueError(
            f"heads_outside_count must be between 0 and the plan's heads, got {heads_outside_count}"
        )
    after = float(plan["heads"].sum()) - heads_outside_count
    fte = float(plan["fte"].sum()) - heads_outside_count
    return {
        "clients": float(plan["clients"].sum()),
        "staff_before": float(staff_before),
        "staff_after": after,
        "fte_after": fte,
        "staff_saved": float(staff_before - after),
        "value": efficiency_value(
            staff_before=staff_before,
            staff_after=after,
            cost_per_head=cost_per_head,
            management_cost_saved=management_cost_saved,
        ),
        "value_fte": efficiency_value(
            staff_before=staff_before,
            staff_after=fte,
            cost_per_head=cost_per_head,
            management_cost_saved=management_cost_saved,
        ),
    }


def staffing_table(summary: Mapping) -> pd.DataFrame:
    """A :func:`staffing_summary` as a one-row table, V named as on the other case tables.

    Parameters
    ----------
    summary : mapping
        From :func:`staffing_summary`.

    Returns
    -------
    DataFrame
        One row: ``clients``, ``staff_before``, ``staff_after``, ``fte_after``,
        ``staff_saved``, ``class_value`` (V from whole heads) and ``class_value_fte``
        (V from the fractional workload).
    """
    names = {"value": "class_value", "value_fte": "class_value_fte"}
    return pd.DataFrame([dict(summary)]).rename(columns=names)


def new_business_revenue(
    new_clients: Mapping[str, float], *, monthly_fee: float, months: float, margin_rate: float = 1.0
) -> pd.DataFrame:
    """Revenue and margin of the new clients won by freed staff (an optional line beside V).

    Case 2 counts 87 referred clients and 28 e-commerce deals but gives no fee,
    so the fee and months are the firm's own figures.

    Parameters
    ----------
    new_clients : mapping of str to float
        Source -> clients won.
    monthly_fee : float
        Fee per client and month.
    months : float
        Months counted.
    margin_rate : float
        Margin rate of the fee.

    Returns
    -------
    DataFrame
        One row per source plus ``all_sources``: ``new_business_source``,
        ``new_clients``, ``new_revenue`` (clients x monthly fee x months) and
        ``new_margin`` (x margin rate).
    """
    if monthly_fee < 0 or months < 0:
        raise ValueError(f"monthly_fee and months must be >= 0, got {monthly_fee} and {months}")
    if not 0 <= margin_rate <= 1:
        raise ValueError(f"margin_rate must be a share between 0 and 1, got {margin_rate}")
    out = pd.DataFrame(
        {
            "new_business_source": list(new_clients),
            "new_clients": [float(v) for v in new_clients.values()],
        }
    )
    out = out.assign(new_revenue=out["new_clients"] * monthly_fee * months)
    out = out.assign(new_margin=out["new_revenue"] * margin_rate)
    total = pd.DataFrame(
        {
            "new_business_source": ["all_sources"],
            "new_clients": [out["new_clients"].sum()],
            "new_revenue": [out["new_revenue"].sum()],
            "new_margin": [out["new_margin"].sum()],
        }
    )
    return pd.concat([out, total], ignore_index=True)


def capacity_sensitivity(
    class_clients: Mapping[str, float],
    group_classes: Mapping[str, Mapping[str, float]],
    clients_per_head: Mapping[str, float],
    *,
    groups: Sequence[str],
    capacities: Sequence[float],
    staff_before: float,
    cost_per_head: float,
    rounding: str = "nearest",
    heads_outside_count: float = 0.0,
) -> pd.DataFrame:
    """The saving as the clients per head of some groups change (e.g. 85 -> 95 after tooling).

    Parameters
    ----------
    class_clients : mapping of str to float
        Class -> clients.
    group_classes : mapping
        Group -> {class: share of its clients}.
    clients_per_head : mapping of str to float
        Group -> clients per head.
    groups : sequence of str
        Groups whose capacity changes.
    capacities : sequence of float
        Clients per head tried.
    staff_before : float
        Heads before.
    cost_per_head : float
        Yearly cost per head.
    rounding : {"nearest", "up", "none"}
        How the workload is rounded to heads (as in :func:`staffing_plan`).
    heads_outside_count : float
        Heads of the plan not counted after.

    Returns
    -------
    DataFrame
        One row per capacity: ``capacity_per_head``, ``fte_after``, ``staff_after``,
        ``staff_saved``, ``class_value`` (V from whole heads) and ``class_value_fte``
        (V from the fractional workload).
    """
    unknown = sorted(set(groups) - set(group_classes))
    if unknown:
        raise ValueError(f"unknown groups {unknown}; groups: {', '.join(group_classes)}")
    rows = []
    for cap in capacities:
        caps = {**clients_per_head, **{g: cap for g in groups}}
        s = staffing_summary(
            staffing_plan(class_clients, group_classes, caps, rounding=rounding),
            staff_before=staff_before,
            cost_per_head=cost_per_head,
            heads_outside_count=heads_outside_count,
        )
        rows.append(
            (
                float(cap),
                s["fte_after"],
                s["staff_after"],
                s["staff_saved"],
                s["value"],
                s["value_fte"],
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "capacity_per_head",
            "fte_after",
            "staff_after",
            "staff_saved",
            "class_value",
            "class_value_fte",
        ],
    )
