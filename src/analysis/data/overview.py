"""The data overview (page 00): what was loaded, monthly sales, data quality, headline KPIs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.data.lookup import is_in
from analysis.data.periods import Quarter, between


def tables_loaded(tables: dict[str, pd.DataFrame], sources: dict) -> pd.DataFrame:
    """One row per loaded table: file, rows, and the date range where the table has dates.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The loaded tables.
    sources : dict
        Table -> file.

    Returns
    -------
    DataFrame
        table, file, rows and the date range.
    """
    rows = []
    for name, df in tables.items():
        date_col = next((c for c in ("date", "invoice_date") if c in df.columns), None)
        rows.append(
            {
                "table": name,
                "file": getattr(sources.get(name), "name", ""),
                "rows": len(df),
                "first_date": df[date_col].min() if date_col else pd.NaT,
                "last_date": df[date_col].max() if date_col else pd.NaT,
            }
        )
    return pd.DataFrame(rows)


def order_keys(tx: pd.DataFrame) -> pd.Series:
    """Order identity: order_id when given, else one order per customer and day.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.

    Returns
    -------
    Series
        An order key per line.
    """
    if "order_id" in tx.columns and tx["order_id"].notna().all():
        return tx["order_id"].astype("string")
    return tx["customer_id"].astype("string") + "|" + tx["date"].dt.strftime("%Y-%m-%d")


def order_count(tx: pd.DataFrame) -> int:
    """How many orders the lines make (:func:`order_keys`), counted without building the keys.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.

    Returns
    -------
    int
        Distinct order ids when every line has one, else distinct (customer, day) pairs.
    """
    if len(tx) == 0:
        return 0
    if "order_id" in tx.columns and tx["order_id"].notna().all():
        return int(tx["order_id"].nunique())
    codes, _ = pd.factorize(tx["customer_id"], use_na_sentinel=False)
    day = tx["date"].to_numpy().astype("datetime64[D]").astype("int64")
    key = codes.astype("int64") * (int(day.max() - day.min()) + 1) + (day - day.min())
    return int(pd.unique(key).size)


def duplicated_lines(tx: pd.DataFrame) -> np.ndarray:
    """Which lines repeat an earlier line exactly (``DataFrame.duplicated(keep="first")``).

    Rows are hashed first; only rows whose hash occurs more than once are compared in full,
    so the answer is exact and millions of lines take a fraction of the full comparison.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.

    Returns
    -------
    ndarray of bool
        One flag per line, in order.
    """
    out = np.zeros(len(tx), dtype=bool)
    if len(tx) == 0:
        return out
    maybe = np.flatnonzero(pd.util.hash_pandas_object(tx, index=False).duplicated(keep=False))
    if len(maybe):
        out[maybe] = tx.iloc[maybe].duplicated(keep="first").to_numpy()
    return out


def _counts_engine(tx: pd.DataFrame) -> str:
    """Where page 00's counts run: SQL on the engine of engine.windows.engine_for when every line
    has a customer id (SQL's COUNT(DISTINCT) leaves a missing id out, pandas' rules count it),
    else "pandas"."""
    from analysis.engine.windows import engine_for

    engine = engine_for(tx)
    if engine != "pandas" and tx["customer_id"].isna().any():
        return "pandas"
    return engine


def entity_counts(tx: pd.DataFrame) -> dict[str, int]:
    """Customers, products and orders in the transactions.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.

    Returns
    -------
    dict of str to int
        ``customers``, ``products`` (0 without product ids) and ``orders``.
    """
    from analysis.engine import windows

    engine = _counts_engine(tx)
    if engine != "pandas":
        step = windows.entity_counts_spark if engine == "spark" else windows.entity_counts_duckdb
        return step(tx)
    return {
        "customers": int(tx["customer_id"].nunique()),
        "products": int(tx["product_id"].nunique()) if "product_id" in tx.columns else 0,
        "orders": order_count(tx),
    }


def monthly_sales(tx: pd.DataFrame) -> pd.DataFrame:
    """Sales, gross profit and gross margin rate per calendar month (months without sales included).

    The per-month sums run as SQL on DuckDB or Spark where
    :func:`analysis.engine.overview_sql.step_engine` says (the same frame).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.

    Returns
    -------
    DataFrame
        month, sales, gross_profit and gross_margin_rate.
    """
    from analysis.engine import overview_sql

    engine = overview_sql.step_engine(tx)
    if engine != "pandas":  # the per-month sums in SQL, the months filled in here
        out = overview_sql.month_totals(tx, engine=engine)
    else:
        month = tx["date"].dt.to_period("M")
        gp = tx["amount"] - tx["cost"] if "cost" in tx.columns else np.nan
        lines = pd.DataFrame({"month": month, "sales": tx["amount"], "gross_profit": gp})
        g = lines.groupby("month")
        out = pd.DataFrame(
            {"sales": g["sales"].sum(), "gross_profit": g["gross_profit"].sum(min_count=1)}
        )
    full = pd.period_range(out.index.min(), out.index.max(), freq="M")
    out = out.reindex(full, fill_value=0.0)
    out.index.name = "month"
    out["gross_margin_rate"] = (out["gross_profit"] / out["sales"]).where(out["sales"] > 0)
    return out.reset_index()


def quality_findings(
    tx: pd.DataFrame,
    products: pd.DataFrame | None = None,
    *,
    inventory: pd.DataFrame | None = None,
    outlier_factor: float = 10.0,
) -> pd.DataFrame:
    """Data-quality findings: duplicates, returns, zero lines, gaps, outliers, unknown products, negative stock.

    An outlier is a line whose amount exceeds ``outlier_factor`` times the 99th
    percentile of positive amounts: a typing error (an extra zero) more often
    than a real order. Negative stock (负库存: goods shipped before their
    receipt was booked) is a valid ERP state but makes the average inventory and
    the turnover of page 03 wrong, so it is counted with its total value.

    The line counts and sums run as SQL on DuckDB or Spark where
    :func:`analysis.engine.overview_sql.step_engine` says (the same findings; negative stock,
    over the small inventory table, stays in pandas).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    products : DataFrame, optional
        The products table.
    inventory : DataFrame, optional
        The inventory table.
    outlier_factor : float
        Multiple of the 99th percentile beyond which a line is an outlier.

    Returns
    -------
    DataFrame
        finding, count and amount.
    """
    from analysis.engine import overview_sql

    with_products = products is not None and "product_id" in tx.columns
    engine = overview_sql.step_engine(tx, every_column=True)
    if engine != "pandas":  # the line counts and sums in SQL
        lines = overview_sql.line_findings(
            tx,
            products["product_id"] if with_products else None,
            outlier_factor=outlier_factor,
            engine=engine,
        )
    else:
        dup = duplicated_lines(tx)
        ret = tx["amount"] < 0
        pos = tx.loc[tx["amount"] > 0, "amount"]
        limit = pos.quantile(0.99) * outlier_factor if len(pos) else np.inf
        out = tx["amount"] > limit
        lines = {
            "duplicate_lines": (int(dup.sum()), float(tx.loc[dup, "amount"].sum())),
            "return_lines": (int(ret.sum()), float(tx.loc[ret, "amount"].sum())),
            "zero_amount_lines": (int((tx["amount"] == 0).sum()), 0.0),
            "outlier_lines": (int(out.sum()), float(tx.loc[out, "amount"].sum())),
        }
        if with_products:
            unknown = tx["product_id"].notna() & ~is_in(tx["product_id"], products["product_id"])
            lines["unknown_products"] = (int(unknown.sum()), float(tx.loc[unknown, "amount"].sum()))
    months = monthly_sales(tx)
    findings = [
        ("duplicate_lines", *lines["duplicate_lines"]),
        ("return_lines", *lines["return_lines"]),
        ("zero_amount_lines", *lines["zero_amount_lines"]),
        ("months_without_sales", int((months["sales"] == 0).sum()), 0.0),
        ("outlier_lines", *lines["outlier_lines"]),
    ]
    if with_products:
        findings.append(("unknown_products", *lines["unknown_products"]))
    if inventory is not None and "stock_value" in inventory.columns:
        negative = inventory["stock_value"] < 0
        findings.append(
            (
                "negative_stock",
                int(negative.sum()),
                float(inventory.loc[negative, "stock_value"].sum()),
            )
        )
    return pd.DataFrame(findings, columns=["finding", "count", "amount"])


def period_kpis(
    tx: pd.DataFrame, start, end, *, first_seen: pd.Series | None = None
) -> dict[str, float]:
    """Headline KPIs of the transactions in ``[start, end)``.

    A new customer buys in the window and has no line (of any kind) before it.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    start, end : date-like
        The half-open window.
    first_seen : Series, optional
        Each customer's first line date (``tx.groupby("customer_id")["date"].min()``), when
        the caller has it already.

    Returns
    -------
    dict of str to float
        sales, gross_profit, gross_margin_rate, active_customers, new_customers, orders,
        avg_order_value and returns.
    """
    cur = between(tx, start, end)
    if first_seen is None:
        first_seen = tx.groupby("customer_id", observed=True, sort=False)["date"].min()
    active = pd.unique(cur.loc[cur["amount"] > 0, "customer_id"])
    return kpi_values(
        {
            "sales": float(cur["amount"].sum()),
            "gross_profit": (
                float((cur["amount"] - cur["cost"]).sum()) if "cost" in cur.columns else np.nan
            ),
            "active_customers": len(active),
            "new_customers": int((first_seen.reindex(active) >= pd.Timestamp(start)).sum()),
            "orders": order_count(cur),
            "returns": float(-cur.loc[cur["amount"] < 0, "amount"].sum()),
        }
    )


def kpi_values(totals: dict[str, float]) -> dict[str, float]:
    """A window's KPIs from its totals: the gross margin rate and the average order value
    added (NaN without sales or orders), in the order of the KPI table.

    Parameters
    ----------
    totals : dict
        sales, gross_profit, active_customers, new_customers, orders and returns.

    Returns
    -------
    dict of str to float
        sales, gross_profit, gross_margin_rate, active_customers, new_customers, orders,
        avg_order_value and returns.
    """
    sales, gp, orders = totals["sales"], totals["gross_profit"], totals["orders"]
    return {
        "sales": sales,
        "gross_profit": gp,
        "gross_margin_rate": gp / sales if sales > 0 else np.nan,
        "active_customers": totals["active_customers"],
        "new_customers": totals["new_customers"],
        "orders": orders,
        "avg_order_value": sales / orders if orders else np.nan,
        "returns": totals["returns"],
    }


def quarter_kpis(tx: pd.DataFrame, quarter: Quarter | str) -> pd.DataFrame:
    """KPIs of the quarter beside the previous quarter and the same quarter last year, with changes.

    Changes are relative (``this / other - 1``) except for rates, whose change is
    the difference in percentage points; a change against zero is NaN.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    quarter : Quarter or str
        The quarter.

    Returns
    -------
    DataFrame
        One row per KPI: this quarter, the previous, last year's and the changes.
    """
    q = Quarter.parse(quarter)
    cols = {
        "this_quarter": q,
        "previous_quarter": q.previous(),
        "same_quarter_last_year": q.same_quarter_last_year(),
    }
    from analysis.engine import windows

    engine = _counts_engine(tx)
    if engine != "pandas":
        step = windows.period_totals_spark if engine == "spark" else windows.period_totals_duckdb
        totals = step(tx, {n: (p.start, p.end) for n, p in cols.items()})
        table = pd.DataFrame({n: kpi_values(t) for n, t in totals.items()})
    else:
        first_seen = tx.groupby("customer_id", observed=True, sort=False)["date"].min()
        table = pd.DataFrame(
            {n: period_kpis(tx, p.start, p.end, first_seen=first_seen) for n, p in cols.items()}
        )
    this, prev, ly = (
        table["this_quarter"],
        table["previous_quarter"],
        table["same_quarter_last_year"],
    )
    is_rate = table.index == "gross_margin_rate"

    def change(other):
        rel = this / other.where(other != 0) - 1
        return rel.where(~is_rate, this - other)

    table["change_vs_previous"] = change(prev)
    table["change_vs_last_year"] = change(ly)
    table.index.name = "kpi"
    return table.reset_index()


def kpi_display(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The KPI table as formatted text (money, counts and rates each in their own format).

    Parameters
    ----------
    table : DataFrame
        From :func:`quarter_kpis`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        The same table as text, headers in ``lang``.
    """
    from analysis.viz.labels import label
    from analysis.viz.style import fmt_cny, fmt_int, fmt_pct

    money = {"sales", "gross_profit", "avg_order_value", "returns"}
    rates = {"gross_margin_rate"}
    rows = []
    for _, r in table.iterrows():
        f = fmt_cny if r["kpi"] in money else fmt_pct if r["kpi"] in rates else fmt_int
        ch = (
            (lambda v: "–" if pd.isna(v) else f"{v * 100:+.1f} pt")
            if r["kpi"] in rates
            else (lambda v: "–" if pd.isna(v) else f"{v * 100:+.1f}%")
        )
        rows.append(
            {
                "kpi": label(r["kpi"], lang),
                "this_quarter": f(r["this_quarter"]),
                "previous_quarter": f(r["previous_quarter"]),
                "same_quarter_last_year": f(r["same_quarter_last_year"]),
                "change_vs_previous": ch(r["change_vs_previous"]),
                "change_vs_last_year": ch(r["change_vs_last_year"]),
            }
        )
    return pd.DataFrame(rows)


def plot_monthly(monthly: pd.DataFrame, *, lang: str = "zh", ax=None):
    """Monthly sales as bars with the gross margin rate as a line (when cost is known).

    Parameters
    ----------
    monthly : DataFrame
        From :func:`monthly_sales`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    from analysis.viz.labels import label
    from analysis.viz.style import bar_line

    has_margin = monthly["gross_margin_rate"].notna().any()
    return bar_line(
        monthly["month"].astype(str),
        monthly["sales"],
        monthly["gross_margin_rate"] if has_margin else None,
        bar_label=f"{label('sales', lang)} ({label('cny', lang)})",
        line_label=label("gross_margin_rate", lang),
        title=label("monthly_sales_title", lang),
        ax=ax,
    )


def headline(kpis: pd.DataFrame, counts: dict, tables) -> dict:
    """Page 00's headline numbers for summary.json.

    Parameters
    ----------
    kpis : DataFrame
        From :func:`quarter_kpis`.
    counts : dict
        From :func:`entity_counts`.
    tables : iterable of str
        The names of the tables loaded.

    Returns
    -------
    dict
        This quarter's sales, gross margin rate, active and new customers and orders, the sales
        change against the previous quarter, the tables (sorted), the customers and products of
        all the data (the counts; their all-data orders would hide the quarter's), and ``kpis``:
        each KPI's value this quarter, the previous quarter and the same quarter last year (for
        the index's highlights).
    """
    k = kpis.set_index("kpi")
    now = k["this_quarter"]
    periods = ["this_quarter", "previous_quarter", "same_quarter_last_year"]
    return {
        "sales": now["sales"],
        "gross_margin_rate": now["gross_margin_rate"],
        "active_customers": int(now["active_customers"]),
        "new_customers": int(now["new_customers"]),
        "orders": int(now["orders"]),
        "sales_change_vs_previous": k.loc["sales", "change_vs_previous"],
        "tables": sorted(tables),
        **{key: v for key, v in counts.items() if key != "orders"},
        "kpis": {
            kpi: {p: None if pd.isna(v) else float(v) for p, v in row.items()}
            for kpi, row in k[periods].iterrows()
        },
    }
