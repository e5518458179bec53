"""Share of wallet: our sales as a share of the customer's total purchases (《如何做好客户分类管理》).

The course's 客户与本公司的交易业绩分析: (1) 掌握各客户的月交易额或年交易额 — found by 直接询问客户; 通过查询得知;
由本公司销售推算; 取得对方的决算书; 询问其他机构 — … (4) 检查其比重是否达到本公司所期望的水平; and its
screening's fifth ground, 合作性: 客户对产品的购买率、回款情况.  The optional ``total_purchases``
column of ``customers`` holds the customer's yearly purchases of such goods from all suppliers (an
estimate, one figure per customer).  Here:

- ``share_of_wallet`` = our net sales of the last 12 months ÷ ``total_purchases``;
- ``share_prev`` = our sales of the 12 months before ÷ the same total (one estimate is all the
  data hold, so the change is our sales' change against an unchanged total: the project's choice);
- ``share_change`` = share_of_wallet − share_prev (in points of share); ``headroom`` = total − our sales
  (what the customer buys elsewhere, not below 0); ``over_total`` flags a total below our own
  sales (an estimate to check).

The share feeds the cooperation ground of the annual screening (:func:`analysis.classify.screening.annual_screening`,
``cooperation_col``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.accounts._common import unique_ids
from analysis.data.validation import require_columns

__all__ = [
    "share_of_wallet",
    "wallet_summary",
    "wallet_opportunities",
    "OPPORTUNITY_COLUMNS",
    "cooperation_decisions",
    "wallet_record",
]

#: the columns of the wallet opportunities a page shows
OPPORTUNITY_COLUMNS = (
    "customer_id",
    "name",
    "total_purchases",
    "sales",
    "share_of_wallet",
    "share_change",
    "headroom",
)


def share_of_wallet(
    base: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    total_col: str = "total_purchases",
    sales_col: str = "monetary",
    prev_col: str = "monetary_prev_12m",
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """One row per customer of ``base`` whose total purchases are known and positive.

    Parameters
    ----------
    base : DataFrame
        Customers with sales of the 12 months and the 12 before.
    customers : DataFrame
        The customers table with ``total_col``.
    total_col : str
        The customer's total purchases (from every supplier).
    sales_col : str
        Sales column.
    prev_col : str
        Sales of the 12 months before.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        customer_id, total_purchases, sales (``sales_col``), sales_prev, share_of_wallet, share_prev,
        share_change, headroom, over_total (see the module doc).
    """
    require_columns(base, [id_col, sales_col, prev_col], "the customer base")
    require_columns(customers, [id_col, total_col], "customers")
    unique_ids(customers, id_col, "customers")
    total = base[id_col].map(customers.set_index(id_col)[total_col]).astype("float64")
    known = total > 0
    b, t = base[known], total[known]
    sales, prev = b[sales_col].astype("float64"), b[prev_col].astype("float64")
    share = sales / t
    return pd.DataFrame(
        {
            id_col: b[id_col].to_numpy(),
            "total_purchases": t.to_numpy(),
            "sales": sales.to_numpy(),
            "sales_prev": prev.to_numpy(),
            "share_of_wallet": share.to_numpy(),
            "share_prev": (prev / t).to_numpy(),
            "share_change": (share - prev / t).to_numpy(),
            "headroom": (t - sales).clip(lower=0).to_numpy(),
            "over_total": (sales > t).to_numpy(),
        }
    )


def wallet_summary(
    wallet: pd.DataFrame,
    classes: pd.DataFrame,
    *,
    class_col: str = "abc_class",
    order: Sequence[str] | None = None,
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Per class (and ``all``): customers with a known total, our sales, their total purchases,
    the pooled share (sales ÷ total), the pooled share a year before, its change and the headroom.

    Parameters
    ----------
    wallet : DataFrame
        From :func:`share_of_wallet`.
    classes : DataFrame
        A class per customer.
    class_col : str
        Class column.
    order : sequence of str, optional
        The classes, in the order of the rows.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        Per class and ``all``: customers, sales, total_purchases, share_of_wallet, share_prev,
        share_change and headroom.
    """
    require_columns(
        wallet,
        [id_col, "total_purchases", "sales", "sales_prev", "headroom"],
        "the share of wallet",
    )
    require_columns(classes, [id_col, class_col], "the customer classes")
    w = wallet.merge(classes[[id_col, class_col]], on=id_col, how="left")
    keys = list(order) if order is not None else sorted(w[class_col].dropna().unique())
    g = w.groupby(class_col)
    out = pd.DataFrame({class_col: keys})
    for col, src in (
        ("customers", None),
        ("sales", "sales"),
        ("sales_prev", "sales_prev"),
        ("total_purchases", "total_purchases"),
        ("headroom", "headroom"),
    ):
        vals = g.size() if src is None else g[src].sum()
        out[col] = out[class_col].map(vals).fillna(0)
    out = pd.concat(
        [
            out,
            pd.DataFrame(
                {
                    class_col: ["all"],
                    "customers": [len(w)],
                    "sales": [w["sales"].sum()],
                    "sales_prev": [w["sales_prev"].sum()],
                    "total_purchases": [w["total_purchases"].sum()],
                    "headroom": [w["headroom"].sum()],
                }
            ),
        ],
        ignore_index=True,
    )
    tot = out["total_purchases"].where(out["total_purchases"] > 0)
    out = out.assign(
        customers=out["customers"].astype("int64"),
        share_of_wallet=out["sales"] / tot,
        share_prev=out["sales_prev"] / tot,
    )
    out["share_change"] = out["share_of_wallet"] - out["share_prev"]
    return out[
        [
            class_col,
            "customers",
            "sales",
            "total_purchases",
            "share_of_wallet",
            "share_prev",
            "share_change",
            "headroom",
        ]
    ]


def wallet_opportunities(
    wallet: pd.DataFrame, *, max_share: float = 0.3, top_n: int = 20
) -> pd.DataFrame:
    """Customers of whose purchases we hold less than ``max_share``, by headroom, largest first
    (the largest business still bought elsewhere).

    Parameters
    ----------
    wallet : DataFrame
        From :func:`share_of_wallet`.
    max_share : float
        Share below which a customer is listed.
    top_n : int
        Rows kept.

    Returns
    -------
    DataFrame
        Those customers by headroom, largest first.
    """
    require_columns(wallet, ["share_of_wallet", "headroom"], "the share of wallet")
    low = wallet[wallet["share_of_wallet"] < max_share]
    return (
        low.sort_values("headroom", ascending=False, kind="stable")
        .head(top_n)
        .reset_index(drop=True)
    )


def cooperation_decisions(
    classes: pd.DataFrame, *, cooperation_col: str = "cooperation", decision_col: str = "decision"
) -> pd.DataFrame:
    """Customers by cooperation (the screening's ground: share of wallet high or low) and by the
    screening's decision.

    Parameters
    ----------
    classes : DataFrame
        One row per customer with both columns (e.g.
        :func:`analysis.accounts.classes.account_classes`).

    Returns
    -------
    DataFrame
        ``cooperation``, ``decision`` and ``customers``, one row per pair that occurs, sorted;
        customers missing either are left out.
    """
    require_columns(classes, [cooperation_col, decision_col], "the customer classes")
    counts = classes.groupby([cooperation_col, decision_col]).size()
    return counts.rename("customers").reset_index()


def wallet_record(wallet: pd.DataFrame) -> dict:
    """Headline numbers: customers with a known total, pooled share now and a year before, totals below our sales.

    Parameters
    ----------
    wallet : DataFrame
        From :func:`share_of_wallet`.

    Returns
    -------
    dict
        customers_with_total, share_of_wallet and share_of_wallet_prev (pooled), over_total
        (customers whose stated total is below our sales).
    """
    t = float(wallet["total_purchases"].sum())

    def pooled(col):
        return round(float(wallet[col].sum()) / t, 4) if t > 0 else None

    return {
        "customers_with_total": int(len(wallet)),
        "share_of_wallet": pooled("sales"),
        "share_of_wallet_prev": pooled("sales_prev"),
        "over_total": int(wallet["over_total"].sum()),
    }
