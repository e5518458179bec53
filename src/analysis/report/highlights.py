"""本季要点 · Highlights: the quarter's findings for the top of the index page.

Pure functions on the report's summary (``{page: record}``, summary.json): each *kind* of
finding reads the numbers its page recorded and returns a :class:`Finding` (or None when
its numbers are missing); :func:`highlights` ranks them and keeps the first ones.

Kinds (none is fixed text: each sentence is a label ``hl_*`` with the numbers filled in,
the same finding in both languages):

- ``sales``: the quarter's sales against the same quarter last year and the previous quarter;
- ``a_share``: class A's share of 12-month sales and its change against last quarter;
- ``moved_down``: customers who moved down a class since last quarter and the sales they carry;
- ``gini``: the concentration (Gini of 12-month sales) and its change;
- ``churn_top``: the churn-risk list and its expected lost sales;
- ``margin``: the quarter's gross margin rate against the same quarter last year;
- ``loss_making``: products sold at a loss;
- ``non_key_receivables``: receivables held by customers outside the key ones;
- ``ledger``: whether the quarterly credit-limit adjustments keep the rules;
- ``unowned_key``: key customers without a salesperson;
- ``value_moves``: customers the value forecast moves up or down a class;
- ``wallet``: the share of wallet and its change.

Ranking (:func:`rank`): findings that call for action whatever their size (a ledger that
breaks the rules, loss-making products, key customers without an owner) come first, then
the rest by ``score``, largest first.  The score is the size of the change (``|now / before
- 1|``) where the page recorded the number before, else the share of the business the
finding touches (sales, receivables, customers); a finding with neither scores 0 and is
shown only when there is room.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from analysis.report.headlines import fmt_value
from analysis.viz.labels import label

__all__ = ["Finding", "KINDS", "MAX_FINDINGS", "candidates", "rank", "highlights", "sentence"]

#: at most this many findings open the index
MAX_FINDINGS = 10
#: changes smaller than these read as "unchanged" (the project's choice): a share or rate moving
#: less than half a percentage point, a Gini moving less than 0.005
FLAT_PTS, FLAT_GINI = 0.005, 0.005


def _direction(now: float, before: float, flat: float) -> str:
    """``up``, ``down`` or ``flat`` (a change smaller than ``flat``)."""
    if abs(now - before) < flat:
        return "flat"
    return "up" if now > before else "down"


def _changed(kind, page, cell, now, before, values, fmt, delta_fmt, flat):
    """A finding on a number against its earlier value: ``before`` and ``delta`` join ``values``,
    the label is ``hl_<kind>_up`` / ``_down`` / ``_flat`` and the rank its relative change."""
    values = {**values, "before": (before, fmt), "delta": (now - before, delta_fmt)}
    key = f"hl_{kind}_{_direction(now, before, flat)}"
    return Finding(kind, page, cell, key, abs(_rel(now, before) or 0.0), values=values)


P00, P01, P03 = "00_data_overview", "01_customer_composition", "03_margin_ranking"
P04, P07, P08, P09 = (
    "04_churn_risk",
    "07_credit_limits",
    "08_value_forecast",
    "09_account_management",
)


@dataclass(frozen=True)
class Finding:
    """One highlight: a sentence (label ``key`` with ``values``) and where the page shows it.

    ``values`` maps each placeholder to ``(number, fmt)`` (formats of
    :func:`analysis.report.headlines.fmt_value`), so the sentence is written in either
    language from the same numbers.  ``section`` is the id of the English heading cell
    of the section that shows the finding (its Chinese cell is ``<id>-zh``).
    """

    kind: str
    page: str
    section: str
    key: str
    score: float
    alert: bool = False
    values: dict = field(default_factory=dict)


def _num(record: Mapping | None, *path):
    """A number at ``path`` in a record, or None (missing, not a number, NaN)."""
    v = record
    for p in path:
        if not isinstance(v, Mapping) or p not in v:
            return None
        v = v[p]
    if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v):
        return None
    return v


def _rel(now: float, before: float | None) -> float | None:
    if before is None or before == 0:
        return None
    return now / before - 1


def _share_of(part, whole) -> float:
    return abs(part) / whole if part is not None and whole else 0.0


# ------------------------------------------------------------------ kinds
def sales_finding(s: Mapping) -> Finding | None:
    """Sales of the quarter against last year (and the previous quarter).

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P00) or {}
    now = _num(p, "kpis", "sales", "this_quarter") or _num(p, "sales")
    if now is None:
        return None
    ly = _rel(now, _num(p, "kpis", "sales", "same_quarter_last_year"))
    prev = _rel(now, _num(p, "kpis", "sales", "previous_quarter"))
    if prev is None:
        prev = _num(p, "sales_change_vs_previous")
    values = {"sales": (now, "money"), "qoq": (prev, "change"), "yoy": (ly, "change")}
    if ly is None and prev is None:
        return None
    if ly is None:
        return Finding("sales", P00, "b7bedfc0", "hl_sales_qoq", abs(prev), values=values)
    key = "hl_sales_down" if ly < 0 else "hl_sales_up"
    return Finding("sales", P00, "b7bedfc0", key, abs(ly), values=values)


def a_share_finding(s: Mapping) -> Finding | None:
    """Class A's share of the 12-month value the classes rank by, against the end of last quarter.

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P01) or {}
    now = _num(p, "A", "value_share")
    if now is None:
        return None
    before = _num(p, "previous_quarter", "A", "value_share")
    values = {
        "share": (now, "pct"),
        "n": (_num(p, "A", "customers"), "int"),
        "basis": (p.get("abc_basis") or "sales", "label:hl_basis_"),
    }
    if before is None:
        return Finding("a_share", P01, "c1ea91cf", "hl_a_share", 0.0, values=values)
    return _changed("a_share", P01, "c1ea91cf", now, before, values, "pct", "pts", FLAT_PTS)


def moved_down_finding(s: Mapping) -> Finding | None:
    """Customers who moved down a class since last quarter, and their 12-month value.

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P01) or {}
    n = _num(p, "migration", "down")
    if n is None:
        return None
    if n == 0:
        return Finding("moved_down", P01, "d5023bd7", "hl_moved_down_none", 0.0)
    after = _num(p, "migration_value", "down", "value_after")
    before = _num(p, "migration_value", "down", "value_before")
    total = _num(p, "total_sales")
    values = {"n": (n, "int"), "basis": (p.get("abc_basis") or "sales", "label:hl_basis_")}
    if after is None or before is None:
        score = _share_of(n, _num(p, "n_customers"))
        return Finding("moved_down", P01, "d5023bd7", "hl_moved_down", score, values=values)
    values.update(sales=(after, "money"), before=(before, "money"), lost=(before - after, "money"))
    score = _share_of(before - after, total)
    return Finding("moved_down", P01, "d5023bd7", "hl_moved_down_sales", score, values=values)


def gini_finding(s: Mapping) -> Finding | None:
    """The Gini of 12-month sales and its change against the end of last quarter.

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P01) or {}
    now = _num(p, "gini")
    if now is None:
        return None
    before = _num(p, "previous_quarter", "gini")
    values = {"gini": (now, "dec3"), "top20": (_num(p, "top20_share"), "pct")}
    if before is None:
        return Finding("gini", P01, "7ba197f7", "hl_gini", 0.0, values=values)
    return _changed("gini", P01, "7ba197f7", now, before, values, "dec3", "sdec3", FLAT_GINI)


def churn_top_finding(s: Mapping) -> Finding | None:
    """The churn-risk list: how many customers and the sales expected to go with them.

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P04) or {}
    n, lost = _num(p, "risk_list_rows"), _num(p, "expected_lost_sales_top_n")
    if not n or lost is None:
        return None
    total = _num(s.get(P01), "total_sales") or _num(s.get(P08), "past_sales")
    values = {"n": (n, "int"), "lost": (lost, "money")}
    if not total:
        return Finding("churn_top", P04, "e7638423", "hl_churn_top", 0.0, values=values)
    values["share"] = (lost / total, "pct")
    return Finding("churn_top", P04, "e7638423", "hl_churn_top_share", lost / total, values=values)


def margin_finding(s: Mapping) -> Finding | None:
    """The quarter's gross margin rate against the same quarter last year.

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P00) or {}
    now = _num(p, "kpis", "gross_margin_rate", "this_quarter")
    if now is None:
        now = _num(p, "gross_margin_rate")
    ly = _num(p, "kpis", "gross_margin_rate", "same_quarter_last_year")
    if now is None or ly is None:
        return None
    values = {"rate": (now, "pct")}
    return _changed("margin", P00, "b7bedfc0", now, ly, values, "pct", "pts", FLAT_PTS)


def loss_making_finding(s: Mapping) -> Finding | None:
    """Products sold at a loss this quarter (negative gross profit).

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    n = _num(s.get(P03), "n_loss_making_products")
    if n is None:
        return None
    if n == 0:
        return Finding("loss_making", P03, "715a8824", "hl_loss_making_none", 0.0)
    products = _num(s.get("02_product_mix"), "n_products")
    score = _share_of(n, products)
    values = {"n": (n, "int")}
    return Finding("loss_making", P03, "715a8824", "hl_loss_making", score, True, values)


def non_key_receivables_finding(s: Mapping) -> Finding | None:
    """Receivables held by customers outside the key ones (the largest by sales).

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P07) or {}
    owed, total = _num(p, "non_key_owed"), _num(p, "receivables_total")
    if owed is None or not total:
        return None
    values = {
        "owed": (owed, "money"),
        "share": (owed / total, "pct"),
        "k": (_num(p, "key_customers"), "int"),
    }
    return Finding(
        "non_key_receivables",
        P07,
        "bcedf794",
        "hl_non_key_receivables",
        owed / total,
        values=values,
    )


def ledger_finding(s: Mapping) -> Finding | None:
    """Whether this quarter's credit-limit adjustments keep the rules (total unchanged, approvals).

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P07) or {}
    approved = p.get("ledger_approved")
    if not isinstance(approved, bool):
        return None
    values = {"net": (_num(p, "ledger_net"), "money"), "n": (_num(p, "ledger_adjustments"), "int")}
    if approved:
        return Finding("ledger", P07, "a334a851", "hl_ledger_ok", 0.0, values=values)
    problems = p.get("ledger_problems") or []
    values["problems"] = (len(problems), "int")
    key = "hl_ledger_unbalanced" if p.get("ledger_balanced") is False else "hl_ledger_broken"
    return Finding("ledger", P07, "a334a851", key, 1.0, True, values)


def unowned_key_finding(s: Mapping) -> Finding | None:
    """Key customers without a salesperson.

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P09) or {}
    n = _num(p, "key_customers_without_owner")
    if not n:
        return None
    values = {"n": (n, "int"), "total": (_num(p, "key_customers"), "int")}
    score = _share_of(n, _num(p, "key_customers"))
    return Finding("unowned_key", P09, "a9sec1md", "hl_unowned_key", score, True, values)


def value_moves_finding(s: Mapping) -> Finding | None:
    """Customers the value forecast moves up (develop) or down (watch) a class.

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P08) or {}
    up, down = _num(p, "develop"), _num(p, "watch")
    if up is None or down is None or up + down == 0:
        return None
    values = {"up": (up, "int"), "down": (down, "int")}
    score = _share_of(up + down, _num(p, "customers"))
    return Finding("value_moves", P08, "9f57fbca", "hl_value_moves", score, values=values)


def wallet_finding(s: Mapping) -> Finding | None:
    """Our share of the customers' purchases (share of wallet) against the 12 months before.

    Parameters
    ----------
    s : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    Finding or None
        None when the numbers it needs are missing.
    """
    p = s.get(P09) or {}
    now = _num(p, "share_of_wallet", "share_of_wallet")
    before = _num(p, "share_of_wallet", "share_of_wallet_prev")
    if now is None or before is None:
        return None
    values = {"share": (now, "pct")}
    return _changed("wallet", P09, "a9sec6md", now, before, values, "pct", "pts", FLAT_PTS)


#: every kind of finding, in the order of the index's pages (the rank decides what is shown)
KINDS = (
    sales_finding,
    a_share_finding,
    moved_down_finding,
    gini_finding,
    margin_finding,
    loss_making_finding,
    churn_top_finding,
    non_key_receivables_finding,
    ledger_finding,
    value_moves_finding,
    unowned_key_finding,
    wallet_finding,
)


def candidates(summary: Mapping) -> list[Finding]:
    """Every finding the summary's numbers support (kinds whose numbers are missing give none).

    Parameters
    ----------
    summary : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    list of Finding
        In the kinds' order.
    """
    return [f for kind in KINDS if (f := kind(summary)) is not None]


def rank(findings: list[Finding]) -> list[Finding]:
    """Findings to act on first, then by score, largest first (ties keep the kinds' order).

    Parameters
    ----------
    findings : list of Finding
        From :func:`candidates`.

    Returns
    -------
    list of Finding
    """
    return sorted(findings, key=lambda f: (not f.alert, -f.score))


def highlights(summary: Mapping, *, limit: int = MAX_FINDINGS) -> list[Finding]:
    """The quarter's highlights: the first ``limit`` findings of :func:`rank`.

    Parameters
    ----------
    summary : mapping
        ``{page: record}`` as in summary.json.
    limit : int
        Most findings kept (the index shows 6-10 when the pages recorded enough).

    Returns
    -------
    list of Finding
    """
    return rank(candidates(summary))[:limit]


def sentence(finding: Finding, lang: str) -> str:
    """The finding as one sentence in ``lang`` (label ``finding.key`` with its numbers).

    Parameters
    ----------
    finding : Finding
        A finding.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
    """
    return label(
        finding.key, lang, **{k: fmt_value(v, fmt, lang) for k, (v, fmt) in finding.values.items()}
    )
