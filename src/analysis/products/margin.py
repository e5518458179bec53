"""Gross margin, stock turnover, cross and contribution ratios, receivables by class.

The gross-margin analysis (毛利率分析) of 《如何做好客户分类管理》 and its follow-ups
(docs/methods.md, *Gross margin*, *Stock turnover*, *Cross and contribution ratios*):

- gross margin rate (毛利率) = sum(amount - cost) / sum(amount) over the lines of
  a group; a group whose net sales are zero or negative has no rate (NaN);
- stock turnover (商品周转率) = flow / average inventory.  The source divides
  sales by the average stock (将销售额除以平均库存量), month by month: the
  default ``basis="sales"``.  ``basis="cost"`` (cost of sales over stock at
  cost, both at cost) is the accounting alternative, the project's choice.
  With monthly stock counts the turnover is per month (the flow of the period
  / its months over the mean of the monthly average stocks); otherwise it is
  for the whole period with average inventory = (opening + closing) / 2.  The
  ``turnover_basis`` and ``turnover_period`` columns say which was used;
- days of inventory (库存天数) = days in the period x average inventory / flow;
- cross ratio (交叉比率) = margin rate x turnover: it follows the basis, so
  with the sales basis it equals gross profit / average stock;
- contribution ratio (贡献比率) = cross ratio x the product's share of sales
  (the source writes "x sales"; the share is the project's choice).

An undefined ratio (zero inventory, no sales, negative net sales) is NaN, never
``inf``; tables show it as "–".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data.periods import between
from analysis.data.validation import require_columns
from analysis.engine import products_sql

__all__ = [
    "safe_ratio",
    "margin_rate",
    "margin_by",
    "overall_margin_rate",
    "loss_makers",
    "average_inventory",
    "monthly_average_inventory",
    "has_monthly_counts",
    "TURNOVER_BASES",
    "TURNOVER_PERIODS",
    "turnover_months",
    "stock_turnover",
    "cross_ratios",
    "margin_turnover_quadrant",
    "QUADRANTS",
    "QUADRANT_SPLITS",
    "FIN_COLUMNS",
    "receivable_indicators",
    "class_financials",
    "service_load",
    "over_served",
    "customer_margins",
    "class_margins",
    "quadrant_counts",
    "arrears_by_class",
    "over_served_customers",
    "period_stock_turnover",
]

# margin high/low x turnover high/low -> action (label keys in labels/product.yaml)
QUADRANTS = {
    (True, True): "quadrant_push",  # earns and moves: push it (重点推销)
    (False, True): "quadrant_hold",  # moves but earns little: keep, watch price
    (True, False): "quadrant_review",  # earns but sits in stock: cut stock, promote
    (False, False): "quadrant_drop",  # neither: candidate to drop
}


def safe_ratio(num, den, *, positive_den: bool = True) -> pd.Series:
    """``num / den`` as float, NaN where the denominator gives no ratio, so that no inf escapes.

    Parameters
    ----------
    num, den : array-like
        Numerator and denominator, aligned.
    positive_den : bool
        NaN where ``den <= 0`` (True) or only where ``den == 0`` (False).

    Returns
    -------
    Series
        The ratio, float64.
    """
    num = pd.Series(num, dtype="float64")
    den = pd.Series(den, dtype="float64")
    ok = den > 0 if positive_den else den != 0
    return (num / den.where(ok)).astype("float64")


# ------------------------------------------------------------------ margin
def margin_rate(gross_profit, sales) -> pd.Series:
    """Gross profit / sales, NaN where net sales are zero or negative (returns exceed sales).

    Parameters
    ----------
    gross_profit, sales : array-like
        Gross profit and net sales, aligned.

    Returns
    -------
    Series
        The rate, float64.
    """
    out = safe_ratio(gross_profit, sales)
    if isinstance(sales, pd.Series):
        out.index = sales.index
    return out


def margin_by(
    tx: pd.DataFrame,
    by: str | Sequence[str],
    *,
    amount_col: str = "amount",
    cost_col: str = "cost",
    start=None,
    end=None,
    date_col: str = "date",
) -> pd.DataFrame:
    """Sales, cost, gross profit and margin rate per group of transaction lines.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines; ``amount`` is net sales (negative for returns).
    by : str or list of str
        Grouping column(s); missing keys form their own group.
    amount_col, cost_col : str
        Column names.  Without ``cost_col`` the cost, profit and rate are NaN.
    start, end : date-like, optional
        Only the lines in ``[start, end)`` of ``date_col`` (None: every line).
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, ``sales`` (net),
        ``cost_of_sales``, ``gross_profit`` = sum(amount - cost),
        ``gross_margin_rate`` = gross_profit / sales of the lines that carry a
        cost, ``returns`` (absolute sum of negative lines) and ``sales_lines``.  Lines without a cost are left out
        of the profit and the rate, not counted as zero cost.
    """
    keys = [by] if isinstance(by, str) else list(by)
    require_columns(tx, [*keys, amount_col], "transactions")
    engine = products_sql.route(tx, keys, date_col=date_col)
    if engine != "pandas":
        cols = dict(amount_col=amount_col, cost_col=cost_col, date_col=date_col)
        return products_sql.margin_by_sql(engine, tx, keys, start=start, end=end, **cols)
    if start is not None or end is not None:
        tx = between(tx, start, end, date_col=date_col)
    amount = tx[amount_col].astype("float64")
    has_cost = cost_col in tx.columns
    cost = tx[cost_col].astype("float64") if has_cost else pd.Series(np.nan, index=tx.index)
    costed = cost.notna()
    work = tx[keys].assign(
        _sales=amount,
        _cost=cost,
        _gp=(amount - cost),
        _costed_sales=amount.where(costed),
        _ret=(-amount).clip(lower=0),
    )
    g = work.groupby(keys, dropna=False, sort=True)
    out = pd.DataFrame(
        {
            "sales": g["_sales"].sum(),
            "cost_of_sales": g["_cost"].sum(min_count=1),
            "gross_profit": g["_gp"].sum(min_count=1),
            "costed_sales": g["_costed_sales"].sum(min_count=1),
            "returns": g["_ret"].sum(),
            "sales_lines": g.size(),
        }
    )
    out = out.assign(gross_margin_rate=margin_rate(out["gross_profit"], out["costed_sales"]))
    return out.drop(columns="costed_sales").reset_index()


def overall_margin_rate(
    tx: pd.DataFrame,
    *,
    amount_col: str = "amount",
    cost_col: str = "cost",
    start=None,
    end=None,
    date_col: str = "date",
) -> float:
    """sum(amount - cost) / sum(amount) over the lines that carry a cost; NaN without cost.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    amount_col : str
        Net amount column (sales; returns negative).
    cost_col : str
        Cost column.
    start, end : date-like, optional
        Only the lines in ``[start, end)`` of ``date_col`` (None: every line).
    date_col : str
        Date column.

    Returns
    -------
    float
        The rate, NaN without cost or positive sales.
    """
    if cost_col not in tx.columns:
        return float("nan")
    engine = products_sql.route(tx, date_col=date_col)
    if engine != "pandas":
        cols = dict(amount_col=amount_col, cost_col=cost_col, date_col=date_col)
        return products_sql.overall_margin_sql(engine, tx, start=start, end=end, **cols)
    if start is not None or end is not None:
        tx = between(tx, start, end, date_col=date_col)
    costed = tx[tx[cost_col].notna()]
    sales = costed[amount_col].astype("float64").sum()
    gp = (costed[amount_col].astype("float64") - costed[cost_col].astype("float64")).sum()
    return float(gp / sales) if sales > 0 else float("nan")


def loss_makers(df: pd.DataFrame, *, profit_col: str = "gross_profit") -> pd.DataFrame:
    """Rows whose gross profit is negative, worst first.

    Parameters
    ----------
    df : DataFrame
        A margin table (:func:`margin_by`).
    profit_col : str
        Gross profit column.

    Returns
    -------
    DataFrame
        The loss-making rows, worst first.
    """
    require_columns(df, [profit_col], "the margin table")
    return df[df[profit_col] < 0].sort_values(profit_col, kind="stable").reset_index(drop=True)


def customer_margins(
    tx: pd.DataFrame,
    classes: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    id_col: str = "customer_id",
    class_col: str = "abc_class",
    name_col: str = "name",
    amount_col: str = "amount",
    cost_col: str = "cost",
    start=None,
    end=None,
    date_col: str = "date",
) -> pd.DataFrame:
    """Gross margin per customer (:func:`margin_by`) with ``customer_name`` and its class.

    The name comes from ``customers`` and the class from ``classes`` (NaN
    when not given).  Sorted by gross profit, largest first.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    classes : DataFrame, optional
        A class per customer.
    customers : DataFrame, optional
        The customers table (names).
    id_col : str
        Customer id column.
    class_col : str
        Class column.
    name_col : str
        Customer name column.
    amount_col : str
        Net amount column (sales; returns negative).
    cost_col : str
        Cost column.
    start, end : date-like, optional
        Only the lines in ``[start, end)`` of ``date_col`` (None: every line).
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        :func:`margin_by` per customer with ``customer_name`` and the class.
    """
    window = dict(start=start, end=end, date_col=date_col)
    out = margin_by(tx, id_col, amount_col=amount_col, cost_col=cost_col, **window)
    ids = out[id_col]
    if customers is not None and name_col in customers.columns:
        names = customers.drop_duplicates(id_col).set_index(id_col)[name_col]
        out = out.assign(customer_name=ids.map(names).to_numpy())
    else:
        out = out.assign(customer_name=np.nan)
    cls = (
        ids.map(classes.drop_duplicates(id_col).set_index(id_col)[class_col])
        if classes is not None
        else pd.Series(np.nan, index=out.index)
    )
    out = out.assign(**{class_col: cls.to_numpy()})
    return out.sort_values(
        ["gross_profit", id_col], ascending=[False, True], na_position="last", kind="stable"
    ).reset_index(drop=True)


def class_margins(
    tx: pd.DataFrame,
    classes: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    class_col: str = "abc_class",
    amount_col: str = "amount",
    cost_col: str = "cost",
    start=None,
    end=None,
    date_col: str = "date",
) -> pd.DataFrame:
    """:func:`margin_by` per customer class; lines of customers without a class form the group NaN.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    classes : DataFrame
        A class per customer.
    id_col : str
        Customer id column.
    class_col : str
        Class column.
    amount_col : str
        Net amount column (sales; returns negative).
    cost_col : str
        Cost column.
    start, end : date-like, optional
        Only the lines in ``[start, end)`` of ``date_col`` (None: every line).
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        :func:`margin_by` per class.
    """
    require_columns(classes, [id_col, class_col], "the class table")
    engine = products_sql.route(tx, [id_col], date_col=date_col)
    if engine != "pandas":  # summed per customer in SQL, then per class
        cols = dict(id_col=id_col, class_col=class_col, amount_col=amount_col, cost_col=cost_col)
        window = dict(start=start, end=end, date_col=date_col)
        return products_sql.class_margins_sql(engine, tx, classes, **cols, **window)
    if start is not None or end is not None:
        tx = between(tx, start, end, date_col=date_col)
    cls = tx[id_col].map(classes.drop_duplicates(id_col).set_index(id_col)[class_col])
    return margin_by(
        tx.assign(**{class_col: cls.to_numpy()}),
        class_col,
        amount_col=amount_col,
        cost_col=cost_col,
    )


# --------------------------------------------------------------- inventory
def average_inventory(
    inventory: pd.DataFrame,
    start,
    end,
    *,
    date_col: str = "date",
    product_col: str = "product_id",
    value_col: str = "stock_value",
) -> pd.DataFrame:
    """Opening, closing and average stock per product for the period ``[start, end)``.

    Rules (per product):

    - opening stock: the product's latest snapshot dated on or before ``start``
      (a count on the eve of the period, e.g. 30 Sep for Q4, is its opening);
    - closing stock: its latest snapshot dated after ``start`` and on or before
      ``end`` (the exclusive end, so both month-end and month-start counts work);
    - average inventory = (opening + closing) / 2; when one of the two snapshots
      is missing the other alone is used (``inventory_rule`` says
      ``inv_opening_only`` or ``inv_closing_only``), i.e. stock is assumed unchanged
      since the last count; with neither the product has no row.

    Parameters
    ----------
    inventory : DataFrame
        Stock snapshots (date, product, stock value).
    start, end : date-like
        The half-open period ``[start, end)``.
    date_col : str
        Date column.
    product_col : str
        Product id column.
    value_col : str
        Stock value column.

    Returns
    -------
    DataFrame
        product_id, opening_date, opening_stock, closing_date, closing_stock,
        avg_inventory, inventory_rule (``inv_both`` / ``inv_opening_only`` /
        ``inv_closing_only``, label keys).
    """
    require_columns(inventory, [date_col, product_col, value_col], "inventory")
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    inv = inventory[[product_col, date_col, value_col]].sort_values(
        [product_col, date_col], kind="stable"
    )
    value = inv[value_col].astype("float64")
    inv = inv.assign(**{value_col: value})

    def last_per_product(rows: pd.DataFrame, tag: str) -> pd.DataFrame:
        last = rows.groupby(product_col, sort=True).tail(1)
        return last.set_index(product_col).rename(
            columns={date_col: f"{tag}_date", value_col: f"{tag}_stock"}
        )

    opening = last_per_product(inv[inv[date_col] <= start], "opening")
    closing = last_per_product(inv[(inv[date_col] > start) & (inv[date_col] <= end)], "closing")
    out = opening.join(closing, how="outer").rename_axis(product_col)
    has_open, has_close = out["opening_stock"].notna(), out["closing_stock"].notna()
    out = out.assign(
        avg_inventory=out[["opening_stock", "closing_stock"]].mean(axis=1, skipna=True),
        inventory_rule=np.select(
            [has_open & has_close, has_open], ["inv_both", "inv_opening_only"], "inv_closing_only"
        ),
    )
    cols = [
        "opening_date",
        "opening_stock",
        "closing_date",
        "closing_stock",
        "avg_inventory",
        "inventory_rule",
    ]
    return out[cols].reset_index()


def _month_bounds(start, end) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    edges = [start, *[d for d in pd.date_range(start, end, freq="MS") if start < d < end], end]
    return list(zip(edges[:-1], edges[1:]))


def has_monthly_counts(inventory: pd.DataFrame, start, end, *, date_col: str = "date") -> bool:
    """True when the inventory holds a stock count in every month of ``[start, end)``.

    A count belongs to a month when it is dated after the month's first day and
    on or before the next month's first day (the closing count of the month, as
    in :func:`average_inventory`), so month-end and month-start counts both work.

    Parameters
    ----------
    inventory : DataFrame
        Stock snapshots (date, product, stock value).
    start, end : date-like
        The half-open period ``[start, end)``.
    date_col : str
        Date column.

    Returns
    -------
    bool
    """
    require_columns(inventory, [date_col], "inventory")
    dates = inventory[date_col]
    return all(((dates > a) & (dates <= b)).any() for a, b in _month_bounds(start, end))


def monthly_average_inventory(
    inventory: pd.DataFrame,
    start,
    end,
    *,
    date_col: str = "date",
    product_col: str = "product_id",
    value_col: str = "stock_value",
) -> pd.DataFrame:
    """Average stock per product over ``[start, end)`` from monthly counts.

    Each calendar month gets its own average, (opening + closing) / 2 with the
    rules of :func:`average_inventory` (月初库存 and 月末库存: the source's
    monthly turnover); ``avg_inventory`` is the mean of the months' averages
    over the months in which the product has a count.  With counts at the end
    of September, October, November and December, Q4's average stock is
    ((S9 + S10) / 2 + (S10 + S11) / 2 + (S11 + S12) / 2) / 3.

    Parameters
    ----------
    inventory : DataFrame
        Stock snapshots (date, product, stock value).
    start, end : date-like
        The half-open period ``[start, end)``.
    date_col : str
        Date column.
    product_col : str
        Product id column.
    value_col : str
        Stock value column.

    Returns
    -------
    DataFrame
        The columns of :func:`average_inventory` (opening of the first month,
        closing of the last, ``inventory_rule`` = ``inv_monthly`` when every
        month had both counts, else the first incomplete month's rule) and
        ``inventory_months`` (months averaged).
    """
    parts = [
        average_inventory(
            inventory, a, b, date_col=date_col, product_col=product_col, value_col=value_col
        ).assign(_month=i)
        for i, (a, b) in enumerate(_month_bounds(start, end))
    ]
    months = pd.concat(parts, ignore_index=True).sort_values([product_col, "_month"], kind="stable")
    g = months.groupby(product_col, sort=True)
    incomplete = (
        months[months["inventory_rule"] != "inv_both"]
        .groupby(product_col)["inventory_rule"]
        .first()
    )
    out = pd.DataFrame(
        {
            "opening_date": g["opening_date"].first(),
            "opening_stock": g["opening_stock"].first(),
            "closing_date": g["closing_date"].last(),
            "closing_stock": g["closing_stock"].last(),
            "avg_inventory": g["avg_inventory"].mean(),
            "inventory_months": g.size(),
        }
    )
    rule = pd.Series(out.index.map(incomplete), index=out.index, dtype="object")
    out = out.assign(inventory_rule=rule.where(rule.notna(), "inv_monthly").to_numpy())
    cols = [
        "opening_date",
        "opening_stock",
        "closing_date",
        "closing_stock",
        "avg_inventory",
        "inventory_rule",
        "inventory_months",
    ]
    return out[cols].rename_axis(product_col).reset_index()


TURNOVER_BASES = ("sales", "cost")
TURNOVER_PERIODS = ("auto", "month", "quarter")


def turnover_months(
    inventory: pd.DataFrame, start, end, *, period: str = "auto", date_col: str = "date"
) -> int | None:
    """How many months the turnover is expressed per: the months of the period, or None for the whole period.

    ``period="month"`` always gives monthly turnover (the source's), ``"quarter"``
    the turnover of the whole period (the project's earlier choice), ``"auto"``
    monthly when :func:`has_monthly_counts` finds a count in every month.

    Parameters
    ----------
    inventory : DataFrame
        Stock snapshots (date, product, stock value).
    start, end : date-like
        The half-open period ``[start, end)``.
    period : {"auto", "month", "quarter"}
        The turnover's period.
    date_col : str
        Date column.

    Returns
    -------
    int or None
        Months per which turnover is expressed; None for the whole period.
    """
    if period not in TURNOVER_PERIODS:
        raise ValueError(
            f"unknown turnover period {period!r}; expected one of {', '.join(TURNOVER_PERIODS)}"
        )
    monthly = period == "month" or (
        period == "auto" and has_monthly_counts(inventory, start, end, date_col=date_col)
    )
    return len(_month_bounds(start, end)) if monthly else None


def stock_turnover(
    products: pd.DataFrame,
    avg_inventory: pd.DataFrame,
    *,
    days: int,
    basis: str = "sales",
    months: int | None = None,
    product_col: str = "product_id",
    sales_col: str = "sales",
    cost_col: str = "cost_of_sales",
) -> pd.DataFrame:
    """Turnover and days of inventory per product (products with stock but no sales included).

    Parameters
    ----------
    products : DataFrame
        One row per product with net ``sales`` and (for ``basis="cost"``)
        ``cost_of_sales`` (cost of goods sold) for the period, e.g. from
        :func:`analysis.products.mix.product_sales`.
    avg_inventory : DataFrame
        From :func:`average_inventory` or :func:`monthly_average_inventory`.
    days : int
        Days in the period (92 for Q4), for days of inventory.
    basis : {"sales", "cost"}
        The flow: net sales (销售额, 《如何做好客户分类管理》: 销售额除以平均库存量) or the
        cost of goods sold (销售成本, both sides at cost: the accounting
        alternative, the project's choice).  Stock counts are at cost either way.
    months : int, optional
        Months in the period: the turnover is then per month (flow / months /
        average inventory, the source's monthly turnover); None gives the
        turnover of the whole period.

    Returns
    -------
    DataFrame
        ``products`` outer-joined with the inventory columns, plus
        ``stock_turnover``, ``days_of_inventory`` = days x avg_inventory /
        flow, ``turnover_basis`` (``basis_sales`` / ``basis_cost``) and
        ``turnover_period`` (``period_month`` / ``period_whole``).
        Turnover is NaN when there is no inventory figure, the average
        inventory is zero (undefined, never inf) or the flow is negative; zero
        sales with stock give turnover 0 and days of inventory NaN (stock that
        does not move has no finite cover).
    """
    if basis not in TURNOVER_BASES:
        raise ValueError(
            f"unknown turnover basis {basis!r}; expected one of {', '.join(TURNOVER_BASES)}"
        )
    if months is not None and months < 1:
        raise ValueError(
            f"months must be at least 1 (or None for the whole period), got {months!r}"
        )
    require_columns(products, [product_col, sales_col], "the product table")
    require_columns(avg_inventory, [product_col, "avg_inventory"], "the inventory table")
    if basis == "cost" and (cost_col not in products.columns or products[cost_col].isna().all()):
        raise ValueError(
            f"turnover basis 'cost' needs {cost_col} (a cost column in the transactions); "
            f"use basis 'sales'"
        )
    flow_col = cost_col if basis == "cost" else sales_col
    out = products.merge(avg_inventory, on=product_col, how="outer", sort=False, indicator=True)
    stock_only = out.pop("_merge").eq("right_only")
    zero_when_unsold = [
        c for c in dict.fromkeys([sales_col, flow_col, cost_col]) if c in out.columns
    ]
    out = out.assign(**{c: out[c].where(~stock_only, 0.0) for c in zero_when_unsold})
    flow = out[flow_col].astype("float64")
    flow = flow.where(flow >= 0)  # returns exceeding sales: no meaningful turnover
    inv = out["avg_inventory"].astype("float64")
    return out.assign(
        stock_turnover=safe_ratio(flow / (months or 1), inv).to_numpy(),
        days_of_inventory=(days * safe_ratio(inv, flow)).to_numpy(),
        turnover_basis=f"basis_{basis}",
        turnover_period="period_month" if months else "period_whole",
    )


# ------------------------------------------------------- cross/contribution
def cross_ratios(
    df: pd.DataFrame,
    *,
    sales_col: str = "sales",
    margin_col: str = "gross_margin_rate",
    turnover_col: str = "stock_turnover",
) -> pd.DataFrame:
    """Add ``sales_share``, ``cross_ratio`` and ``contribution_ratio``, highest contribution first.

    ``sales_share`` is the product's net sales over the total of the table
    (NaN when the total is not positive); ``cross_ratio`` = margin rate x
    turnover (交叉比率 = 毛利率 × 商品周转率, 《如何做好客户分类管理》), so it follows the
    turnover's basis: with the sales basis it is gross profit / average stock
    (per month when the turnover is monthly); ``contribution_ratio`` = cross
    ratio x sales share (the source: 贡献比率 = 交叉比率 × 销售额; the share keeps it
    comparable between periods: the project's choice).  A product without a
    margin rate or a turnover has no ratios (NaN).

    Parameters
    ----------
    df : DataFrame
        Products with sales, margin rate and turnover (:func:`stock_turnover`).
    sales_col : str
        Sales column.
    margin_col, turnover_col : str
        Margin rate and turnover columns.

    Returns
    -------
    DataFrame
        ``df`` with ``sales_share``, ``cross_ratio`` and ``contribution_ratio``, highest
        contribution first.
    """
    require_columns(df, [sales_col, margin_col, turnover_col], "the product table")
    sales = df[sales_col].astype("float64")
    total = sales.sum()
    share = sales / total if total > 0 else pd.Series(np.nan, index=df.index)
    cross = df[margin_col].astype("float64") * df[turnover_col].astype("float64")
    out = df.assign(sales_share=share, cross_ratio=cross, contribution_ratio=cross * share)
    return out.sort_values(
        "contribution_ratio", ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


QUADRANT_SPLITS = ("median", "overall")


def margin_turnover_quadrant(
    df: pd.DataFrame,
    *,
    split: str = "median",
    margin_split: float | None = None,
    turnover_split: float | None = None,
    margin_col: str = "gross_margin_rate",
    turnover_col: str = "stock_turnover",
    sales_col: str = "sales",
    inventory_col: str = "avg_inventory",
) -> pd.DataFrame:
    """Add ``product_quadrant`` (push / hold / review / drop, as label keys) from margin x turnover.

    Parameters
    ----------
    split : {"median", "overall"}
        Where high meets low: the medians of the rated products, or the
        overall figures (sales-weighted margin rate, inventory-weighted
        turnover, i.e. the company's own margin and turnover).
    margin_split, turnover_split : float, optional
        Explicit splits; override ``split`` for that axis.

    A value at or above its split counts as high.  Products lacking either
    value get no quadrant (NaN).  The splits used are returned as the columns
    ``margin_split`` and ``turnover_split`` so that a chart can draw them.

    Returns
    -------
    DataFrame
        ``df`` with ``product_quadrant``, ``margin_split`` and ``turnover_split``.
    """
    if split not in QUADRANT_SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(QUADRANT_SPLITS)}")
    require_columns(df, [margin_col, turnover_col], "the product table")
    m, t = df[margin_col].astype("float64"), df[turnover_col].astype("float64")
    rated = m.notna() & t.notna()
    if split == "median":
        ms, ts = m[rated].median(), t[rated].median()
    else:
        require_columns(df, [sales_col, inventory_col], "the product table")
        sales, inv = df.loc[rated, sales_col].clip(lower=0), df.loc[rated, inventory_col]
        ms = (m[rated] * sales).sum() / sales.sum() if sales.sum() > 0 else np.nan
        ts = (t[rated] * inv).sum() / inv.sum() if inv.sum() > 0 else np.nan
    ms = float(ms if margin_split is None else margin_split)
    ts = float(ts if turnover_split is None else turnover_split)
    quad = pd.Series(
        [QUADRANTS[(bool(a), bool(b))] for a, b in zip(m >= ms, t >= ts)],
        index=df.index,
        dtype="object",
    )
    return df.assign(product_quadrant=quad.where(rated), margin_split=ms, turnover_split=ts)


def quadrant_counts(
    df: pd.DataFrame, *, quadrant_col: str = "product_quadrant", sales_col: str = "sales"
) -> pd.DataFrame:
    """Products and sales per quadrant (push, hold, review, drop; every quadrant gets a row).

    Parameters
    ----------
    df : DataFrame
        From :func:`margin_turnover_quadrant`.
    quadrant_col : str
        The quadrant column.
    sales_col : str
        Sales column.

    Returns
    -------
    DataFrame
        product_quadrant, products, sales and sales_share.
    """
    require_columns(df, [quadrant_col, sales_col], "the quadrant table")
    keys = list(QUADRANTS.values())
    g = df.groupby(quadrant_col)
    out = pd.DataFrame({quadrant_col: keys})
    out = out.assign(
        products=out[quadrant_col].map(g.size()).fillna(0).astype("int64"),
        sales=out[quadrant_col].map(g[sales_col].sum()).fillna(0.0),
    )
    total = df[sales_col].sum()
    return out.assign(sales_share=out["sales"] / total if total > 0 else np.nan)


# ------------------------------------------------------------- receivables
FIN_COLUMNS = [
    "invoiced",
    "received",
    "n_receipts",
    "largest_receipt",
    "avg_receipt",
    "collection_days",
    "arrears",
    "overdue",
    "arrears_rate",
]


def receivable_indicators(
    receivables: pd.DataFrame,
    start,
    end,
    *,
    id_col: str = "customer_id",
    invoice_date_col: str = "invoice_date",
    amount_col: str = "amount",
    paid_date_col: str = "paid_date",
    paid_amount_col: str = "paid_amount",
    due_date_col: str = "due_date",
) -> pd.DataFrame:
    """The financial indicators (财务类指标) of 《如何做好客户分类管理》 per customer for the period ``[start, end)``.

    - ``invoiced``: amount invoiced in the period;
    - ``received``, ``n_receipts`` (count), ``largest_receipt``
      (最大单笔收款额), ``avg_receipt`` (平均收款额): invoices paid in the
      period (a paid invoice without ``paid_amount`` counts as paid in full);
    - ``collection_days`` (平均收款周期): paid date - invoice date, averaged
      over the receipts of the period weighted by the amount received;
    - ``arrears`` (欠款额): what is still unpaid at ``end`` on every invoice
      dated before ``end`` (a payment dated on or after ``end`` is not yet
      made); ``overdue`` the part of it past its due date;
    - ``arrears_rate`` (欠款率) = arrears / invoiced in the period (NaN
      without invoicing in the period).

    Parameters
    ----------
    receivables : DataFrame
        Invoices and payments.
    start, end : date-like
        The half-open period ``[start, end)``.
    id_col : str
        Customer id column.
    invoice_date_col, paid_date_col, paid_amount_col, due_date_col : str
        Column names of the receivables table.
    amount_col : str
        Net amount column (sales; returns negative).

    Returns
    -------
    DataFrame
        One row per customer with the indicators above.
    """
    require_columns(receivables, [id_col, invoice_date_col, amount_col], "receivables")
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    r = receivables[receivables[invoice_date_col] < end]
    amount = r[amount_col].astype("float64")
    none = pd.Series(pd.NaT, index=r.index, dtype="datetime64[ns]")
    paid_date = r[paid_date_col] if paid_date_col in r.columns else none
    due = r[due_date_col] if due_date_col in r.columns else none
    paid_amt = (
        r[paid_amount_col].astype("float64")
        if paid_amount_col in r.columns
        else pd.Series(np.nan, index=r.index)
    )
    paid_amt = paid_amt.fillna(amount).where(paid_date.notna(), 0.0)
    paid_by_end = paid_date < end
    outstanding = (amount - paid_amt.where(paid_by_end, 0.0)).clip(lower=0)
    receipt = paid_amt.where(paid_date.ge(start) & paid_by_end)
    days = (paid_date - r[invoice_date_col]).dt.days.astype("float64")
    work = pd.DataFrame(
        {
            id_col: r[id_col],
            "invoiced": amount.where(r[invoice_date_col] >= start, 0.0),
            "receipt": receipt,
            "weighted_days": (days * receipt).fillna(0.0),
            "arrears": outstanding,
            "overdue": outstanding.where(due < end, 0.0),
        }
    )
    g = work.groupby(id_col, sort=True)
    out = pd.DataFrame(
        {
            "invoiced": g["invoiced"].sum(),
            "received": g["receipt"].sum(),
            "n_receipts": g["receipt"].count(),
            "largest_receipt": g["receipt"].max(),
            "avg_receipt": g["receipt"].mean(),
            "weighted_days": g["weighted_days"].sum(),
            "arrears": g["arrears"].sum(),
            "overdue": g["overdue"].sum(),
        }
    )
    return _finish_financials(out).reset_index()


def _finish_financials(out: pd.DataFrame) -> pd.DataFrame:
    out = out.assign(
        collection_days=safe_ratio(out["weighted_days"], out["received"]).to_numpy(),
        arrears_rate=safe_ratio(out["arrears"], out["invoiced"]).to_numpy(),
    )
    return out[[c for c in ["customers", *FIN_COLUMNS] if c in out.columns]]


def class_financials(
    indicators: pd.DataFrame,
    classes: pd.DataFrame,
    *,
    class_col: str,
    id_col: str = "customer_id",
    unclassified: str = "–",
) -> pd.DataFrame:
    """Roll :func:`receivable_indicators` up to customer classes.

    Sums add up; ``collection_days`` stays weighted by the amount
    received, ``arrears_rate`` = class arrears / class invoicing,
    ``largest_receipt`` is the class maximum and ``avg_receipt`` =
    received / receipts.  Customers without a class (no sales in the period)
    form the ``unclassified`` group.

    Parameters
    ----------
    indicators : DataFrame
        From :func:`receivable_indicators`.
    classes : DataFrame
        A class per customer.
    class_col : str
        Class column.
    id_col : str
        Customer id column.
    unclassified : str
        Name of the group without a class.

    Returns
    -------
    DataFrame
        The indicators per class.
    """
    require_columns(indicators, [id_col, *FIN_COLUMNS], "the indicator table")
    require_columns(classes, [id_col, class_col], "the class table")
    df = indicators.merge(
        classes[[id_col, class_col]].drop_duplicates(id_col), on=id_col, how="left"
    )
    df = df.assign(
        **{
            class_col: df[class_col].astype("object").fillna(unclassified),
            "weighted_days": df["collection_days"].fillna(0.0) * df["received"],
        }
    )
    g = df.groupby(class_col, sort=True)
    out = pd.DataFrame(
        {
            "customers": g[id_col].nunique(),
            "invoiced": g["invoiced"].sum(),
            "received": g["received"].sum(),
            "n_receipts": g["n_receipts"].sum(),
            "largest_receipt": g["largest_receipt"].max(),
            "weighted_days": g["weighted_days"].sum(),
            "arrears": g["arrears"].sum(),
            "overdue": g["overdue"].sum(),
        }
    )
    out = out.assign(avg_receipt=safe_ratio(out["received"], out["n_receipts"]).to_numpy())
    return _finish_financials(out).reset_index()


# ------------------------------------------------------ customer service cost
def service_load(
    interactions: pd.DataFrame,
    start,
    end,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    kind_col: str = "kind",
    kinds: Sequence[str] = ("complaint", "suggestion", "visit", "task"),
) -> pd.DataFrame:
    """Interactions per customer in ``[start, end)`` that take staff time (praise left out by default).

    Parameters
    ----------
    interactions : DataFrame
        The interactions table.
    start, end : date-like
        The half-open period ``[start, end)``.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    kind_col : str
        Kind column.
    kinds : sequence of str
        Kinds that take staff time.

    Returns
    -------
    DataFrame
        customer_id, ``service_load`` (count of the chosen kinds) and ``n_<kind>`` per kind.
    """
    require_columns(interactions, [id_col, date_col, kind_col], "interactions")
    rows = interactions[
        (interactions[date_col] >= pd.Timestamp(start))
        & (interactions[date_col] < pd.Timestamp(end))
        & interactions[kind_col].isin(list(kinds))
    ]
    counts = pd.crosstab(rows[id_col], rows[kind_col]).reindex(columns=list(kinds), fill_value=0)
    counts.columns = [f"n_{k}" for k in counts.columns]
    counts.columns.name = None
    return counts.assign(service_load=counts.sum(axis=1)).rename_axis(id_col).reset_index()


def over_served(
    margins: pd.DataFrame,
    load: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    margin_col: str = "gross_margin_rate",
    profit_col: str = "gross_profit",
    low_margin_quantile: float = 0.25,
    high_load_quantile: float = 0.75,
) -> pd.DataFrame:
    """Customers who take more service than they earn (过度服务客户, 《客户管理抓住具有价值的“奶油层”客户》).

    A customer is over-served when its margin rate is at or below the
    ``low_margin_quantile`` of customers (or its gross profit is negative) and
    its service load is at or above the ``high_load_quantile`` of the
    customers with any load.

    Parameters
    ----------
    margins : DataFrame
        From :func:`customer_margins`.
    load : DataFrame
        From :func:`service_load`.
    id_col : str
        Customer id column.
    margin_col : str
        Margin rate column.
    profit_col : str
        Gross profit column.
    low_margin_quantile, high_load_quantile : float
        The quantiles of low margin and high load.

    Returns
    -------
    DataFrame
        Every customer of ``margins`` with ``service_load``, ``profit_per_contact`` (gross profit /
        service load) and ``over_served``; over-served first, then by profit per contact ascending.
    """
    require_columns(margins, [id_col, margin_col, profit_col], "the customer margin table")
    require_columns(load, [id_col, "service_load"], "the service-load table")
    df = margins.merge(load[[id_col, "service_load"]], on=id_col, how="left")
    df = df.assign(service_load=df["service_load"].fillna(0).astype("int64"))
    m_cut = df[margin_col].quantile(low_margin_quantile)
    loaded = df.loc[df["service_load"] > 0, "service_load"]
    l_cut = loaded.quantile(high_load_quantile) if len(loaded) else np.inf
    low_margin = (df[margin_col] <= m_cut) | (df[profit_col] < 0)
    flag = low_margin & (df["service_load"] >= l_cut) & (df["service_load"] > 0)
    out = df.assign(
        profit_per_contact=safe_ratio(df[profit_col], df["service_load"]).to_numpy(),
        over_served=flag.to_numpy(),
    )
    return out.sort_values(
        ["over_served", "profit_per_contact"],
        ascending=[False, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)


# ------------------------------------------------------------- headlines
def arrears_by_class(
    indicators: pd.DataFrame,
    classes: pd.DataFrame,
    *,
    class_col: str = "abc_class",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Receivables held per customer class, with each class's share of all arrears (占欠款总额).

    Parameters
    ----------
    indicators : DataFrame
        From :func:`receivable_indicators`.
    classes : DataFrame
        ``id_col`` and ``class_col`` (customers without a class form the group "–").

    Returns
    -------
    DataFrame
        ``class_col``, ``customers``, ``invoiced``, ``arrears``, ``overdue``,
        ``collection_days``, ``arrears_rate`` (:func:`class_financials`) and
        ``arrears_share`` = class arrears / all arrears (NaN when nothing is owed).
    """
    fin = class_financials(indicators, classes, class_col=class_col, id_col=id_col)
    cols = ["customers", "invoiced", "arrears", "overdue", "collection_days", "arrears_rate"]
    held = fin[[class_col, *cols]]
    total = float(held["arrears"].sum())
    return held.assign(arrears_share=held["arrears"] / total if total > 0 else np.nan)


def over_served_customers(
    customers: pd.DataFrame,
    interactions: pd.DataFrame,
    start,
    end,
    *,
    id_col: str = "customer_id",
    low_margin_quantile: float = 0.25,
    high_load_quantile: float = 0.75,
) -> pd.DataFrame:
    """The over-served test (:func:`over_served`) of customers from their sales and gross profit and
    their interactions in ``[start, end)``.

    Parameters
    ----------
    customers : DataFrame
        One row per customer: ``id_col``, ``gross_profit`` and ``monetary`` (net sales) of the
        period, e.g. the ABC table of page 01.
    interactions : DataFrame
        The interactions table (see :func:`service_load`).

    Returns
    -------
    DataFrame
        As :func:`over_served`: every customer with ``gross_margin_rate``, ``service_load``,
        ``profit_per_contact`` and ``over_served``.
    """
    require_columns(customers, [id_col, "gross_profit", "monetary"], "the customer table")
    margins = customers[[id_col, "gross_profit"]].assign(
        gross_margin_rate=margin_rate(customers["gross_profit"], customers["monetary"])
    )
    return over_served(
        margins,
        service_load(interactions, start, end, id_col=id_col),
        id_col=id_col,
        low_margin_quantile=low_margin_quantile,
        high_load_quantile=high_load_quantile,
    )


def period_stock_turnover(
    tx: pd.DataFrame,
    inventory: pd.DataFrame,
    start,
    end,
    *,
    catalogue: pd.DataFrame | None = None,
    basis: str = "sales",
    period: str = "auto",
    unknown_category: str = "",
) -> pd.DataFrame:
    """Stock turnover per stocked product over ``[start, end)``, as the margin page computes it.

    The period is monthly or whole (:func:`turnover_months`); the average stock is the mean of
    the monthly averages (:func:`monthly_average_inventory`) or of the opening and closing
    counts (:func:`average_inventory`); sales and cost are those of the stocked products
    (:func:`analysis.products.mix.product_sales`); then :func:`stock_turnover`.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (those in ``[start, end)`` are read).
    inventory : DataFrame
        The stock counts.
    catalogue : DataFrame, optional
        The products table (names and categories).
    basis, period : str
        See :func:`stock_turnover` and :func:`turnover_months`.

    Returns
    -------
    DataFrame
        :func:`stock_turnover`'s table (its ``turnover_period`` says monthly or whole).
    """
    from analysis.products.mix import product_sales

    months = turnover_months(inventory, start, end, period=period)
    average = monthly_average_inventory if months else average_inventory
    inv = average(inventory, start, end)
    stocked = product_sales(
        tx,
        catalogue,
        unknown_category=unknown_category,
        keep_ids=inv["product_id"],
        start=start,
        end=end,
    )
    days = (pd.Timestamp(end) - pd.Timestamp(start)).days
    return stock_turnover(stocked, inv, days=days, basis=basis, months=months)
