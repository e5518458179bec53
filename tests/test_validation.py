"""Every validation message names the file, the column, the rows and what was expected."""

import hashlib

import pytest

from analysis.data import io as aio
from analysis.data.validation import DataError

HEADER = "customer_id,date,amount\n"


def _load(tmp_path, text, name="transactions.csv", extra=None):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    for fname, content in (extra or {}).items():
        (tmp_path / fname).write_text(content, encoding="utf-8")
    return path, lambda: aio.load_dataset(tmp_path)


def test_missing_required_column(tmp_path):
    _, load = _load(tmp_path, "customer_id,date\na,2025-01-01\n")
    with pytest.raises(
        DataError,
        match=r"transactions\.csv, column 'amount': required column missing.*found customer_id, date",
    ):
        load()


def test_text_in_amount(tmp_path):
    _, load = _load(tmp_path, HEADER + "a,2025-01-01,12\nb,2025-01-02,twelve\n")
    with pytest.raises(
        DataError,
        match=r"column 'amount': 1 value\(s\) are not numbers: line 3 'twelve'.*Expected a finite number",
    ):
        load()


def test_impossible_date(tmp_path):
    _, load = _load(tmp_path, HEADER + "a,2025-02-30,12\n")
    with pytest.raises(
        DataError, match=r"column 'date': 1 value\(s\) are not valid dates: line 2 '2025-02-30'"
    ):
        load()


def test_empty_file(tmp_path):
    _, load = _load(tmp_path, b"")
    with pytest.raises(DataError, match=r"transactions\.csv: the file is empty"):
        load()


def test_header_only_is_an_empty_table(tmp_path):
    _, load = _load(tmp_path, HEADER)
    with pytest.raises(DataError, match="the transactions table is empty"):
        load()


def test_binary_file_named_csv(tmp_path):
    _, load = _load(tmp_path, b"PK\x03\x04\x14\x00\x06\x00binary\x00\x00junk")
    with pytest.raises(DataError, match="binary file, not CSV text"):
        load()


def test_blank_required_value(tmp_path):
    _, load = _load(tmp_path, HEADER + "a,2025-01-01,1\n,2025-01-01,2\n")
    with pytest.raises(
        DataError, match=r"column 'customer_id': 1 row\(s\) have no value: line 3\b"
    ):
        load()


def test_customer_not_in_customers(tmp_path):
    _, load = _load(
        tmp_path,
        HEADER + "a,2025-01-01,1\nzz,2025-01-01,2\n",
        extra={"customers.csv": "customer_id,name\na,甲\n"},
    )
    with pytest.raises(
        DataError,
        match=r"column 'customer_id': 1 row\(s\) refer to a customer_id that is not in the customers table: line 3 'zz'",
    ):
        load()


def test_duplicate_keys(tmp_path):
    _, load = _load(
        tmp_path,
        HEADER + "a,2025-01-01,1\n",
        extra={"customers.csv": "customer_id,name\na,甲\nb,乙\na,丙\n"},
    )
    with pytest.raises(
        DataError,
        match=r"customers\.csv, column 'customer_id': duplicate key \(customer_id\) on lines 2, 4",
    ):
        load()


def test_ragged_csv(tmp_path):
    _, load = _load(tmp_path, HEADER + "a,2025-01-01,1\nb,2025-01-01,2,9,9\n")
    with pytest.raises(
        DataError, match=r"more fields than the header: line 3 has 5 fields; the header has 3"
    ):
        load()


def test_bad_columns_yaml(tmp_path):
    _, load = _load(
        tmp_path, HEADER + "a,2025-01-01,1\n", extra={"columns.yaml": "orders: {a: b}\n"}
    )
    with pytest.raises(DataError, match="columns.yaml: unknown table 'orders'"):
        load()


def test_failed_validation_leaves_file_byte_identical(tmp_path):
    path, load = _load(tmp_path, HEADER + "a,2025-01-01,abc\n")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DataError):
        load()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_error_carries_structured_fields(tmp_path):
    _, load = _load(tmp_path, HEADER + "a,2025-01-01,1\nb,2025-01-01,x\nc,2025-01-01,y\n")
    with pytest.raises(DataError) as info:
        load()
    assert info.value.column == "amount" and info.value.rows == [3, 4]
    assert info.value.file.endswith("transactions.csv")


def test_unquoted_thousands_separator_is_not_silently_shifted(tmp_path):
    _, load = _load(tmp_path, HEADER + "a,2025-01-01,1,200.50\nb,2025-01-02,3\n")
    with pytest.raises(DataError, match="more fields than the header"):
        load()
