"""Masking a dataset for teaching (analysis.data.mask, ``ccm mask``)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from analysis.classify.classes import abc_classes, abc_summary
from analysis.classify.tags import load_tag_rules, tag_class_counts, tag_classes
from analysis.data import io as aio
from analysis.data.mask import dropped_columns, mask_directory, mask_tables, pseudonym_map
from analysis.data.overview import quarter_kpis
from analysis.data.periods import latest_complete_quarter
from analysis.engine.aggregate import customer_summary


def _tables() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "name": ["苏州康泰大药房", "无锡仁和诊所", "常州百草医院"],
            "channel": ["零售商", "特约店", "批发商"],
            "credit_limit": [1000.0, 2000.0, 3000.0],
            "tags": ["医保定点", "回款慢", ""],
            "phone": ["138", "139", "137"],
        }
    )
    tx = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C1", "C3"],
            "date": pd.to_datetime(["2025-01-02"] * 4),
            "order_id": ["SO-C1-1", "SO-C2-1", "SO-C1-1", "SO-C3-9"],
            "product_id": ["P1", "P2", "P2", "P1"],
            "amount": [100.0, 50.0, 25.0, -10.0],
            "cost": [80.0, 40.0, 20.0, -8.0],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2"],
            "name": ["阿莫西林胶囊", "板蓝根颗粒"],
            "category": ["处方药", "中成药"],
            "unit_price": [9.8, 12.0],
        }
    )
    receivables = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "invoice_id": ["INV-C1", "INV-C2"],
            "invoice_date": pd.to_datetime(["2025-01-31"] * 2),
            "amount": [125.0, 50.0],
            "paid_amount": [125.0, 0.0],
        }
    )
    interactions = pd.DataFrame(
        {
            "customer_id": ["C2", "C3"],
            "date": pd.to_datetime(["2025-02-01"] * 2),
            "kind": ["complaint", "visit"],
            "note": ["王经理说苏州康泰价格低", pd.NA],
        }
    )
    return {
        "customers": customers,
        "transactions": tx,
        "products": products,
        "receivables": receivables,
        "interactions": interactions,
    }


def test_same_customer_gets_the_same_pseudonym_in_every_table():
    out = mask_tables(_tables(), seed=1)
    key = dict(zip(out["customers"]["name"], out["customers"]["customer_id"]))
    ids = out["customers"]["customer_id"]
    assert ids.str.match(r"^M\d{4}$").all() and ids.is_unique
    original = _tables()
    of = dict(zip(original["customers"]["customer_id"], ids))
    assert out["transactions"]["customer_id"].tolist() == [
        of[c] for c in original["transactions"]["customer_id"]
    ]
    assert out["receivables"]["customer_id"].tolist() == [of["C1"], of["C2"]]
    assert out["interactions"]["customer_id"].tolist() == [of["C2"], of["C3"]]
    # a name carries the number of its id: 客户0002 belongs to M0002
    assert all(name[-4:] == cid[-4:] for name, cid in key.items())


def test_names_notes_and_document_numbers_are_replaced():
    out = mask_tables(_tables(), seed=1, lang="en")
    text = [
        v
        for df in out.values()
        for v in df.astype("string").to_numpy().ravel()
        if isinstance(v, str)
    ]
    for secret in (
        "苏州康泰大药房",
        "无锡仁和诊所",
        "常州百草医院",
        "阿莫西林胶囊",
        "王经理",
        "C1",
        "C2",
        "C3",
    ):
        assert not any(secret in v for v in text), secret
    assert out["customers"]["name"].str.match(r"^Customer \d{4}$").all()
    assert out["products"]["name"].str.match(r"^Product \d{3}$").all()
    assert out["interactions"]["note"].iloc[0] == "(note removed)" and pd.isna(
        out["interactions"]["note"].iloc[1]
    )
    # one pseudonym per original document: the repeated order stays one order
    orders = out["transactions"]["order_id"]
    assert orders.nunique() == 3 and orders.iloc[0] == orders.iloc[2]
    assert out["receivables"]["invoice_id"].nunique() == 2


def test_kept_columns_and_dropped_extras():
    tables = _tables()
    out = mask_tables(tables, seed=0)
    assert "phone" not in out["customers"].columns
    assert dropped_columns(tables) == {"customers": ["phone"]}
    pd.testing.assert_series_equal(out["customers"]["tags"], tables["customers"]["tags"])
    pd.testing.assert_series_equal(out["transactions"]["amount"], tables["transactions"]["amount"])
    pd.testing.assert_series_equal(
        out["transactions"]["product_id"], tables["transactions"]["product_id"]
    )


def test_inputs_are_not_modified():
    tables = _tables()
    before = {k: v.copy(deep=True) for k, v in tables.items()}
    mask_tables(tables, seed=3, scale=0.5, mask_product_ids=True)
    for k in tables:
        pd.testing.assert_frame_equal(tables[k], before[k])


def test_scale_multiplies_every_amount_and_keeps_quantities():
    out = mask_tables(_tables(), seed=0, scale=0.5)
    assert out["transactions"]["amount"].tolist() == [50.0, 25.0, 12.5, -5.0]
    assert out["transactions"]["cost"].tolist() == [40.0, 20.0, 10.0, -4.0]
    assert out["customers"]["credit_limit"].tolist() == [500.0, 1000.0, 1500.0]
    assert out["products"]["unit_price"].tolist() == [4.9, 6.0]
    assert out["receivables"]["paid_amount"].tolist() == [62.5, 0.0]


@pytest.mark.parametrize("scale", [0, -1, float("nan"), float("inf")])
def test_scale_must_be_positive(scale):
    with pytest.raises(ValueError, match="scale must be a positive number"):
        mask_tables(_tables(), scale=scale)


def test_same_seed_same_copy_other_seed_other_numbering():
    a, b = mask_tables(_tables(), seed=5), mask_tables(_tables(), seed=5)
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])
    ids = {tuple(mask_tables(_tables(), seed=s)["customers"]["customer_id"]) for s in range(6)}
    assert len(ids) > 1


def test_pseudonyms_never_equal_an_original_id():
    # originals shaped like the default pseudonyms force another prefix
    tables = {
        "transactions": pd.DataFrame(
            {
                "customer_id": ["M0001", "M0002"],
                "date": pd.to_datetime(["2025-01-01"] * 2),
                "amount": [1.0, 2.0],
            }
        )
    }
    key = pseudonym_map(tables, seed=0)
    assert not set(key["pseudonym"]) & set(key["original"])
    assert key["pseudonym"].str.startswith("MK").all()


def test_product_ids_masked_consistently_when_asked():
    out = mask_tables(_tables(), seed=0, mask_product_ids=True)
    pid = dict(zip(_tables()["products"]["product_id"], out["products"]["product_id"]))
    assert out["transactions"]["product_id"].tolist() == [
        pid[p] for p in _tables()["transactions"]["product_id"]
    ]
    assert not set(pid) & set(pid.values())


def test_directory_refuses_to_write_into_its_input(tmp_path):
    aio.write_tables({"transactions": _tables()["transactions"]}, tmp_path)
    with pytest.raises(ValueError, match="new folder"):
        mask_directory(tmp_path, tmp_path)
    with pytest.raises(ValueError, match="outside"):
        mask_directory(tmp_path, tmp_path / "out", key_file=tmp_path / "out" / "key.csv")


def test_directory_refuses_stale_tables_in_the_output(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    aio.write_tables({"transactions": _tables()["transactions"]}, src)
    aio.write_tables({"customers": _tables()["customers"]}, out)
    with pytest.raises(ValueError, match=r"is not empty \(it holds customers.csv\).*--force"):
        mask_directory(src, out)
    with pytest.raises(
        ValueError, match="already holds customers.csv, which the copy would not replace"
    ):
        mask_directory(src, out, force=True)


@pytest.mark.parametrize(
    "out, key, message",
    [
        ("in", None, "is the data folder itself"),
        ("in/masked", None, "lies inside the data folder"),
        ("full", None, "is not empty"),
        ("file.csv", None, "is a file"),
        ("new", "new/key.csv", "must lie outside"),
        ("new", "in/key.csv", "lies in the data folder"),
        ("new", "in/transactions.csv", "lies in the data folder"),
        ("new", "keys", "is a folder"),
        ("new", "key.txt", "expected a .csv or .xlsx"),
    ],
)
def test_outputs_that_could_replace_files_are_refused(tmp_path, out, key, message):
    from analysis.data.mask import check_mask_paths

    aio.write_tables({"transactions": _tables()["transactions"]}, tmp_path / "in")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("x")
    (tmp_path / "file.csv").write_text("x")
    (tmp_path / "keys").mkdir()
    with pytest.raises(ValueError, match=message):
        check_mask_paths(
            tmp_path / "in", tmp_path / out, key_file=None if key is None else tmp_path / key
        )


def test_existing_key_file_needs_force_and_an_input_never_becomes_the_key(tmp_path):
    src = tmp_path / "in"
    aio.write_tables({"transactions": _tables()["transactions"]}, src)
    crm = tmp_path / "crm"
    aio.write_tables({"customers": _tables()["customers"][["customer_id", "name"]]}, crm)
    (src / "columns.yaml").write_text(
        "files:\n  customers: ../crm/customers.csv\n", encoding="utf-8"
    )
    before = (crm / "customers.csv").read_bytes()
    with pytest.raises(ValueError, match="is an input file"):
        mask_directory(src, tmp_path / "m", key_file=crm / "customers.csv", force=True)
    with pytest.raises(ValueError, match="is an input file"):
        mask_directory(src, crm, force=True)
    assert (crm / "customers.csv").read_bytes() == before and not (tmp_path / "m").exists()
    key = tmp_path / "key.csv"
    key.write_text("old")
    with pytest.raises(ValueError, match="already exists"):
        mask_directory(src, tmp_path / "m", key_file=key)
    mask_directory(src, tmp_path / "m", key_file=key, force=True)
    assert key.read_text() != "old"


# ------------------------------------------------------------- the sample company
def _digest(folder) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def masked_sample(sample_dir, tmp_path_factory):
    before = _digest(sample_dir)
    out = tmp_path_factory.mktemp("masked") / "copy"
    key = out.parent / "key.csv"
    report = mask_directory(sample_dir, out, seed=11, key_file=key)
    assert _digest(sample_dir) == before, "the input files changed"
    return {
        "out": out,
        "key": key,
        "report": report,
        "original": aio.load_dataset(sample_dir),
        "masked": aio.load_dataset(out),
    }


def test_sample_copy_exposes_no_original_customer_name_or_id(masked_sample):
    orig = masked_sample["original"]["customers"]
    # every distinct field of every file, as one text (deduplicated so that the search stays fast)
    fields = {
        f
        for p in sorted(masked_sample["out"].iterdir())
        for line in p.read_text(encoding="utf-8").splitlines()
        for f in line.split(",")
    }
    text = "\n".join(sorted(fields))
    leaked_ids = [c for c in orig["customer_id"] if c in text]
    leaked_names = [n for n in orig["name"] if n in text]
    assert not leaked_ids and not leaked_names
    # the key (kept outside the copy) maps every customer back
    key = aio.read_raw(masked_sample["key"])
    assert len(key) == len(orig) and set(key["original"]) == set(orig["customer_id"])


def test_sample_copy_replaces_salespeople_consistently(masked_sample):
    orig = masked_sample["original"]["customers"].set_index("customer_id")["salesperson"]
    masked = masked_sample["masked"]["customers"]
    key = aio.read_raw(masked_sample["key"]).set_index("pseudonym")["original"]
    masked = masked.assign(original=masked["customer_id"].map(key)).set_index("original")
    text = "\n".join(p.read_text(encoding="utf-8") for p in masked_sample["out"].iterdir())
    assert not [n for n in orig.dropna().unique() if n in text]  # no rep's real name
    pairs = pd.DataFrame({"real": orig, "pseudonym": masked["salesperson"].reindex(orig.index)})
    pairs = pairs.dropna().drop_duplicates()
    # one pseudonym per person and one person per pseudonym; customers without an owner stay so
    assert pairs["real"].is_unique and pairs["pseudonym"].is_unique
    assert orig.isna().sum() == masked["salesperson"].isna().sum() > 0
    assert set(pairs["pseudonym"]) <= {f"业务员{k:02d}" for k in range(1, 100)}


def test_sample_copy_has_the_same_figures(masked_sample):
    a, b = masked_sample["original"], masked_sample["masked"]
    assert {k: len(v) for k, v in a.tables.items()} == {k: len(v) for k, v in b.tables.items()}
    q = latest_complete_quarter(a.transactions["date"])
    assert latest_complete_quarter(b.transactions["date"]) == q
    # 00 overview: the quarter's KPIs (sales, margin, customers, orders ...)
    pd.testing.assert_frame_equal(quarter_kpis(a.transactions, q), quarter_kpis(b.transactions, q))
    # customer summary totals and the ABC class counts
    sa = customer_summary(a.transactions, start=q.trailing_12m_start, as_of=q.end)
    sb = customer_summary(b.transactions, start=q.trailing_12m_start, as_of=q.end)
    cols = ["monetary", "gross_profit", "frequency", "returns_amount"]
    np.testing.assert_allclose(sa[cols].sum().to_numpy(), sb[cols].sum().to_numpy(), rtol=1e-9)
    for col in cols:
        np.testing.assert_allclose(
            np.sort(sa[col].to_numpy()), np.sort(sb[col].to_numpy()), rtol=1e-9
        )
    ca = abc_summary(abc_classes(sa, "monetary"))[["abc_class", "count", "monetary_share"]]
    cb = abc_summary(abc_classes(sb, "monetary"))[["abc_class", "count", "monetary_share"]]
    pd.testing.assert_frame_equal(ca, cb)
    # tag classes are kept (tags are not masked)
    rules = load_tag_rules()
    pd.testing.assert_frame_equal(
        tag_class_counts(tag_classes(a["customers"], rules), rules),
        tag_class_counts(tag_classes(b["customers"], rules), rules),
    )


def test_scaled_sample_keeps_every_class_and_share(sample_dir, tmp_path):
    tx = aio.load_dataset(sample_dir).transactions
    scaled = mask_tables({"transactions": tx}, seed=2, scale=0.37)["transactions"]
    q = latest_complete_quarter(tx["date"])
    sa = customer_summary(tx, start=q.trailing_12m_start, as_of=q.end)
    sb = customer_summary(scaled, start=q.trailing_12m_start, as_of=q.end)
    np.testing.assert_allclose(sb["monetary"].sum(), 0.37 * sa["monetary"].sum(), rtol=1e-4)
    ca = abc_summary(abc_classes(sa, "monetary"))
    cb = abc_summary(abc_classes(sb, "monetary"))
    assert ca["count"].tolist() == cb["count"].tolist()
    np.testing.assert_allclose(ca["monetary_share"], cb["monetary_share"], atol=1e-6)
