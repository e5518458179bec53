"""The data contract: canonical tables, their columns and types, in one place.

Every other module refers to column names through this file (``TX`` etc.) so
that a renamed column is changed once.  ``docs/data-format.md`` documents it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column types understood by validation.
ID, DATE, NUMBER, TEXT = "id", "date", "number", "text"


@dataclass(frozen=True)
class TableSpec:
    """The data contract of one input table.

    Attributes
    ----------
    name : str
        The canonical table name.
    required, optional : dict of str to str
        Column -> kind (``id``, ``date``, ``number``, ``text`` ...).
    key : tuple of str
        Columns that identify a row (empty: no uniqueness rule).
    description : str
        What the table holds.
    """

    name: str
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    key: tuple[str, ...] = ()  # unique key; empty = no uniqueness rule
    description: str = ""

    @property
    def columns(self) -> dict[str, str]:
        return {**self.required, **self.optional}


TABLES: dict[str, TableSpec] = {
    "transactions": TableSpec(
        "transactions",
        required={"customer_id": ID, "date": DATE, "amount": NUMBER},
        optional={"order_id": ID, "product_id": ID, "quantity": NUMBER, "cost": NUMBER},
        description="one row per sales line; amount is net sales, negative for returns",
    ),
    "customers": TableSpec(
        "customers",
        required={"customer_id": ID},
        optional={
            "name": TEXT,
            "channel": TEXT,
            "region": TEXT,
            "industry": TEXT,
            "credit_limit": NUMBER,
            "tags": TEXT,
            "since": DATE,
            "monthly_fee": NUMBER,
            "salesperson": TEXT,
            "route": TEXT,
            "total_purchases": NUMBER,
        },
        key=("customer_id",),
        description="one row per customer",
    ),
    "products": TableSpec(
        "products",
        required={"product_id": ID},
        optional={"name": TEXT, "category": TEXT, "unit_cost": NUMBER, "unit_price": NUMBER},
        key=("product_id",),
        description="one row per product",
    ),
    "inventory": TableSpec(
        "inventory",
        required={"date": DATE, "product_id": ID, "stock_value": NUMBER},
        key=("date", "product_id"),
        description="stock snapshots at cost, one row per product and snapshot date",
    ),
    "receivables": TableSpec(
        "receivables",
        required={"customer_id": ID, "invoice_date": DATE, "amount": NUMBER},
        optional={"invoice_id": ID, "due_date": DATE, "paid_date": DATE, "paid_amount": NUMBER},
        key=("invoice_id",),
        description="one row per invoice; paid_date empty while unpaid",
    ),
    "interactions": TableSpec(
        "interactions",
        required={"customer_id": ID, "date": DATE, "kind": TEXT},
        optional={"note": TEXT},
        description="complaints, praise, suggestions, visits, tasks",
    ),
    "targets": TableSpec(
        "targets",
        required={"quarter": TEXT, "target": NUMBER},
        optional={"product_id": ID, "category": TEXT},
        description="sales targets per product or category and quarter",
    ),
}

INTERACTION_KINDS = ("complaint", "praise", "suggestion", "visit", "task")
# Chinese words for the kinds, read as the canonical kind (case and spaces are ignored too).
INTERACTION_KIND_ALIASES: dict[str, str] = {
    "投诉": "complaint",
    "抱怨": "complaint",
    "表扬": "praise",
    "好评": "praise",
    "建议": "suggestion",
    "拜访": "visit",
    "走访": "visit",
    "回访": "visit",
    "任务": "task",
}
# Text columns with a closed vocabulary: (table, column) -> (allowed values, aliases).
VOCABULARIES: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, str]]] = {
    ("interactions", "kind"): (INTERACTION_KINDS, INTERACTION_KIND_ALIASES),
}

# Plausible dates (docs/data-format.md, "Dates").  An ERP export before 1990 is
# not plausible in this domain, so an earlier date is a typo (0202 for 2020);
# a customer relationship may be older than the ERP.
EARLIEST_DATE = "1990-01-01"
EARLIEST_DATE_BY_COLUMN: dict[str, str] = {"since": "1950-01-01"}
# A date may lie this many days after the run date: an export made in China
# (UTC+8) is a day ahead of a machine on UTC until 08:00.
FUTURE_TOLERANCE_DAYS = 1
# Planned dates may lie in the future, up to this many years ahead.
PLANNED_DATE_YEARS: dict[str, int] = {"due_date": 10}
# A money amount or quantity beyond this is a typing or export error (and sums
# of such values lose every cent: float64 holds 15-16 significant digits).
MAX_ABS_NUMBER = 1e15

# Headers that are recognised without a columns.yaml (common Chinese and English
# spellings in ERP exports).  columns.yaml entries take precedence.
HEADER_ALIASES: dict[str, str] = {
    "客户编号": "customer_id",
    "客户id": "customer_id",
    "客户代码": "customer_id",
    "customer": "customer_id",
    "customerid": "customer_id",
    "cust_id": "customer_id",
    "日期": "date",
    "交易日期": "date",
    "销售日期": "date",
    "订单日期": "date",
    "金额": "amount",
    "销售额": "amount",
    "销售金额": "amount",
    "sales": "amount",
    "订单号": "order_id",
    "单号": "order_id",
    "商品编号": "product_id",
    "产品编号": "product_id",
    "数量": "quantity",
    "成本": "cost",
    "销售成本": "cost",
    "客户名称": "name",
    "名称": "name",
    "渠道": "channel",
    "客户类型": "channel",
    "地区": "region",
    "区域": "region",
    "行业": "industry",
    "信用额度": "credit_limit",
    "标签": "tags",
    "类别": "category",
    "品类": "category",
    "单位成本": "unit_cost",
    "库存金额": "stock_value",
    "发票日期": "invoice_date",
    "到期日": "due_date",
    "回款日期": "paid_date",
    "回款金额": "paid_amount",
    "发票号": "invoice_id",
    "类型": "kind",
    "业务员": "salesperson",
    "销售员": "salesperson",
    "线路": "route",
    "采购总额": "total_purchases",
}
