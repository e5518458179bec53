"""Product sales composition (商品销售构成分析, 《如何做好客户分类管理》).

Products ranked by net sales with cumulative share and ABC class (the ranking
and the classes come from :func:`analysis.classify.classes.abc_classes`, the same
rule as for customers), category subtotals, the product leanings of customer
classes and channels, the mix shift against an earlier period, and sales
against targets.

A ``product_id`` that is not in the ``products`` table still counts, as its
own id in the ``unknown_category`` (未分类); transaction lines without a
product id form the product ``missing_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from analysis.classify.classes import abc_classes
from analysis.data.lookup import is_in
from analysis.data.periods import Quarter, between
from analysis.data.validation import require_columns
from analysis.engine import products_sql
from analysis.engine.aggregate import customer_summary
from analysis.products.margin import (
    margin_by,
    safe_ratio,
)

__all__ = [
    "UNKNOWN_CATEGORY",
    "MISSING_ID",
    "product_sales",
    "product_abc",
    "customer_abc",
    "category_subtotals",
    "category_leanings",
    "leanings_matrix",
    "strongest_leanings",
    "mix_shift",
    "sales_vs_target",
    "largest_shifts",
    "mix_counts",
    "period_sales",
]

UNKNOWN_CATEGORY = "unknown"
MISSING_ID = "(none)"
MIX_STATUS = ("mix_new", "mix_dropped", "mix_continuing")  # label keys


def product_sales(
    tx: pd.DataFrame,
    products: pd.DataFrame | None = None,
    *,
    product_col: str = "product_id",
    amount_col: str = "amount",
    cost_col: str = "cost",
    quantity_col: str = "quantity",
    name_col: str = "name",
    category_col: str = "category",
    unknown_category: str = UNKNOWN_CATEGORY,
    missing_id: str = MISSING_ID,
    keep_ids: Iterable = (),
    start=None,
    end=None,
    date_col: str = "date",
) -> pd.DataFrame:
    """One row per product: net sales, cost, gross profit, margin rate, quantity, catalogue data.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines of the period, with ``product_col``.
    products : DataFrame, optional
        The catalogue (product_id, name, category).  Products sold but not in
        it keep their id as name and get ``unknown_category``.
    keep_ids : iterable
        Product ids to keep with zero sales (e.g. products in stock that did
        not sell), so that dead stock shows up.
    start, end : date-like, optional
        Only the lines in ``[start, end)`` of ``date_col`` (None: every line).
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        product_id, product_name, category, in_catalogue, sales, cost_of_sales,
        gross_profit, gross_margin_rate, returns, sales_lines, quantity_sold
        (NaN without a quantity column); sorted by sales descending, then
        product_id.
    """
    require_columns(tx, [product_col, amount_col], "transactions")
    engine = products_sql.route(tx, [product_col], date_col=date_col)
    if engine != "pandas":  # the sums per product in SQL; ids, catalogue and order below
        out = products_sql.product_margins_sql(
            engine,
            tx,
            product_col=product_col,
            amount_col=amount_col,
            cost_col=cost_col,
            quantity_col=quantity_col,
            missing_id=missing_id,
            start=start,
            end=end,
            date_col=date_col,
        )
    else:
        if start is not None or end is not None:
            tx = between(tx, start, end, date_col=date_col)
        ids = tx[product_col].astype("string").fillna(missing_id)
        lines = tx.assign(**{product_col: ids})
        out = margin_by(lines, product_col, amount_col=amount_col, cost_col=cost_col)
        qty = (
            lines.groupby(product_col)[quantity_col].sum(min_count=1).astype("float64")
            if quantity_col in lines.columns
            else None
        )
        out = out.assign(
            quantity_sold=out[product_col].map(qty).astype("float64") if qty is not None else np.nan
        )
    extra = pd.Index(pd.Series(list(keep_ids), dtype="string")).difference(out[product_col])
    if len(extra):
        zero = pd.DataFrame({product_col: extra, "sales": 0.0, "returns": 0.0, "sales_lines": 0})
        out = pd.concat([out, zero], ignore_index=True)
    out = _attach_catalogue(
        out,
        products,
        product_col=product_col,
        name_col=name_col,
        category_col=category_col,
        unknown_category=unknown_category,
    )
    cols = [
        product_col,
        "product_name",
        "category",
        "in_catalogue",
        "sales",
        "cost_of_sales",
        "gross_profit",
        "gross_margin_rate",
        "returns",
        "sales_lines",
        "quantity_sold",
    ]
    return (
        out[cols]
        .sort_values(["sales", product_col], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def _attach_catalogue(
    df: pd.DataFrame,
    products: pd.DataFrame | None,
    *,
    product_col: str,
    name_col: str,
    category_col: str,
    unknown_category: str,
) -> pd.DataFrame:
    ids = df[product_col].astype("string")
    if products is None or product_col not in products.columns:
        cat = pd.DataFrame(columns=[product_col, "product_name", "category"])
    else:
        cat = pd.DataFrame(
            {
                product_col: products[product_col].astype("string"),
                "product_name": products[name_col] if name_col in products.columns else pd.NA,
                "category": products[category_col] if category_col in products.columns else pd.NA,
            }
        ).drop_duplicates(product_col)
    cat = cat.set_index(product_col)
    known = is_in(ids, cat.index)
    name = ids.map(cat["product_name"]).astype("object")
    category = ids.map(cat["category"]).astype("object")
    return df.assign(
        **{product_col: ids},
        product_name=name.where(name.notna(), ids.astype("object")),
        category=category.where(category.notna(), unknown_category),
        in_catalogue=known.to_numpy(),
    )


def product_abc(
    product_table: pd.DataFrame,
    *,
    cutoffs: Sequence[float] = (0.75, 0.95),
    product_col: str = "product_id",
    value_col: str = "sales",
) -> pd.DataFrame:
    """Products ranked by ``value_col`` with ``rank``, ``share``, ``cum_share`` and ``abc_class``.

    The same ABC rule as for customers (:func:`analysis.classify.classes.abc_classes`,
    《如何做好客户分类管理》: A closes at about 75% of sales, B at 95%); a product with zero or
    negative net sales is C.

    Parameters
    ----------
    product_table : DataFrame
        Sales per product (:func:`product_sales`).
    cutoffs : sequence of float
        The ABC cut-offs.
    product_col : str
        Product id column.
    value_col : str
        The value ranked.

    Returns
    -------
    DataFrame
        The products with ``rank``, ``share``, ``cum_share`` and ``abc_class``.
    """
    return abc_classes(product_table, value_col, cutoffs=cutoffs, id_col=product_col)


def customer_abc(
    tx: pd.DataFrame,
    start,
    end,
    *,
    cutoffs: Sequence[float] = (0.75, 0.95),
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> pd.DataFrame:
    """Customer ABC classes by net sales in ``[start, end)``: customer_id, monetary, gross_profit, abc_class.

    Built on :func:`analysis.engine.aggregate.customer_summary` and
    :func:`analysis.classify.classes.abc_classes` so that the classes match the
    customer composition page.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    start, end : date-like
        The half-open window.
    cutoffs : sequence of float
        The ABC cut-offs.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    amount_col : str
        Net amount column (sales; returns negative).
    cost_col : str
        Cost column.

    Returns
    -------
    DataFrame
        customer_id, monetary, gross_profit and abc_class.
    """
    summary = customer_summary(
        tx,
        start=start,
        as_of=end,
        date_col=date_col,
        id_col=id_col,
        amount_col=amount_col,
        cost_col=cost_col,
    )
    classes = abc_classes(summary, "monetary", cutoffs=cutoffs, id_col="customer_id")
    return classes[["customer_id", "monetary", "gross_profit", "abc_class"]].rename(
        columns={"customer_id": id_col}
    )


def category_subtotals(
    product_table: pd.DataFrame, *, category_col: str = "category", product_col: str = "product_id"
) -> pd.DataFrame:
    """Category subtotals (品类小计): products, sales, share, gross profit, margin rate; largest first.

    Parameters
    ----------
    product_table : DataFrame
        Sales per product (:func:`product_sales`).
    category_col : str
        Category column.
    product_col : str
        Product id column.

    Returns
    -------
    DataFrame
        Per category: products, sales, share, gross profit and margin rate.
    """
    require_columns(product_table, [category_col, product_col, "sales"], "the product table")
    has_gp = "gross_profit" in product_table.columns
    g = product_table.groupby(category_col, sort=True)
    out = pd.DataFrame(
        {
            "products": g[product_col].nunique(),
            "sales": g["sales"].sum(),
            "gross_profit": g["gross_profit"].sum(min_count=1) if has_gp else np.nan,
        }
    )
    if has_gp and "cost_of_sales" in product_table.columns:
        costed = (
            product_table[product_table["cost_of_sales"].notna()]
            .groupby(category_col)["sales"]
            .sum()
        )
        out = out.assign(
            gross_margin_rate=safe_ratio(out["gross_profit"], costed.reindex(out.index)).to_numpy()
        )
    else:
        out = out.assign(gross_margin_rate=np.nan)
    total = out["sales"].sum()
    out = out.assign(share=out["sales"] / total if total > 0 else np.nan)
    return (
        out.reset_index()
        .sort_values(["sales", category_col], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def category_leanings(
    tx: pd.DataFrame,
    groups: pd.DataFrame,
    product_categories: pd.DataFrame,
    *,
    group_col: str,
    id_col: str = "customer_id",
    product_col: str = "product_id",
    category_col: str = "category",
    amount_col: str = "amount",
    unknown_category: str = UNKNOWN_CATEGORY,
    missing_id: str = MISSING_ID,
    unassigned: str = "–",
    start=None,
    end=None,
    date_col: str = "date",
) -> pd.DataFrame:
    """How each customer group splits its purchases across categories, against the average.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines of the period (customer_id, product_id, amount).
    groups : DataFrame
        customer_id -> ``group_col`` (an ABC class, a channel ...).  Customers
        without a group form ``unassigned``.
    product_categories : DataFrame
        product_id -> category (e.g. the output of :func:`product_sales`);
        products missing there count as ``unknown_category``.
    start, end : date-like, optional
        Only the lines in ``[start, end)`` of ``date_col`` (None: every line).
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        One row per group and category: ``sales``, ``share_in_group`` (the
        category's share of the group's sales), ``overall_share`` (its share
        of all sales), ``lean_pts`` = share_in_group - overall_share (positive:
        the group over-buys the category) and ``lean_index`` = share_in_group /
        overall_share (1 = average).
    """
    require_columns(tx, [id_col, product_col, amount_col], "transactions")
    require_columns(groups, [id_col, group_col], "the group table")
    cats = product_categories.assign(
        **{product_col: product_categories[product_col].astype("string")}
    )
    cat_map = cats.drop_duplicates(product_col).set_index(product_col)[category_col]
    grp = groups.drop_duplicates(id_col).set_index(id_col)[group_col].astype("object")
    engine = products_sql.route(tx, [product_col], date_col=date_col)
    if engine != "pandas" and products_sql.leaning_groups_fit(tx, groups, id_col=id_col):
        # customer -> group joined in SQL, sums per group and product; categories in pandas
        cols = dict(id_col=id_col, product_col=product_col, amount_col=amount_col)
        names = dict(
            unknown_category=unknown_category, missing_id=missing_id, unassigned=unassigned
        )
        window = dict(start=start, end=end, date_col=date_col)
        cell = products_sql.leaning_cells_sql(engine, tx, grp, cat_map, **cols, **names, **window)
    else:
        if start is not None or end is not None:
            tx = between(tx, start, end, date_col=date_col)
        pid = tx[product_col].astype("string").fillna(missing_id)
        work = pd.DataFrame(
            {
                "group": tx[id_col].map(grp).fillna(unassigned).to_numpy(),
                "category": pid.map(cat_map).astype("object").fillna(unknown_category).to_numpy(),
                "sales": tx[amount_col].astype("float64").to_numpy(),
            }
        )
        cell = work.groupby(["group", "category"], sort=True)["sales"].sum()
    group_total = cell.groupby(level="group").sum()
    cat_total = cell.groupby(level="category").sum()
    grand = cat_total.sum()
    out = cell.rename("sales").reset_index()
    gt = out["group"].map(group_total)
    overall = out["category"].map(cat_total) / grand if grand > 0 else np.nan
    share = safe_ratio(out["sales"], gt)
    out = out.assign(share_in_group=share.to_numpy(), overall_share=overall)
    out = out.assign(
        lean_pts=out["share_in_group"] - out["overall_share"],
        lean_index=safe_ratio(out["share_in_group"], out["overall_share"]).to_numpy(),
    )
    return out.rename(columns={"group": group_col, "category": category_col})


def leanings_matrix(
    leanings: pd.DataFrame,
    *,
    group_col: str,
    category_col: str = "category",
    value_col: str = "share_in_group",
    group_order: Sequence | None = None,
) -> pd.DataFrame:
    """Category x group matrix of ``value_col`` (for a heatmap), plus the overall share column ``all``.

    Parameters
    ----------
    leanings : DataFrame
        From :func:`category_leanings`.
    group_col : str
        The group column.
    category_col : str
        Category column.
    value_col : str
        The value shown.
    group_order : sequence, optional
        The groups, in column order.

    Returns
    -------
    DataFrame
        Categories (rows) × groups (columns) and ``all``.
    """
    require_columns(
        leanings, [group_col, category_col, value_col, "overall_share"], "the leanings table"
    )
    mat = leanings.pivot_table(
        index=category_col,
        columns=group_col,
        values=value_col,
        aggfunc="sum",
        fill_value=0.0,
        observed=True,
    )
    if group_order is not None:
        mat = mat.reindex(columns=[g for g in group_order if g in mat.columns])
    overall = leanings.drop_duplicates(category_col).set_index(category_col)["overall_share"]
    mat = mat.assign(all=overall.reindex(mat.index))
    mat.columns.name = None
    return mat.sort_values("all", ascending=False, kind="stable")


def strongest_leanings(
    leanings: pd.DataFrame, *, n: int = 10, min_share: float = 0.01
) -> pd.DataFrame:
    """The ``n`` group x category cells that deviate most from the average mix (either direction).

    Categories below ``min_share`` of all sales are left out: a small category
    swings by chance.  Sorted by the absolute lean in points, largest first.

    Parameters
    ----------
    leanings : DataFrame
        From :func:`category_leanings`.
    n : int
        Cells kept.
    min_share : float
        Smallest category share considered.

    Returns
    -------
    DataFrame
        The ``n`` strongest leanings.
    """
    require_columns(leanings, ["lean_pts", "overall_share"], "the leanings table")
    rows = leanings[leanings["overall_share"] >= min_share]
    order = rows["lean_pts"].abs().sort_values(ascending=False, kind="stable").index
    return rows.loc[order].head(n).reset_index(drop=True)


def mix_shift(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    *,
    id_col: str = "product_id",
    value_col: str = "sales",
    keep: Sequence[str] = ("product_name", "category"),
) -> pd.DataFrame:
    """Share points gained or lost per product (or category) between two periods.

    Parameters
    ----------
    current, previous : DataFrame
        Sales per product (or category) of the two periods.
    id_col : str
        The product (or category) column.
    value_col : str
        The sales column.
    keep : sequence of str
        Descriptive columns kept.

    Returns
    -------
    DataFrame
        One row per id found in either period: ``sales_now``, ``sales_before``, ``share_now``,
        ``share_before``, ``change_pts`` = share_now - share_before (a fraction: 0.012 = 1.2 points)
        and ``mix_status`` (``mix_new``: no positive sales before, some now; ``mix_dropped``: sales
        before, none now; else ``mix_continuing``), by change_pts descending.
    """
    require_columns(current, [id_col, value_col], "the current table")
    require_columns(previous, [id_col, value_col], "the previous table")
    extra = [c for c in keep if c in current.columns and c in previous.columns and c != id_col]
    info = pd.concat([current[[id_col, *extra]], previous[[id_col, *extra]]]).drop_duplicates(
        id_col
    )
    now = current.groupby(id_col)[value_col].sum().rename("sales_now")
    before = previous.groupby(id_col)[value_col].sum().rename("sales_before")
    out = pd.concat([now, before], axis=1).fillna(0.0).rename_axis(id_col).reset_index()

    def share(s: pd.Series) -> pd.Series:
        total = s.sum()
        return s / total if total > 0 else pd.Series(np.nan, index=s.index)

    out = out.assign(share_now=share(out["sales_now"]), share_before=share(out["sales_before"]))
    status = np.select(
        [
            (out["sales_before"] <= 0) & (out["sales_now"] > 0),
            (out["sales_before"] > 0) & (out["sales_now"] <= 0),
        ],
        ["mix_new", "mix_dropped"],
        "mix_continuing",
    )
    out = out.assign(change_pts=out["share_now"] - out["share_before"], mix_status=status)
    out = out.merge(info, on=id_col, how="left")
    return out.sort_values(
        ["change_pts", id_col], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def largest_shifts(shift: pd.DataFrame, *, n: int = 5) -> pd.DataFrame:
    """The ``n`` largest gains and the ``n`` largest losses of share from :func:`mix_shift` (gains first).

    Parameters
    ----------
    shift : DataFrame
        From :func:`mix_shift`.
    n : int
        Rows each way.

    Returns
    -------
    DataFrame
        The gains, then the losses.
    """
    require_columns(shift, ["change_pts"], "the mix-shift table")
    s = shift.sort_values("change_pts", ascending=False, kind="stable")
    gains, losses = s[s["change_pts"] > 0].head(n), s[s["change_pts"] < 0].tail(n)
    return pd.concat([gains, losses]).reset_index(drop=True)


def mix_counts(shift: pd.DataFrame) -> dict[str, int]:
    """How many products are new and how many were dropped in a :func:`mix_shift` table.

    Parameters
    ----------
    shift : DataFrame
        From :func:`mix_shift`.

    Returns
    -------
    dict of str to int
        ``new`` and ``dropped``.
    """
    status = shift["mix_status"]
    return {
        "new": int((status == "mix_new").sum()),
        "dropped": int((status == "mix_dropped").sum()),
    }


def sales_vs_target(
    product_table: pd.DataFrame,
    targets: pd.DataFrame,
    quarter,
    *,
    product_col: str = "product_id",
    category_col: str = "category",
    quarter_col: str = "quarter",
    target_col: str = "target",
) -> pd.DataFrame:
    """Sales against targets (销售任务完成情况) for one quarter, per product and per category.

    A target row with a ``product_id`` is compared with that product's sales,
    one with only a ``category`` with the category's sales.

    Parameters
    ----------
    product_table : DataFrame
        Sales per product (:func:`product_sales`).
    targets : DataFrame
        The targets table.
    quarter : Quarter or str
        The quarter.
    product_col : str
        Product id column.
    category_col, quarter_col, target_col : str
        Columns of the targets table.

    Returns
    -------
    DataFrame
        ``target_level`` (``product`` / ``category``, label keys), ``target_key``, ``sales_target``,
        ``sales``, ``target_achievement`` = sales / target (NaN for a zero target) and
        ``target_gap`` = sales - target; least achieved first.
    """
    require_columns(targets, [quarter_col, target_col], "targets")
    q = str(Quarter.parse(quarter))
    t = targets[targets[quarter_col].map(lambda v: str(Quarter.parse(v))) == q]
    pid = (
        t[product_col].astype("string")
        if product_col in t.columns
        else pd.Series(pd.NA, index=t.index, dtype="string")
    )
    cat = (
        t[category_col].astype("string")
        if category_col in t.columns
        else pd.Series(pd.NA, index=t.index, dtype="string")
    )
    by_product = product_table.groupby(product_table[product_col].astype("string"))["sales"].sum()
    by_cat = product_table.groupby(product_table[category_col].astype("string"))["sales"].sum()
    is_prod = pid.notna()
    key = pid.where(is_prod, cat)
    sales = np.where(is_prod, pid.map(by_product), cat.map(by_cat))
    out = pd.DataFrame(
        {
            "target_level": np.where(is_prod, "product", "category"),
            "target_key": key.to_numpy(),
            "sales_target": t[target_col].astype("float64").to_numpy(),
            "sales": pd.Series(sales, dtype="float64").fillna(0.0).to_numpy(),
        }
    )
    out = out[out["target_key"].notna()]
    out = out.assign(
        target_achievement=safe_ratio(out["sales"], out["sales_target"]).to_numpy(),
        target_gap=out["sales"] - out["sales_target"],
    )
    return out.sort_values(
        ["target_achievement", "target_key"], na_position="last", kind="stable"
    ).reset_index(drop=True)


def period_sales(
    tx: pd.DataFrame,
    periods: dict,
    catalogue: pd.DataFrame | None = None,
    *,
    unknown_category: str = "",
) -> dict:
    """:func:`product_sales` of each period, e.g. the previous quarter and the same quarter
    last year for the mix shift.

    Parameters
    ----------
    tx : DataFrame
        All transaction lines.
    periods : dict
        Name -> a period with ``start`` and ``end`` (e.g. a :class:`analysis.data.periods.Quarter`).

    Returns
    -------
    dict
        Name -> the period's product table.
    """
    return {
        name: product_sales(
            tx, catalogue, unknown_category=unknown_category, start=p.start, end=p.end
        )
        for name, p in periods.items()
    }
