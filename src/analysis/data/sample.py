"""The sample company: a deterministic Chinese pharmaceutical distributor.

Modelled on DOMAIN.md's worked case 3 ("MM"): about 450 customers of six channel
types, about 40M CNY sales a year of which the top 100 customers bring about 83%,
receivables of about 10M CNY at the end.  :func:`generate` builds every table of
the data contract in memory (pure, seeded); :func:`write_sample` writes them
(``ccm sample``).  A small ``n_customers`` (e.g. 40) gives a tiny but complete
dataset for tests in well under a second.

Behaviour built into the data, so that the notebooks have something to find:

- heavy-tailed customer sizes by channel, a winter peak (and a Spring Festival
  dip), gift-season peaks for health products, 2% yearly growth;
- categories with different gross margins; big customers get small discounts;
- customers who leave: their order frequency falls over the last six months and
  their complaints rise; new customers arrive and ramp up;
- returns (about 1.5% of sales) as negative lines with their own ``RT`` order ids;
- a few customers with a temporary dip in orders who come back (false alarms);
- monthly invoices (one per customer and month of positive net sales) with
  30/45/60-day terms by size class C/B/A and 90 days for hospitals; prompt,
  normal and slow payers; some leavers never pay their last invoices; invoices
  not paid by ``end`` have no ``paid_date``;
- month-end inventory at cost (a few snapshots missing), plus an opening one;
- customers' owner (业务员, six reps by territory; three large customers and a few others
  without one), route (线路) within the region and total yearly purchases from all
  suppliers (采购总额, for the share of wallet), drawn last from their own generator so
  that every other column and table is the same as without them.

Outstanding receivables are ``amount - paid_amount`` (``paid_amount`` is 0 for an
unpaid invoice and below ``amount`` for a few short-paid ones).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "generate",
    "write_sample",
    "CHANNELS",
    "CATEGORIES",
    "TAGS",
    "SALES_PER_CUSTOMER",
    "SALESPEOPLE",
]

REFERENCE_CUSTOMERS = 450
SALES_PER_CUSTOMER = 40_500_000 / REFERENCE_CUSTOMERS  # CNY a year: 40.5M for 450 customers
_SIZE_SIGMA = 1.45  # log-sd of customer size; calibrated for a top-100 share near 83%
_GROWTH = 0.02  # company-wide yearly growth of demand
_DECAY_MONTHS = 6  # months of falling frequency before a customer leaves

# channel: (share of customers, log-size offset, {industry: weight})
CHANNELS: dict[str, tuple[float, float, dict[str, float]]] = {
    "批发商": (0.09, 1.3, {"医药商业": 1.0}),
    "代理商": (0.08, 0.9, {"医药商业": 0.8, "器械保健": 0.2}),
    "连锁店": (0.12, 1.1, {"连锁药店": 1.0}),
    "特约店": (0.16, 0.2, {"医院": 0.45, "诊所": 0.55}),
    "零售商": (0.38, -0.3, {"药店": 0.75, "诊所": 0.25}),
    "专营店": (0.17, -0.4, {"器械保健": 0.7, "药店": 0.3}),
}
_INDUSTRY_SIZE = {"诊所": -0.8, "医院": 0.5}  # log-size adjustment within a channel
_NAME_SUFFIX = {
    "医药商业": ("医药有限公司", "医药贸易有限公司", "药业有限公司"),
    "连锁药店": ("大药房连锁有限公司", "医药连锁有限公司"),
    "医院": ("医院", "中医医院", "康复医院"),
    "诊所": ("诊所", "中医诊所", "门诊部"),
    "药店": ("大药房", "药店", "药房"),
    "器械保健": ("医疗器械商行", "保健品专营店", "医疗器械专营店"),
}
# region: (share of customers, place names used in customer names)
_REGIONS = {
    "苏州": (0.30, "苏州 昆山 常熟 张家港 太仓 吴江"),
    "无锡": (0.12, "无锡 江阴 宜兴"),
    "常州": (0.08, "常州 溧阳 金坛"),
    "南通": (0.08, "南通 海门 启东 如皋"),
    "南京": (0.08, "南京 江宁 溧水"),
    "上海": (0.10, "上海 浦东 嘉定 松江"),
    "嘉兴": (0.06, "嘉兴 桐乡 海宁 平湖"),
    "湖州": (0.04, "湖州 长兴 德清"),
    "杭州": (0.06, "杭州 萧山 余杭"),
    "扬州": (0.04, "扬州 高邮 仪征"),
    "镇江": (0.04, "镇江 丹阳 句容"),
}
_WORDS = [
    "康泰",
    "仁和",
    "百草",
    "济民",
    "同仁",
    "益康",
    "华康",
    "瑞祥",
    "天和",
    "永安",
    "恒生",
    "德济",
    "惠民",
    "长春",
    "福康",
    "安康",
    "同济",
    "博爱",
    "众生",
    "健民",
    "广济",
    "寿康",
    "万和",
    "九州",
    "瑞康",
    "和顺",
    "平安",
    "立康",
    "康宁",
    "润泽",
    "仁心",
    "怡康",
    "康源",
    "正和",
    "百佳",
    "嘉禾",
    "宏达",
    "鼎盛",
    "信诚",
    "丰泽",
    "春晖",
    "回春",
    "保和",
    "益寿",
    "民生",
    "佳和",
    "国泰",
    "瑞和",
    "泰和",
    "金桥",
    "东方",
    "明德",
    "致和",
    "永康",
    "长乐",
    "福寿",
    "乐康",
    "和济",
    "杏林",
    "本草",
]

# Approved tag list (标签): what a distributor's sales staff note about a client.
TAGS = (
    "医保定点",
    "重点品种合作",
    "集采配送",
    "需冷链配送",
    "有扩张计划",
    "新开业",
    "价格敏感",
    "回款及时",
    "回款慢",
    "竞品渗透",
)

# category: (mean gross margin rate, monthly seasonality Jan..Dec, "name spec|price; ...")
CATEGORIES: dict[str, tuple[float, tuple[float, ...], str]] = {
    "处方药": (
        0.09,
        (1,) * 12,
        "阿莫西林胶囊 0.25g×24粒|9.8;头孢克肟分散片 0.1g×6片|18.5;阿奇霉素片 0.25g×6片|16.8;"
        "左氧氟沙星片 0.5g×4片|15.2;苯磺酸氨氯地平片 5mg×28片|26;盐酸二甲双胍片 0.5g×48片|12.6;"
        "阿托伐他汀钙片 20mg×7片|32.5;缬沙坦胶囊 80mg×7粒|22.8;奥美拉唑肠溶胶囊 20mg×14粒|19.6;"
        "硫酸氢氯吡格雷片 75mg×7片|45;酒石酸美托洛尔片 25mg×20片|8.9;格列美脲片 2mg×30片|24.5;"
        "瑞舒伐他汀钙片 10mg×7片|28;厄贝沙坦片 0.15g×7片|17.5;兰索拉唑肠溶片 15mg×14片|21;"
        "头孢呋辛酯片 0.25g×12片|23.6;克拉霉素片 0.25g×6片|14.2;硝苯地平控释片 30mg×7片|31.5;"
        "阿卡波糖片 50mg×30片|38;甲钴胺片 0.5mg×20片|16;孟鲁司特钠片 10mg×5片|35;"
        "替米沙坦片 40mg×14片|20.5;坦索罗辛缓释胶囊 0.2mg×10粒|42;恩替卡韦分散片 0.5mg×7片|48",
    ),
    "非处方药": (
        0.15,
        (1.25, 1.1, 1, 0.9, 0.85, 0.85, 0.85, 0.85, 0.9, 1, 1.15, 1.3),
        "布洛芬缓释胶囊 0.3g×20粒|14.5;对乙酰氨基酚片 0.5g×12片|6.5;氯雷他定片 10mg×6片|15.8;"
        "盐酸西替利嗪片 10mg×12片|19.5;复方氨酚烷胺片 12片|9.9;蒙脱石散 3g×10袋|16.5;"
        "多潘立酮片 10mg×30片|13.8;铝碳酸镁咀嚼片 0.5g×20片|18;开塞露 20ml×2支|3.5;"
        "红霉素软膏 10g|2.8;莫匹罗星软膏 5g|14;盐酸小檗碱片 0.1g×24片|4.5;复方甘草片 100片|8;"
        "维生素C片 0.1g×100片|4.2;葡萄糖酸钙口服液 10ml×12支|22;碳酸钙D3片 60片|38;"
        "双氯芬酸二乙胺乳胶剂 20g|21.5;硝酸咪康唑乳膏 20g|12.5;酮康唑洗剂 50ml|26;"
        "地氯雷他定片 5mg×6片|24;盐酸氨溴索口服溶液 100ml|17.8;愈酚右美沙芬糖浆 120ml|19;"
        "奥利司他胶囊 0.12g×21粒|128;氯霉素滴眼液 8ml|2.5",
    ),
    "中成药": (
        0.19,
        (1.3, 1.1, 1, 0.9, 0.85, 0.85, 0.85, 0.85, 0.9, 1, 1.1, 1.3),
        "板蓝根颗粒 10g×20袋|12;连花清瘟胶囊 0.35g×24粒|14.8;感冒灵颗粒 10g×9袋|13.5;"
        "藿香正气水 10ml×10支|11;六味地黄丸 200丸|22;复方丹参滴丸 180丸|28.5;"
        "云南白药气雾剂 85g+30g|42;安宫牛黄丸 3g×1丸|380;蒲地蓝消炎片 48片|26;"
        "小柴胡颗粒 10g×10袋|16;双黄连口服液 10ml×10支|18.5;清开灵颗粒 3g×10袋|12.8;"
        "牛黄解毒片 24片|6;逍遥丸 200丸|14.5;乌鸡白凤丸 9g×10丸|32;速效救心丸 40mg×150粒|35;"
        "川贝枇杷膏 300ml|38;金嗓子喉片 2g×12片|9.5;西瓜霜润喉片 0.6g×24片|10.8;"
        "银翘解毒片 36片|8.5;补中益气丸 200丸|18;香砂养胃丸 200丸|16.5;"
        "麝香保心丸 22.5mg×42丸|48;阿胶 250g|780",
    ),
    "医疗器械": (
        0.24,
        (1.05, 0.95, 1, 1, 1, 0.95, 0.95, 0.95, 1, 1, 1.05, 1.1),
        "医用外科口罩 50只|25;一次性使用无菌注射器 5ml×100支|32;医用棉签 10cm×200支|6.5;"
        "创可贴 100片|18;电子血压计 上臂式|198;血糖试纸 50条|85;血糖仪 套装|168;"
        "红外体温计 额温枪|89;医用纱布块 7.5cm×10片|3.2;一次性使用输液器 100套|65;"
        "医用透气胶带 1.25cm×9.1m|4.5;压缩式雾化器|268;家用制氧机 3L|2380;手动轮椅 折叠式|980;"
        "医用弹力绷带 10cm×4.5m|7.8;碘伏棉签 50支|9.5;一次性医用检查手套 100只|28;"
        "医用酒精 75% 500ml|9;双用听诊器|45;医用颈托|58;医用护腰带|78;远红外理疗贴 6贴|36;"
        "指夹式脉搏血氧仪|128;医用冷敷贴 4贴|28",
    ),
    "保健品": (
        0.32,
        (1.5, 1.3, 0.9, 0.85, 0.9, 0.85, 0.85, 0.9, 1.2, 1, 0.9, 1.1),
        "维生素C咀嚼片 60片|48;乳清蛋白粉 400g|198;深海鱼油软胶囊 100粒|128;"
        "钙维生素D软胶囊 90粒|88;多种维生素矿物质片 60片|118;辅酶Q10软胶囊 60粒|168;"
        "氨糖软骨素钙片 120片|158;褪黑素片 60片|68;叶酸片 0.4mg×93片|36;"
        "益生菌固体饮料 2g×20袋|98;西洋参片 50g|158;宁夏枸杞子 250g|45;灵芝孢子粉 1g×30袋|398;"
        "人参蜂王浆口服液 10ml×10支|78;蜂胶软胶囊 60粒|128;大豆磷脂软胶囊 100粒|88;"
        "螺旋藻片 200片|98;葡萄籽提取物胶囊 60粒|138;胶原蛋白肽粉 5g×30袋|268;"
        "维生素E软胶囊 100粒|58;番茄红素软胶囊 60粒|128;铁锌钙口服液 10ml×12支|58;"
        "牡蛎肽片 60片|158;破壁灵芝孢子油 60粒|298",
    ),
}
# channel -> preference over CATEGORIES (same order)
_CHANNEL_MIX = {
    "批发商": (0.40, 0.20, 0.22, 0.10, 0.08),
    "代理商": (0.50, 0.12, 0.20, 0.12, 0.06),
    "连锁店": (0.22, 0.28, 0.25, 0.10, 0.15),
    "特约店": (0.55, 0.10, 0.20, 0.13, 0.02),
    "零售商": (0.20, 0.30, 0.28, 0.08, 0.14),
    "专营店": (0.05, 0.10, 0.15, 0.40, 0.30),
}
# Overall demand by calendar month: winter peak, Spring Festival dip in February.
_SEASON = np.array([1.08, 0.82, 0.98, 0.96, 0.94, 0.92, 0.90, 0.92, 0.98, 1.02, 1.12, 1.36])
_TERMS = {"A": 60, "B": 45, "C": 30}  # payment terms (days) by size class; hospitals get 90

_NOTES = {
    "complaint": (
        "送货延迟，影响门店销售",
        "到货包装破损",
        "发票开具有误，要求重开",
        "近效期产品偏多",
        "急需品种断货",
        "业务员回复不及时",
        "退货处理太慢",
        "对账金额不一致",
    ),
    "churn_complaint": (
        "价格比其他供应商高",
        "竞争对手给出更低报价",
        "配送频次不能满足需求",
        "多次断货，考虑更换供应商",
        "账期政策不如同行灵活",
    ),
    "praise": (
        "配送及时，服务周到",
        "业务员专业，沟通顺畅",
        "新品推荐很有帮助",
        "退换货处理迅速",
        "价格政策有竞争力",
    ),
    "suggestion": (
        "希望增加中成药品种",
        "建议开通线上订货",
        "希望每周固定配送两次",
        "建议提供促销物料",
        "希望延长账期",
        "建议组织店员培训",
    ),
    "visit": (
        "季度例行拜访",
        "新品推介拜访",
        "年度合同洽谈",
        "陪同区域经理拜访",
        "节前客情拜访",
        "了解门店库存与需求",
    ),
    "task": ("核对季度往来账", "更新资质证照", "安排促销活动", "处理退货申请", "签订年度购销协议"),
    "collection": ("催收逾期货款", "电话提醒付款", "上门对账催款"),
}


# ---------------------------------------------------------------- public API
def generate(
    seed: int = 2025, *, n_customers: int = 450, start="2022-01-01", end="2025-12-31"
) -> dict[str, pd.DataFrame]:
    """Build the sample company's tables in memory.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives identical tables.
    n_customers : int
        Customers ever on the books (450 in case 3).  Sales scale with it
        (about 90,000 CNY a year per customer), so 40 gives a tiny dataset.
    start, end : str or Timestamp
        First and last day of trading (whole months are used).

    Returns
    -------
    dict of DataFrame
        ``transactions``, ``customers``, ``products``, ``inventory``,
        ``receivables``, ``interactions`` and ``targets`` (per category and quarter) with the canonical columns of
        :mod:`analysis.data.schema`; dates as ``datetime64``, money rounded to cents.
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    rng = np.random.default_rng(seed)
    r_cust, r_tx, r_rec, r_int, r_inv, r_tag = rng.spawn(6)
    months = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")
    end = months[-1].end_time.normalize()
    products = _products()
    prof = _profiles(r_cust, n_customers, months)
    expected = _expected_sales(prof, months, n_customers)
    tx = _transactions(r_tx, prof, products, expected, months, end)
    # account columns come last, from a seventh generator: the other tables and columns stay as they were
    r_acct = rng.spawn(1)[0]
    return {
        "transactions": tx,
        "customers": _customer_table(r_tag, prof).assign(**_accounts(r_acct, prof, len(months))),
        "products": products,
        "inventory": _inventory(r_inv, tx, products, months),
        "receivables": _receivables(r_rec, tx, prof, months, end),
        "interactions": _interactions(r_int, prof, months, end),
        "targets": _sales_targets(tx, products),
    }


TARGET_GROWTH = 0.08  # the sales plan: last year's quarter per category plus 8%


def _sales_targets(tx: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Quarterly sales targets per category, set from the same quarter of the year before."""
    cat = tx["product_id"].map(products.set_index("product_id")["category"])
    q = tx["date"].dt.to_period("Q")
    actual = tx.groupby([q.rename("q"), cat.rename("category")])["amount"].sum()
    plan = (actual * (1 + TARGET_GROWTH) / 10_000).round() * 10_000
    plan.index = plan.index.set_levels(plan.index.levels[0] + 4, level=0)
    plan = plan[plan.index.get_level_values(0) <= q.max()]
    out = plan.rename("target").reset_index()
    return pd.DataFrame(
        {
            "quarter": out["q"].astype(str),
            "category": out["category"],
            "target": out["target"].astype(float),
        }
    )


def write_sample(out_dir=None, seed: int = 2025, **kwargs) -> list[Path]:
    """Generate the sample company and write one UTF-8 CSV per table (``ccm sample``).

    ``out_dir`` defaults to the bundled ``data/sample``; ``kwargs`` go to :func:`generate`.

    Parameters
    ----------
    out_dir : str or Path, optional
        The folder.
    seed : int
        Seed of the generator.
    kwargs
        Passed to :func:`generate`.

    Returns
    -------
    list of Path
        The paths written.
    """
    from analysis.config import SAMPLE_DIR
    from analysis.data import io

    return io.write_tables(
        generate(seed, **kwargs), SAMPLE_DIR if out_dir is None else out_dir, fmt="csv"
    )


# ---------------------------------------------------------------- products
def _products() -> pd.DataFrame:
    rows = []
    for cat, (margin, _, spec) in CATEGORIES.items():
        for k, item in enumerate(spec.split(";")):
            name, price = item.rsplit("|", 1)
            # a fixed spread of -2..+2 points around the category margin (exact arithmetic)
            rate = margin + 0.005 * ((7 * k + len(rows)) % 9 - 4)
            rows.append((name, cat, round(float(price) * (1 - rate), 2), float(price)))
    df = pd.DataFrame(rows, columns=["name", "category", "unit_cost", "unit_price"])
    return df.assign(product_id=[f"P{i + 1:03d}" for i in range(len(df))])[
        ["product_id", "name", "category", "unit_cost", "unit_price"]
    ]


# ---------------------------------------------------------------- customers
def _profiles(rng, n: int, months: pd.PeriodIndex) -> pd.DataFrame:
    """Hidden customer attributes: size, lifecycle, payment habit (not all published)."""
    names = list(CHANNELS)
    channel = rng.choice(names, size=n, p=[CHANNELS[c][0] for c in names])
    industry = np.array([_pick(rng, CHANNELS[c][2]) for c in channel])
    log_size = np.array(
        [CHANNELS[c][1] + _INDUSTRY_SIZE.get(i, 0.0) for c, i in zip(channel, industry)]
    ) + _SIZE_SIGMA * rng.standard_normal(n)
    size = np.exp(log_size) / np.exp(log_size).sum() * SALES_PER_CUSTOMER * n  # CNY a year
    prof = pd.DataFrame(
        {
            "channel": channel,
            "industry": industry,
            "size": size,
            "growth": rng.normal(_GROWTH, 0.08, n).clip(-0.25, 0.35),
        }
    )
    prof = prof.assign(**_lifecycle(rng, prof["size"].to_numpy(), len(months)))
    prof = prof.assign(
        **_names(rng, industry), **_money_habits(rng, prof["size"].to_numpy(), industry)
    )
    prof["since"] = _since(rng, prof["start_m"].to_numpy(), months)
    prof = prof.sort_values(["since", "name"], kind="stable").reset_index(drop=True)
    return prof.assign(customer_id=[f"C{i + 1:04d}" for i in range(n)])


def _pick(rng, weights: dict[str, float]) -> str:
    keys = list(weights)
    return keys[rng.choice(len(keys), p=np.array(list(weights.values())) / sum(weights.values()))]


def _lifecycle(rng, size: np.ndarray, n_months: int) -> dict[str, np.ndarray]:
    """Arrival month (0 = already a customer) and churn month (n_months = stays)."""
    n = len(size)
    start_m = np.zeros(n, dtype=int)
    rank = size.argsort().argsort() / max(n - 1, 1)  # 0 = smallest
    new = rng.random(n) < 0.08 + 0.16 * (1 - rank)  # newcomers start small, mostly
    start_m[new] = rng.integers(1, max(2, n_months - 2), new.sum())
    churn_m = np.full(n, n_months)
    churns = rng.random(n) < 0.26 * (1 - rank) ** 1.5 + 0.02
    lo = start_m + _DECAY_MONTHS + 2
    churns &= lo < n_months
    churn_m[churns] = rng.integers(lo[churns], n_months)
    # false alarms for churn models: a few months of few orders, then back to normal
    dips = rng.random(n) < 0.12
    dip_m = np.where(dips, rng.integers(start_m + 1, np.maximum(start_m + 2, n_months - 3)), -99)
    return {
        "start_m": start_m,
        "churn_m": churn_m,
        "churner": churns,
        "dip_m": dip_m,
        "dip_len": rng.integers(3, 6, n),
    }


def _names(rng, industry: np.ndarray) -> dict[str, np.ndarray]:
    """Region and a unique name such as 昆山康泰大药房 (place + trade name + kind of business)."""
    combos = [
        (r, place, w, share / len(places.split()))
        for r, (share, places) in _REGIONS.items()
        for place in places.split()
        for w in _WORDS
    ]
    p = np.array([c[3] for c in combos])
    idx = rng.choice(
        len(combos), size=len(industry), replace=len(industry) > len(combos), p=p / p.sum()
    )
    suffix = [_NAME_SUFFIX[i][rng.integers(len(_NAME_SUFFIX[i]))] for i in industry]
    name = pd.Series([combos[i][1] + combos[i][2] + s for i, s in zip(idx, suffix)])
    dup = name.groupby(name).cumcount()  # only when n_customers exceeds the combinations
    name = name.where(dup == 0, name + "(" + (dup + 1).astype(str) + ")")
    return {"region": np.array([combos[i][0] for i in idx]), "name": name.to_numpy()}


def _money_habits(rng, size: np.ndarray, industry: np.ndarray) -> dict[str, np.ndarray]:
    n = len(size)
    rank = size.argsort().argsort() / max(n - 1, 1)
    klass = np.where(rank >= 0.78, "A", np.where(rank >= 0.45, "B", "C"))
    slow_p = np.where(klass == "A", 0.08, 0.2)
    u = rng.random(n)
    payer = np.where(u < slow_p, "slow", np.where(u < slow_p + 0.25, "prompt", "normal"))
    discount = (0.005 + 0.025 * rank + rng.normal(0, 0.005, n)).clip(0, 0.045)
    defaults = rng.random(n) < 0.45  # if it leaves, it never pays its last invoices
    return {
        "klass": klass,
        "payer": payer,
        "discount": discount,
        "defaults": defaults,
        "terms": np.where(industry == "医院", 90, [_TERMS[k] for k in klass]),
    }


def _since(rng, start_m: np.ndarray, months: pd.PeriodIndex) -> np.ndarray:
    """First contract date: years back for old customers, just before the first order for new."""
    first = months[0].start_time
    old_days = (rng.gamma(2.0, 900, len(start_m)) + 30).astype(int)
    arrival = months[start_m].start_time.to_numpy()
    new_days = rng.integers(1, 31, len(start_m))  # contract signed before the first order
    since = np.where(
        start_m == 0,
        first - pd.to_timedelta(old_days, unit="D"),
        arrival - pd.to_timedelta(new_days, unit="D"),
    )
    return pd.DatetimeIndex(since).normalize().to_numpy()


def _customer_table(rng, prof: pd.DataFrame) -> pd.DataFrame:
    limit = prof["size"] / 12 * (prof["terms"] / 30 + 1) * rng.uniform(0.8, 1.6, len(prof))
    limit = (np.ceil(limit / 5_000) * 5_000).clip(lower=10_000)
    return pd.DataFrame(
        {
            "customer_id": prof["customer_id"],
            "name": prof["name"],
            "channel": prof["channel"],
            "region": prof["region"],
            "industry": prof["industry"],
            "credit_limit": limit.astype(float),
            "tags": _staff_tags(rng, prof),
            "since": prof["since"],
        }
    )


# Sales reps (业务员): each covers a contiguous set of routes (线路) of similar size.
SALESPEOPLE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "赵磊")
_ROUTE_NAMES = ("城区线", "东线", "南线", "西线", "北线")
_CUSTOMERS_PER_ROUTE = 25


def _accounts(rng, prof: pd.DataFrame, n_months: int) -> dict[str, np.ndarray]:
    """Owner, route and the customer's total yearly purchases from all suppliers.

    Routes split each region (about 25 customers a route); reps take whole routes in
    region order, so each has a territory; 4% of customers are held by another rep,
    three large ongoing customers (between the top 5% and 20% by size) and 2% of the rest have no owner (a gap
    the visit plan must show).  ``total_purchases`` is the last year's demand of the
    customer divided by our share of it (lower for big buyers, who spread their
    orders), rounded to 10,000 CNY and unknown for 12% of customers.
    """
    n = len(prof)
    region = prof["region"].to_numpy()
    route = np.empty(n, dtype=object)
    for r in _REGIONS:
        hit = np.flatnonzero(region == r)
        k = int(np.clip(np.ceil(len(hit) / _CUSTOMERS_PER_ROUTE), 1, len(_ROUTE_NAMES)))
        route[hit] = [r + _ROUTE_NAMES[i] for i in rng.integers(k, size=len(hit))]
    routes = (
        pd.Series(route)
        .value_counts()
        .reindex([r + x for r in _REGIONS for x in _ROUTE_NAMES])
        .dropna()
    )
    before = (routes.cumsum() - routes) / n
    route_rep = dict(
        zip(routes.index, np.array(SALESPEOPLE)[(before * len(SALESPEOPLE)).astype(int)])
    )
    rep = np.array([route_rep[r] for r in route], dtype=object)
    moved = rng.random(n) < 0.04
    rep[moved] = np.array(SALESPEOPLE)[rng.integers(len(SALESPEOPLE), size=moved.sum())]
    rank = prof["size"].rank(pct=True).to_numpy()
    big = np.flatnonzero(
        (rank >= 0.8)
        & (rank < 0.95)
        & ~prof["churner"].to_numpy()
        & (prof["start_m"].to_numpy() == 0)
    )
    unowned = rng.random(n) < 0.02
    unowned[rng.choice(big, size=min(3, len(big)), replace=False)] = True
    rep[unowned] = None
    share = (rng.beta(4.0, 4.0, n) * (1.15 - 0.55 * rank)).clip(0.08, 0.9)
    demand = prof["size"].to_numpy() * (1 + prof["growth"].to_numpy()) ** ((n_months - 6) / 12)
    total = np.maximum(np.round(demand / share / 10_000), 1) * 10_000
    total = np.where(rng.random(n) < 0.12, np.nan, total)
    return {"salesperson": rep, "route": route, "total_purchases": total}


def _staff_tags(rng, prof: pd.DataFrame) -> list[str]:
    """Staff tags: correlated with behaviour, but noisy as real tags are."""
    n = len(prof)
    rank = prof["size"].rank(pct=True).to_numpy()
    outlet = prof["industry"].isin(["药店", "连锁药店", "诊所", "医院"]).to_numpy()
    bulk = prof["industry"].isin(["医院", "医药商业"]).to_numpy()
    p = np.column_stack(
        [
            0.7 * outlet,
            0.6 * rank**3,
            0.35 * bulk,
            0.3 * bulk,
            np.where(prof["growth"] > 0.08, 0.6, 0.04),
            np.where(prof["start_m"] > 0, 0.6, 0.0),
            0.1 + 0.25 * (1 - rank),
            np.where(prof["payer"] == "prompt", 0.6, 0.05),
            np.where(prof["payer"] == "slow", 0.6, 0.03),
            np.where(prof["churner"], 0.35, 0.05),
        ]
    )
    has = rng.random((n, len(TAGS))) < p
    has[:, TAGS.index("回款及时")] &= ~has[:, TAGS.index("回款慢")]
    return [";".join(t for t, h in zip(TAGS, row) if h) for row in has]


# ---------------------------------------------------------------- sales
def _activity(prof: pd.DataFrame, n_months: int) -> tuple[np.ndarray, np.ndarray]:
    """(frequency factor, basket factor) per customer and month from the lifecycle."""
    m = np.arange(n_months)[None, :]
    start = prof["start_m"].to_numpy()[:, None]
    churn = prof["churn_m"].to_numpy()[:, None]
    ramp = np.where(start > 0, np.clip(0.35 + 0.65 * (m - start + 1) / 6, 0.35, 1.0), 1.0)
    decay = np.where(
        prof["churner"].to_numpy()[:, None],
        np.clip((churn - m) / (_DECAY_MONTHS + 1), 0.15, 1.0),
        1.0,
    )
    alive = (m >= start) & (m < churn)
    dip = np.where(_in_dip(prof, n_months), 0.35, 1.0)
    return alive * ramp * decay * dip, alive * decay**0.3


def _in_dip(prof: pd.DataFrame, n_months: int) -> np.ndarray:
    m = np.arange(n_months)[None, :]
    dip_m = prof["dip_m"].to_numpy()[:, None]
    return (m >= dip_m) & (m < dip_m + prof["dip_len"].to_numpy()[:, None])


def _expected_sales(prof: pd.DataFrame, months: pd.PeriodIndex, n: int) -> np.ndarray:
    """Expected net sales per customer and month, scaled to ``SALES_PER_CUSTOMER``."""
    freq, basket = _activity(prof, len(months))
    years = (np.arange(len(months)) / 12)[None, :]
    trend = (1 + prof["growth"].to_numpy()[:, None]) ** years
    season = _SEASON[months.month - 1][None, :]
    raw = prof["size"].to_numpy()[:, None] / 12 * season * trend * freq * basket
    # each calendar year is scaled to the company's trajectory, whoever comes and goes
    year = months.year.to_numpy()
    target = SALES_PER_CUSTOMER * n * (1 + _GROWTH) ** (year - year[0] - 1.5)
    per_year = pd.Series(raw.sum(axis=0)).groupby(year).transform("sum").to_numpy()
    share_of_year = pd.Series(np.ones(len(year))).groupby(year).transform("sum").to_numpy() / 12
    return raw * (target * share_of_year / np.where(per_year > 0, per_year, 1))[None, :]


def _order_rate(prof: pd.DataFrame) -> np.ndarray:
    """Orders per month at full activity: bigger customers order more often."""
    return np.clip(0.8 * (prof["size"].to_numpy() / 12 / 5_000) ** 0.5, 0.7, 12.0)


def _transactions(rng, prof, products, expected, months, end) -> pd.DataFrame:
    orders = _orders(rng, prof, expected, months)
    lines = _order_lines(rng, orders, prof, products, months)
    sales = _price_lines(rng, lines, prof, products)
    returns = _returns(rng, sales, end)
    return _finish_transactions(sales, returns, prof, products)


def _orders(rng, prof, expected, months) -> pd.DataFrame:
    """One row per order: customer, month, date and expected value."""
    freq, _ = _activity(prof, len(months))
    lam = _order_rate(prof)[:, None] * freq * np.sqrt(_SEASON[months.month - 1])[None, :]
    # regular buyers: stochastic rounding of the rate, far less dispersed than Poisson
    n_orders = np.floor(lam + rng.random(lam.shape)).astype(int)
    rows, first = np.arange(len(prof)), prof["start_m"].to_numpy()
    n_orders[rows, first] = np.maximum(n_orders[rows, first], 1)  # everyone buys at least once
    value = np.divide(expected, lam, out=np.zeros_like(expected), where=lam > 0)
    cust, month = np.nonzero(n_orders)
    reps = n_orders[cust, month]
    per_order = np.repeat(value[cust, month], reps)
    cust, month = np.repeat(cust, reps), np.repeat(month, reps)
    return pd.DataFrame(
        {
            "cust": cust,
            "month": month,
            "value": per_order,
            "date": _working_days(rng, months, month),
        }
    )


def _working_days(rng, months: pd.PeriodIndex, month: np.ndarray) -> np.ndarray:
    """A random Monday-to-Saturday date in each given month."""
    start = months.start_time.to_numpy()[month]
    days = months.days_in_month.to_numpy()[month]
    return _not_sunday(start + (rng.random(len(month)) * days).astype("timedelta64[D]"))


def _not_sunday(dates: np.ndarray) -> np.ndarray:
    """Move Sundays to the Saturday before (or the Monday after, on the 1st of a month)."""
    idx = pd.DatetimeIndex(dates)
    shift = np.where(idx.day_of_week == 6, np.where(idx.day > 1, -1, 1), 0)
    return (idx + pd.to_timedelta(shift, unit="D")).to_numpy()


def _order_lines(rng, orders: pd.DataFrame, prof, products, months) -> pd.DataFrame:
    """Split each order into lines and pick a product for each line."""
    size_rank = prof["size"].rank(pct=True).to_numpy()
    n_lines = 1 + rng.poisson(0.8 + 3.2 * size_rank[orders["cust"]] ** 2)
    order_no = np.repeat(np.arange(len(orders)), n_lines)
    share = rng.lognormal(0, 0.6, len(order_no))
    share /= np.bincount(order_no, weights=share)[order_no]
    order_noise = rng.lognormal(-0.045, 0.3, len(orders))
    cust = orders["cust"].to_numpy()[order_no]
    cat = _pick_category(rng, prof, cust, orders["month"].to_numpy()[order_no], months)
    return pd.DataFrame(
        {
            "order_no": order_no,
            "cust": cust,
            "date": orders["date"].to_numpy()[order_no],
            "value": (orders["value"].to_numpy() * order_noise)[order_no] * share,
            "product": _pick_product(rng, products, cat),
        }
    )


def _pick_category(rng, prof, cust, month, months) -> np.ndarray:
    cats = list(CATEGORIES)
    base = np.array([_CHANNEL_MIX[c] for c in prof["channel"]])
    lean = base * rng.dirichlet(np.full(len(cats), 3.0), len(prof)) * len(cats)
    season = np.array([CATEGORIES[c][1] for c in cats]).T  # 12 x categories
    w = lean[cust] * season[months.month.to_numpy()[month] - 1]
    cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    return (cum < rng.random(len(cust))[:, None]).sum(axis=1).clip(max=len(cats) - 1)


def _pick_product(rng, products, cat: np.ndarray) -> np.ndarray:
    """Within a category, a few best sellers (Zipf-like popularity, fixed order)."""
    out = np.empty(len(cat), dtype=int)
    for k, name in enumerate(CATEGORIES):
        idx = np.flatnonzero(products["category"].to_numpy() == name)
        pop = 1 / np.arange(1, len(idx) + 1) ** 0.9
        pop = pop[(np.arange(len(idx)) * 5 + k) % len(idx)]  # best sellers spread over the list
        hit = cat == k
        out[hit] = rng.choice(idx, size=hit.sum(), p=pop / pop.sum())
    return out


def _price_lines(rng, lines: pd.DataFrame, prof, products) -> pd.DataFrame:
    """Quantities by stochastic rounding (keeps expected sales unbiased); drop zero lines."""
    net_price = products["unit_price"].to_numpy()[lines["product"]] * (
        1 - prof["discount"].to_numpy()[lines["cust"]]
    )
    qty = np.floor(lines["value"].to_numpy() / net_price + rng.random(len(lines))).astype(int)
    out = lines.assign(quantity=qty, net_price=net_price)[qty > 0]
    return out.groupby(["order_no", "product"], as_index=False, sort=True).agg(
        cust=("cust", "first"),
        date=("date", "first"),
        quantity=("quantity", "sum"),
        net_price=("net_price", "first"),
    )


def _returns(rng, sales: pd.DataFrame, end) -> pd.DataFrame:
    """About 2.5% of lines come back in part, 3-45 days later, within the data period."""
    back = sales[rng.random(len(sales)) < 0.025]
    frac = rng.uniform(0.2, 1.0, len(back))
    qty = np.maximum(1, np.round(back["quantity"].to_numpy() * frac)).astype(int)
    date = _not_sunday(
        back["date"].to_numpy() + rng.integers(3, 46, len(back)).astype("timedelta64[D]")
    )
    out = back.assign(quantity=-qty, date=date)
    return out[out["date"] <= end]


def _finish_transactions(sales, returns, prof, products) -> pd.DataFrame:
    sales = sales.sort_values(["date", "order_no"], kind="stable")
    order_ids = {o: f"SO{i + 1:06d}" for i, o in enumerate(pd.unique(sales["order_no"]))}
    returns = returns.sort_values(["date", "order_no", "product"], kind="stable")
    df = pd.concat(
        [
            sales.assign(order_id=sales["order_no"].map(order_ids)),
            returns.assign(order_id=[f"RT{i + 1:05d}" for i in range(len(returns))]),
        ],
        ignore_index=True,
    )
    unit_cost = products["unit_cost"].to_numpy()[df["product"]]
    df = pd.DataFrame(
        {
            "customer_id": prof["customer_id"].to_numpy()[df["cust"]],
            "date": pd.to_datetime(df["date"]).astype("datetime64[ns]"),
            "order_id": df["order_id"],
            "product_id": products["product_id"].to_numpy()[df["product"]],
            "quantity": df["quantity"].astype("int64"),
            "amount": np.round(df["quantity"] * df["net_price"], 2),
            "cost": np.round(df["quantity"] * unit_cost, 2),
        }
    )
    return df.sort_values(["date", "order_id", "product_id"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- inventory
def _inventory(rng, tx: pd.DataFrame, products: pd.DataFrame, months) -> pd.DataFrame:
    """Month-end stock at cost: the next weeks' cost of sales times a per-product cover."""
    sold = tx[tx["amount"] > 0]
    cogs = (
        sold.assign(m=sold["date"].dt.to_period("M"))
        .pivot_table(index="product_id", columns="m", values="cost", aggfunc="sum", fill_value=0.0)
        .reindex(index=products["product_id"], columns=months, fill_value=0.0)
        .to_numpy()
    )
    ahead = np.concatenate([cogs, cogs[:, -1:]], axis=1)  # stock at end of m covers m+1
    cover = rng.gamma(4.0, 0.4, len(products)) * np.where(
        products["category"] == "保健品", 1.6, 1.0
    )
    base = np.maximum(ahead, 0.3 * ahead.mean(axis=1, keepdims=True))  # never quite empty
    value = base * cover[:, None] * rng.lognormal(0, 0.15, base.shape)
    dates = np.concatenate(
        [[months[0].start_time - pd.Timedelta(days=1)], months.end_time.normalize()]
    )
    inv = pd.DataFrame(
        {
            "date": np.tile(dates, len(products)),
            "product_id": np.repeat(products["product_id"].to_numpy(), len(dates)),
            "stock_value": np.round(value.ravel(), 2),
        }
    )
    gaps = rng.choice(len(inv), size=max(1, len(inv) // 500), replace=False)
    inv = inv.drop(index=gaps).astype({"date": "datetime64[ns]"})
    return inv.sort_values(["date", "product_id"]).reset_index(drop=True)


# ---------------------------------------------------------------- receivables
def _receivables(rng, tx: pd.DataFrame, prof: pd.DataFrame, months, end) -> pd.DataFrame:
    """One invoice per customer and month of positive net sales, dated the month end."""
    month = tx["date"].dt.to_period("M")
    inv = tx.assign(m=month).groupby(["customer_id", "m"], as_index=False)["amount"].sum()
    inv = inv[inv["amount"] > 0].reset_index(drop=True)
    p = prof.set_index("customer_id").loc[inv["customer_id"]]
    invoice_date = inv["m"].dt.end_time.dt.normalize().astype("datetime64[ns]")
    due = invoice_date + pd.to_timedelta(p["terms"].to_numpy(), unit="D")
    delay = _payment_delay(rng, p["payer"].to_numpy(), p["terms"].to_numpy())
    paid = due + pd.to_timedelta(delay, unit="D")
    m_index = (inv["m"].dt.year - months[0].year) * 12 + inv["m"].dt.month - months[0].month
    paid_amount = _paid_share(rng, m_index.to_numpy(), p) * inv["amount"].to_numpy()
    unpaid = (paid > end).to_numpy() | (paid_amount == 0)
    df = pd.DataFrame(
        {
            "customer_id": inv["customer_id"],
            "invoice_id": "INV" + inv["m"].dt.strftime("%Y%m") + "-" + inv["customer_id"],
            "invoice_date": invoice_date,
            "amount": np.round(inv["amount"], 2),
            "due_date": due,
            "paid_date": paid.where(~unpaid),
            "paid_amount": np.round(np.where(unpaid, 0.0, paid_amount), 2),
        }
    )
    return df.sort_values(["invoice_date", "customer_id"]).reset_index(drop=True)


def _payment_delay(rng, payer: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """Days after the due date (negative = early)."""
    n = len(payer)
    prompt = -rng.uniform(0, 0.6, n) * terms
    normal = rng.normal(0, 6, n).clip(-10, 30)
    slow = 15 + rng.gamma(2.0, 28, n)
    return np.round(np.select([payer == "prompt", payer == "slow"], [prompt, slow], normal)).astype(
        int
    )


def _paid_share(rng, m_index: np.ndarray, p: pd.DataFrame) -> np.ndarray:
    """1 = paid in full; 0 = never paid (bad debt after leaving); a few short payments."""
    last_months = p["churn_m"].to_numpy() - m_index <= 2
    share = np.where(p["churner"].to_numpy() & p["defaults"].to_numpy() & last_months, 0.0, 1.0)
    short = (p["payer"].to_numpy() == "slow") & (rng.random(len(share)) < 0.06)
    share[short] = rng.uniform(0.3, 0.9, short.sum())
    return share


# ---------------------------------------------------------------- interactions
def _interactions(rng, prof: pd.DataFrame, months: pd.PeriodIndex, end) -> pd.DataFrame:
    """Monthly Poisson counts per kind; complaints rise before a customer leaves."""
    n_m = len(months)
    m = np.arange(n_m)[None, :]
    start, churn = prof["start_m"].to_numpy()[:, None], prof["churn_m"].to_numpy()[:, None]
    alive = (m >= start) & (m < churn)
    pre = alive & (m >= churn - _DECAY_MONTHS) & (churn < n_m)
    rank = prof["size"].rank(pct=True).to_numpy()[:, None]
    slow = (prof["payer"].to_numpy() == "slow")[:, None]
    rates = {
        "visit": (0.1 + 0.7 * rank**2) * alive,
        "task": (0.06 + 0.25 * slow) * alive,
        "praise": np.where(pre, 0.01, 0.035) * alive,
        "suggestion": 0.03 * alive,
        "complaint": np.select([pre, _in_dip(prof, n_m)], [0.22, 0.08], 0.025) * alive,
    }
    frames = [_interaction_rows(rng, kind, rate, pre, slow, months) for kind, rate in rates.items()]
    df = pd.concat(frames, ignore_index=True)
    df = df[df["date"] <= end].assign(
        customer_id=lambda d: prof["customer_id"].to_numpy()[d["cust"]]
    )
    df = df.sort_values(["date", "customer_id", "kind"], kind="stable").reset_index(drop=True)
    return df[["customer_id", "date", "kind", "note"]].astype({"date": "datetime64[ns]"})


def _interaction_rows(rng, kind, rate, pre, slow, months) -> pd.DataFrame:
    counts = rng.poisson(rate)
    cust, month = np.nonzero(counts)
    reps = counts[cust, month]
    cust, month = np.repeat(cust, reps), np.repeat(month, reps)
    notes = np.array(_NOTES[kind])[rng.integers(len(_NOTES[kind]), size=len(cust))]
    if kind == "complaint":
        alt = np.array(_NOTES["churn_complaint"])[rng.integers(5, size=len(cust))]
        notes = np.where(pre[cust, month] & (rng.random(len(cust)) < 0.6), alt, notes)
    if kind == "task":
        alt = np.array(_NOTES["collection"])[rng.integers(3, size=len(cust))]
        notes = np.where(slow[cust, 0] & (rng.random(len(cust)) < 0.7), alt, notes)
    return pd.DataFrame(
        {"cust": cust, "date": _working_days(rng, months, month), "kind": kind, "note": notes}
    )
