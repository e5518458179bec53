"""The product and margin sums of pages 02 and 03 over transaction lines, as SQL on DuckDB or Spark.

The pandas functions of :mod:`analysis.products.mix` and :mod:`analysis.products.margin` stay
the reference and hand over at their top (:func:`route`, the rule of
:func:`analysis.engine.windows.engine_for`).  Only the pass over the lines is SQL: one
aggregation per step, rendered for both dialects, with money summed exactly
(:func:`~analysis.engine.windows.exact_sum`).  What follows it runs in pandas on the small
per-key result, with the reference's own rules: the product ids made text (a missing id
becomes ``missing_id``), the catalogue, the classes of customers, the margin rate, the
ranking.  So a line without a product id and a product literally named ``missing_id`` end in
one row on every engine, and lookups (customer -> class, product -> category) keep pandas'
matching.

The one join in SQL is page 02's leanings (customer -> group, a table handed to the engine
beside the lines): the groups of millions of lines are not looked up in pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.engine import aggregate
from analysis.engine.aggregate import fetch_frame, ts_literal
from analysis.engine.windows import SqlLines, engine_for, exact_sum, run_on

__all__ = [
    "route",
    "margin_sums",
    "fold_margins",
    "margin_by_sql",
    "product_margins_sql",
    "class_margins_sql",
    "overall_margin_sql",
    "leaning_groups_fit",
    "leaning_cells_sql",
]

#: the per-key sums of a margin step, in the order :func:`fold_margins` rolls them up
SUM_COLUMNS = ["sales", "cost_of_sales", "gross_profit", "costed_sales", "returns", "sales_lines"]


def _groupable(col: pd.Series) -> bool:
    """Whether SQL groups ``col`` as pandas does: text, integers and booleans (a float key
    would meet NaN against NULL and -0.0 against 0.0; a categorical has its own rules)."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    if isinstance(dtype, pd.StringDtype):
        return True
    if not pd.api.types.is_object_dtype(dtype):
        return False
    return pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty")


def route(tx: pd.DataFrame, keys=(), *, date_col: str = "date") -> str:
    """Where a product or margin step over ``tx`` runs.

    :func:`analysis.engine.windows.engine_for`'s answer, but ``"pandas"`` when SQL cannot take
    these lines the same way: no ``date_col`` (the lines reach the engine with their dates),
    or a grouping key that is not text, integer or boolean.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    keys : iterable of str
        The columns the step groups by.
    date_col : str
        Date column.

    Returns
    -------
    str
        ``"pandas"``, ``"duckdb"`` or ``"spark"``.
    """
    engine = engine_for(tx)
    if engine == "pandas" or date_col not in tx.columns:
        return "pandas"
    if not all(k in tx.columns and _groupable(tx[k]) for k in keys):
        return "pandas"
    return engine


def _where(s: SqlLines, date_col: str, start, end, prefix: str = "") -> str:
    d = prefix + s.q(date_col)
    parts = []
    if start is not None:
        parts.append(f"{d} >= {ts_literal(pd.Timestamp(start))}")
    if end is not None:
        parts.append(f"{d} < {ts_literal(pd.Timestamp(end))}")
    return f"WHERE {' AND '.join(parts)}" if parts else ""


#: the columns every step hands over when the lines have them, beside its own: one column set,
#: so Spark writes one Parquet copy of a frame for all the steps (its copies are per frame and
#: columns), and DuckDB's Arrow hand-over of a further text column costs next to nothing
LINE_COLUMNS = ("customer_id", "product_id", "date", "amount", "cost", "quantity")


def _hand_over(tx: pd.DataFrame, *names) -> list[str]:
    """The step's columns ``names`` and :data:`LINE_COLUMNS` (those not of object dtype, which
    Arrow may not take), in one order."""
    named = {n for n in names if n is not None}
    wanted = [*LINE_COLUMNS, *(n for n in names if n is not None)]
    return [
        c
        for c in dict.fromkeys(wanted)
        if c in tx.columns and (c in named or not pd.api.types.is_object_dtype(tx[c].dtype))
    ]


# ---------------------------------------------------------------- sums per key
def margin_sums(
    engine: str,
    tx: pd.DataFrame,
    keys,
    *,
    amount_col: str = "amount",
    cost_col: str = "cost",
    quantity_col: str | None = None,
    start=None,
    end=None,
    date_col: str = "date",
) -> pd.DataFrame:
    """One SQL pass: the margin sums of the lines in ``[start, end)`` per value of ``keys``.

    Per key, as :func:`analysis.products.margin.margin_by` sums them: ``sales`` (net, 0 when
    no amount), ``cost_of_sales``, ``gross_profit`` (amount - cost of the lines with both),
    ``costed_sales`` (amount of the lines with a cost) — these three NULL, i.e. NaN, when no
    line has one — ``returns`` (absolute sum of negative amounts) and ``sales_lines``; with
    ``quantity_col``, ``quantity`` (NaN when no line has one).  Missing keys form their own
    group.  Money is summed exactly (DECIMAL(38, 10)).

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        The engine.
    tx : DataFrame
        Transaction lines with ``date_col``.
    keys : str or list of str
        Grouping columns.
    amount_col, cost_col, quantity_col : str
        Columns; a missing cost or quantity column gives NaN sums.
    start, end : date-like, optional
        The half-open window (None: every line).
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        The keys with the dtypes of ``tx`` and the sums, one row per key, in no set order.
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    has_cost = cost_col in tx.columns
    has_qty = quantity_col is not None and quantity_col in tx.columns
    columns = _hand_over(tx, *keys, date_col, amount_col, cost_col, quantity_col)

    def run(s: SqlLines) -> pd.DataFrame:
        a = f"CAST({s.q(amount_col)} AS DOUBLE)"
        if has_cost:  # as customer_summary.sql's gross profit: the line's difference, summed
            c = f"CAST({s.q(cost_col)} AS DOUBLE)"
            cost, gp = exact_sum(c), exact_sum(f"{a} - {c}")
            costed = exact_sum(f"CASE WHEN {c} IS NOT NULL THEN {a} END")
        else:
            cost = gp = costed = "CAST(NULL AS DOUBLE)"
        qty = (
            f", {exact_sum(f'CAST({s.q(quantity_col)} AS DOUBLE)')} AS quantity" if has_qty else ""
        )
        named = ", ".join(f"{s.q(k)} AS ccm_k{i}" for i, k in enumerate(keys))
        return s.frame(f"""
            SELECT {named},
                   COALESCE({exact_sum(a)}, 0) AS sales,
                   {cost} AS cost_of_sales,
                   {gp} AS gross_profit,
                   {costed} AS costed_sales,
                   COALESCE({exact_sum(f"CASE WHEN {a} < 0 THEN -{a} END")}, 0) AS returns,
                   COUNT(*) AS sales_lines{qty}
            FROM {s.source}
            {_where(s, date_col, start, end)}
            GROUP BY {", ".join(s.q(k) for k in keys)}
        """)

    raw = run_on(engine, tx, columns, date_col, run)
    out = {k: _as_dtype(raw[f"ccm_k{i}"], tx[k].dtype) for i, k in enumerate(keys)}
    for col in SUM_COLUMNS[:-1] + (["quantity"] if has_qty else []):
        out[col] = raw[col].astype("float64").to_numpy()
    out["sales_lines"] = raw["sales_lines"].astype("int64").to_numpy()
    return pd.DataFrame(out)


def _as_dtype(values: pd.Series, dtype) -> pd.Series:
    """SQL key values back in the lines' dtype (an all-NULL column comes back as object)."""
    if pd.api.types.is_object_dtype(dtype):
        return pd.Series(values.to_numpy(dtype=object), dtype=object)
    return values.astype(dtype).reset_index(drop=True)


def fold_margins(sums: pd.DataFrame, keys) -> pd.DataFrame:
    """Per-key sums (:func:`margin_sums`, or finer ones) to
    :func:`analysis.products.margin.margin_by`'s table for ``keys``.

    The groups are pandas' (``groupby(keys, dropna=False, sort=True)``): same order, same key
    dtypes, and rows whose keys became equal (e.g. a missing product id and ``missing_id``)
    summed into one; ``cost_of_sales``, ``gross_profit`` and the rate stay NaN when no line of
    the group had a cost.

    Parameters
    ----------
    sums : DataFrame
        The keys and :data:`SUM_COLUMNS`.
    keys : str or list of str
        The grouping columns.

    Returns
    -------
    DataFrame
        The keys, sales, cost_of_sales, gross_profit, returns, sales_lines and
        gross_margin_rate.
    """
    from analysis.products.margin import margin_rate

    keys = [keys] if isinstance(keys, str) else list(keys)
    g = sums.groupby(keys, dropna=False, sort=True)
    out = pd.DataFrame(
        {
            "sales": g["sales"].sum(),
            "cost_of_sales": g["cost_of_sales"].sum(min_count=1),
            "gross_profit": g["gross_profit"].sum(min_count=1),
            "costed_sales": g["costed_sales"].sum(min_count=1),
            "returns": g["returns"].sum(),
            "sales_lines": g["sales_lines"].sum().astype("int64"),
        }
    )
    out = out.assign(gross_margin_rate=margin_rate(out["gross_profit"], out["costed_sales"]))
    return out.drop(columns="costed_sales").reset_index()


def margin_by_sql(
    engine: str,
    tx: pd.DataFrame,
    by,
    *,
    amount_col: str = "amount",
    cost_col: str = "cost",
    start=None,
    end=None,
    date_col: str = "date",
) -> pd.DataFrame:
    """:func:`analysis.products.margin.margin_by` of the lines in ``[start, end)``, summed by SQL.

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        The engine.
    tx : DataFrame
        Transaction lines with ``date_col``.
    by : str or list of str
        Grouping column(s); missing keys form their own group.
    amount_col, cost_col : str
        Column names.
    start, end : date-like, optional
        The half-open window.
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        As :func:`analysis.products.margin.margin_by`.
    """
    keys = [by] if isinstance(by, str) else list(by)
    window = dict(start=start, end=end, date_col=date_col)
    sums = margin_sums(engine, tx, keys, amount_col=amount_col, cost_col=cost_col, **window)
    return fold_margins(sums, keys)


def product_margins_sql(
    engine: str,
    tx: pd.DataFrame,
    *,
    product_col: str = "product_id",
    amount_col: str = "amount",
    cost_col: str = "cost",
    quantity_col: str = "quantity",
    missing_id: str = "(none)",
    start=None,
    end=None,
    date_col: str = "date",
) -> pd.DataFrame:
    """Per product: :func:`analysis.products.margin.margin_by` and ``quantity_sold``, the part
    of :func:`analysis.products.mix.product_sales` that reads the lines.

    SQL sums per product id as the lines hold it; pandas then makes the ids text (a missing one
    ``missing_id``) as the reference does, and folds ids that became equal.

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        The engine.
    tx : DataFrame
        Transaction lines with ``date_col``.
    product_col, amount_col, cost_col, quantity_col : str
        Column names (no quantity column: ``quantity_sold`` is NaN).
    missing_id : str
        The product of lines without a product id.
    start, end : date-like, optional
        The half-open window.
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        product id (text), sales, cost_of_sales, gross_profit, returns, sales_lines,
        gross_margin_rate and quantity_sold (float), sorted by product id.
    """
    sums = margin_sums(
        engine,
        tx,
        [product_col],
        amount_col=amount_col,
        cost_col=cost_col,
        quantity_col=quantity_col,
        start=start,
        end=end,
        date_col=date_col,
    )
    # a missing id and a product named missing_id: one row (two sums add alike in any order)
    sums = sums.assign(**{product_col: sums[product_col].astype("string").fillna(missing_id)})
    out = fold_margins(sums, product_col)
    if "quantity" not in sums.columns:
        return out.assign(quantity_sold=float("nan"))
    qty = sums.groupby(product_col)["quantity"].sum(min_count=1).astype("float64")
    return out.assign(quantity_sold=out[product_col].map(qty).astype("float64"))


def class_margins_sql(
    engine: str,
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
    """:func:`analysis.products.margin.class_margins` from SQL sums per customer: the classes are
    looked up per customer (pandas' matching) and the customers' sums added up per class.

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        The engine.
    tx : DataFrame
        Transaction lines with ``date_col``.
    classes : DataFrame
        A class per customer.
    id_col, class_col, amount_col, cost_col : str
        Column names.
    start, end : date-like, optional
        The half-open window.
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        As :func:`analysis.products.margin.class_margins`.
    """
    window = dict(start=start, end=end, date_col=date_col)
    sums = margin_sums(engine, tx, [id_col], amount_col=amount_col, cost_col=cost_col, **window)
    # in id order, not the engine's: the customers' sums then add up per class in one order on
    # every engine (the engines order text and NULLs their own ways, so not in SQL)
    sums = sums.sort_values(id_col, na_position="last", kind="stable", ignore_index=True)
    cls = sums[id_col].map(classes.drop_duplicates(id_col).set_index(id_col)[class_col])
    return fold_margins(sums.assign(**{class_col: cls.to_numpy()}), class_col)


# ---------------------------------------------------------------- one figure
def overall_margin_sql(
    engine: str,
    tx: pd.DataFrame,
    *,
    amount_col: str = "amount",
    cost_col: str = "cost",
    start=None,
    end=None,
    date_col: str = "date",
) -> float:
    """:func:`analysis.products.margin.overall_margin_rate` by one SQL pass: sum(amount - cost) /
    sum(amount) over the lines in ``[start, end)`` that carry a cost.

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        The engine.
    tx : DataFrame
        Transaction lines with ``date_col`` and ``cost_col``.
    amount_col, cost_col : str
        Column names.
    start, end : date-like, optional
        The half-open window.
    date_col : str
        Date column.

    Returns
    -------
    float
        The rate, NaN without positive sales.
    """

    def run(s: SqlLines) -> tuple:
        a, c = f"CAST({s.q(amount_col)} AS DOUBLE)", f"CAST({s.q(cost_col)} AS DOUBLE)"
        return s.row(f"""
            SELECT {exact_sum(f"CASE WHEN {c} IS NOT NULL THEN {a} END")} AS sales,
                   {exact_sum(f"{a} - {c}")} AS gross_profit
            FROM {s.source}
            {_where(s, date_col, start, end)}
        """)

    sales, gp = run_on(engine, tx, _hand_over(tx, date_col, amount_col, cost_col), date_col, run)
    sales = 0.0 if pd.isna(sales) else float(sales)
    gp = 0.0 if pd.isna(gp) else float(gp)
    return gp / sales if sales > 0 else float("nan")


# ---------------------------------------------------------------- page 02's leanings
def _run_with_table(engine, tx, columns, date_col, table: pd.DataFrame, run):
    """``run(s, name)`` as :func:`analysis.engine.windows.run_on`, with ``table`` (small) beside
    the lines as the relation ``name``: DuckDB scans the frame, Spark gets it through Arrow."""
    if engine == "spark":
        import uuid

        import pyarrow as pa

        from analysis.engine import spark

        def spark_run(session, view):
            name = f"ccm_side_{uuid.uuid4().hex[:12]}"
            side = pa.Table.from_pandas(table, preserve_index=False)
            session.createDataFrame(side).createOrReplaceTempView(name)
            try:
                query = lambda sql: spark.sql_frame(session, sql)  # noqa: E731
                return run(SqlLines("spark", view, query, session.sql), name)
            finally:
                session.catalog.dropTempView(name)

        return spark.on_spark_lines(tx, columns, date_col, spark_run)
    if engine != "duckdb":
        raise ValueError(f"unknown SQL engine {engine!r}; expected duckdb or spark")

    def duckdb_run(con):
        side = table
        if aggregate.arrow_available():
            import pyarrow as pa

            side = pa.Table.from_pandas(table, preserve_index=False)
        con.register("ccm_side", side)
        query = lambda sql: fetch_frame(con.sql(sql))  # noqa: E731
        # only compared with the window's bounds (exact on TIMESTAMP_NS): no day taken
        return run(SqlLines("duckdb", "ccm_tx", query, con.execute), "ccm_side")

    return aggregate.on_lines(tx, columns, duckdb_run)


def leaning_groups_fit(tx: pd.DataFrame, groups: pd.DataFrame, *, id_col: str) -> bool:
    """Whether SQL's join of ``groups`` on ``id_col`` matches pandas' lookup: ids of one kind
    (the same dtype, or text on both sides) and none missing in ``groups`` (pandas matches a
    missing id to a missing one, a SQL join never).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    groups : DataFrame
        customer -> group.
    id_col : str
        Customer id column.

    Returns
    -------
    bool
    """
    ids, lines = groups[id_col], tx[id_col]
    if ids.isna().any() or not _groupable(lines):
        return False
    text = pd.api.types.is_string_dtype(ids) and pd.api.types.is_string_dtype(lines)
    return ids.dtype == lines.dtype or text


def leaning_cells_sql(
    engine: str,
    tx: pd.DataFrame,
    groups: pd.Series,
    cat_map: pd.Series,
    *,
    id_col: str = "customer_id",
    product_col: str = "product_id",
    amount_col: str = "amount",
    unknown_category: str = "unknown",
    missing_id: str = "(none)",
    unassigned: str = "–",
    start=None,
    end=None,
    date_col: str = "date",
) -> pd.Series:
    """The sales per (group, category) cell of :func:`analysis.products.mix.category_leanings`.

    SQL joins each line's customer to its group (``groups``, handed to the engine as a table of
    group numbers) and sums per group and product id; pandas then maps the product ids (made
    text, a missing one ``missing_id``) to categories and adds the products up per category.

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        The engine.
    tx : DataFrame
        Transaction lines with ``date_col``.
    groups : Series
        Group per customer id (unique ids, none missing: :func:`leaning_groups_fit`).
    cat_map : Series
        Category per product id (text).
    id_col, product_col, amount_col : str
        Column names.
    unknown_category, missing_id, unassigned : str
        As in :func:`analysis.products.mix.category_leanings`.
    start, end : date-like, optional
        The half-open window.
    date_col : str
        Date column.

    Returns
    -------
    Series
        ``sales`` indexed by (group, category), sorted.
    """
    labels = groups.dropna()
    codes, names = pd.factorize(labels, sort=False)
    table = pd.DataFrame(
        {
            "ccm_id": pd.Series(labels.index, dtype=tx[id_col].dtype).to_numpy(),
            "ccm_group": codes.astype("int64"),
        }
    )
    columns = _hand_over(tx, id_col, product_col, date_col, amount_col)

    def run(s: SqlLines, side: str) -> pd.DataFrame:
        a = f"CAST(t.{s.q(amount_col)} AS DOUBLE)"
        return s.frame(f"""
            SELECT g.ccm_group AS ccm_group, t.{s.q(product_col)} AS ccm_product,
                   COALESCE({exact_sum(a)}, 0) AS sales
            FROM {s.source} AS t LEFT JOIN {side} AS g ON t.{s.q(id_col)} = g.ccm_id
            {_where(s, date_col, start, end, prefix="t.")}
            GROUP BY g.ccm_group, t.{s.q(product_col)}
        """)

    raw = _run_with_table(engine, tx, columns, date_col, table, run)
    raw = raw.sort_values(["ccm_group", "ccm_product"], na_position="last", ignore_index=True)
    code = raw["ccm_group"]
    known = code.notna().to_numpy()
    group = np.full(len(raw), unassigned, dtype=object)  # no group: the reference's fillna
    group[known] = np.asarray(names, dtype=object)[code[known].astype("int64").to_numpy()]
    pid = _as_dtype(raw["ccm_product"], tx[product_col].dtype).astype("string").fillna(missing_id)
    work = pd.DataFrame(
        {
            "group": group,
            "category": pid.map(cat_map).astype("object").fillna(unknown_category).to_numpy(),
            "sales": raw["sales"].astype("float64").to_numpy(),
        }
    )
    return work.groupby(["group", "category"], sort=True)["sales"].sum()
