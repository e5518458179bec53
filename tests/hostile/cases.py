"""Bad and awkward inputs, one small data directory each, built from bytes in a tmp folder.

A case is a dict of file name -> content (bytes, or a function writing the file, for
Excel and Parquet), the exit code ``ccm check`` must give (0 read, 2 refused), regular
expressions the output must contain (``expect``) and must not contain (``reject``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd

HEADER = "customer_id,date,amount\n"
GOOD = HEADER + "C001,2025-01-03,100\nC002,2025-02-01,-30\n"
ZH = "客户编号,日期,金额\n华东医药批发,2025-01-03,100\n苏州康泰大药房,2025-02-01,-30\n"
UNICODE_TEXT = (
    'customer_id\tdate\tamount\n华东医药批发\t2025-01-03\t"1,200.50"\nC002\t2025-02-01\t-30\n'
)
NO_TRACE = [r"Traceback", r"StopIteration", r"OutOfBounds", r"Mixed timezones"]


@dataclass
class Case:
    name: str
    files: dict[str, bytes | str | Callable[[Path], None]]
    exit_code: int
    expect: list[str] = field(default_factory=list)
    reject: list[str] = field(default_factory=list)


def _xlsx(rows_by_sheet: dict[str, list[list]]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for sheet, rows in rows_by_sheet.items():
            ws = wb.create_sheet(sheet)
            for row in rows:
                ws.append(row)
        wb.save(path)

    return write


def _parquet(df: pd.DataFrame) -> Callable[[Path], None]:
    return lambda path: df.to_parquet(path, index=False)


def _yaml(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


TX_ROWS = [
    ["customer_id", "date", "amount"],
    ["C001", "2025-01-03", 100],
    ["C002", "2025-02-01", -30],
]
GBK_BAD = ZH.encode("gbk").replace("苏州".encode("gbk"), b"\xff\xfe" + "州".encode("gbk"))
INTER = "customer_id,date,kind,note\n"

CASES: list[Case] = [
    # ----------------------------------------------------------- encodings and BOMs (item 5)
    Case("utf8_plain", {"transactions.csv": GOOD.encode()}, 0, [r"transactions\s+2 rows"]),
    Case(
        "utf8_bom",
        {"transactions.csv": b"\xef\xbb\xbf" + GOOD.encode()},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "gbk_chinese_headers", {"transactions.csv": ZH.encode("gbk")}, 0, [r"transactions\s+2 rows"]
    ),
    Case(
        "gb18030_rare_char",
        {"transactions.csv": ZH.replace("苏州", "𠀋州").encode("gb18030")},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "gbk_with_invalid_bytes",
        {"transactions.csv": GBK_BAD},
        2,
        [r"transactions\.csv", r"line 3", r"byte offset \d+", r"GB18030", r"0xff"],
        [r"Л|Ж|ISO-8859"],
    ),
    Case(
        "windows_1252_is_not_guessed",
        {"transactions.csv": (HEADER + "Café,2025-01-03,100\n").encode("cp1252")},
        2,
        [r"transactions\.csv", r"line 2", r"byte offset \d+", r"UTF-8"],
    ),
    Case(
        "utf16le_bom_tab",
        {"transactions.csv": b"\xff\xfe" + UNICODE_TEXT.encode("utf-16-le")},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "utf16be_bom_comma",
        {"transactions.csv": b"\xfe\xff" + UNICODE_TEXT.replace("\t", ",").encode("utf-16-be")},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "utf16le_no_bom_tab",
        {"transactions.csv": UNICODE_TEXT.encode("utf-16-le")},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "utf32_bom",
        {"transactions.csv": UNICODE_TEXT.encode("utf-32")},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "nul_byte_after_8k",
        {
            "transactions.csv": (GOOD + "C003,2025-01-05,1\n" * 800).encode()
            + b"C004,2025-01-\x0002,5\n"
        },
        2,
        [r"transactions\.csv", r"line 804", r"NUL"],
    ),
    Case(
        "xlsx_named_csv",
        {"transactions.csv": b"PK\x03\x04\x14\x00\x06\x00binary\x00\x00junk"},
        2,
        [r"transactions\.csv", r"binary file"],
    ),
    # ----------------------------------------------------------- empty and near-empty
    Case("empty_file", {"transactions.csv": b""}, 2, [r"transactions\.csv", r"empty"]),
    Case("bom_only", {"transactions.csv": b"\xef\xbb\xbf"}, 2, [r"transactions\.csv", r"empty"]),
    Case(
        "blank_lines_only", {"transactions.csv": b"\n\r\n  \n"}, 2, [r"transactions\.csv", r"empty"]
    ),
    Case(
        "header_only",
        {"transactions.csv": HEADER.encode()},
        2,
        [r"transactions\.csv", r"table is empty"],
    ),
    Case(
        "missing_required_column",
        {"transactions.csv": b"customer_id,date\nC001,2025-01-03\n"},
        2,
        [r"transactions\.csv, column 'amount'", r"required column missing"],
    ),
    Case(
        "text_in_amount",
        {"transactions.csv": (GOOD + "C003,2025-02-02,twelve\n").encode()},
        2,
        [r"column 'amount'", r"line 4 'twelve'", r"Expected a"],
    ),
    Case(
        "blank_required_value",
        {"transactions.csv": (GOOD + ",2025-02-02,5\n").encode()},
        2,
        [r"column 'customer_id'", r"line 4"],
    ),
    # ----------------------------------------------------------- delimiters and quoting (item 13)
    Case(
        "semicolon_delimited",
        {"transactions.csv": GOOD.replace(",", ";").encode()},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "tab_delimited",
        {"transactions.csv": GOOD.replace(",", "\t").encode()},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "pipe_delimited",
        {"transactions.csv": GOOD.replace(",", "|").encode()},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "crlf_line_ends",
        {"transactions.csv": GOOD.replace("\n", "\r\n").encode()},
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "decimal_comma_in_semicolon_file",
        {"transactions.csv": b"customer_id;date;amount\nC001;2025-01-03;1200,50\n"},
        2,
        [r"column 'amount'", r"line 2 '1200,50'", r"groups of three digits"],
    ),
    Case(
        "unquoted_thousands_separator",
        {
            "transactions.csv": (
                HEADER + "C001,2025-01-03,100\nC002,2025-01-04,1,200.50\nC003,2025-01-05,5\n"
            ).encode()
        },
        2,
        [r"transactions\.csv", r"line 3\b", r"4 fields", r"header has 3", r"quote"],
    ),
    Case(
        "unterminated_quote",
        {"transactions.csv": (HEADER + 'C001,2025-01-03,"100\nC002,2025-01-04,5\n').encode()},
        2,
        [r"transactions\.csv", r"line 2", r"quot"],
    ),
    Case(
        "blank_line_keeps_line_numbers",
        {"transactions.csv": (HEADER + "C001,2025-01-03,100\n\nC002,2025-01-04,x\n").encode()},
        2,
        [r"line 4 'x'"],
    ),
    Case(
        "quoted_multiline_note",
        {
            "transactions.csv": GOOD.encode(),
            "interactions.csv": (
                INTER + 'C001,2025-01-03,visit,"第一行\n第二行"\nC002,2025-01-04,oops,x\n'
            ).encode(),
        },
        2,
        [r"interactions\.csv, column 'kind'", r"line 4 'oops'"],
    ),
    # ----------------------------------------------------------- headers and columns.yaml (items 9, 13)
    Case(
        "duplicate_header",
        {"transactions.csv": b"customer_id,date,amount,amount\nC001,2025-01-03,100,90\n"},
        2,
        [r"transactions\.csv, column 'amount'", r"'amount' \(column 3\)", r"'amount' \(column 4\)"],
    ),
    Case(
        "duplicate_after_alias",
        {"transactions.csv": "客户编号,日期,金额,amount\nC001,2025-01-03,100,90\n".encode()},
        2,
        [r"column 'amount'", r"'金额' \(column 3\)", r"'amount' \(column 4\)"],
    ),
    Case(
        "columns_yaml_unknown_canonical_name",
        {
            "transactions.csv": b"customer_id,date,money\nC001,2025-01-03,100\n",
            "columns.yaml": _yaml("transactions:\n  money: amout\n"),
        },
        2,
        [r"columns\.yaml", r"'money'", r"'amout'", r"amount"],
        [r"^error: transactions\.csv"],
    ),
    Case(
        "columns_yaml_key_not_in_file",
        {
            "transactions.csv": b"customer_id,date,sales_net\nC001,2025-01-03,100\n",
            "columns.yaml": _yaml("transactions:\n  net_sales: amount\n"),
        },
        2,
        [r"column 'amount'", r"required column missing", r"columns\.yaml maps 'net_sales'"],
    ),
    Case(
        "columns_yaml_syntax_error",
        {
            "transactions.csv": GOOD.encode(),
            "columns.yaml": _yaml("transactions:\n  a: b\n c: [d\n"),
        },
        2,
        [r"columns\.yaml", r"line \d"],
    ),
    Case(
        "columns_yaml_in_gbk",
        {
            "transactions.csv": "代号,业务日期,净额\nC001,2025-01-03,100\n".encode("gbk"),
            "columns.yaml": _yaml(
                "transactions:\n  代号: customer_id\n  业务日期: date\n  净额: amount\n", "gbk"
            ),
        },
        0,
        [r"transactions\s+1 rows"],
    ),
    Case(
        "columns_yaml_bad_header_row",
        {
            "transactions.csv": GOOD.encode(),
            "columns.yaml": _yaml("header_row:\n  transactions: two\n"),
        },
        2,
        [r"columns\.yaml", r"header_row", r"whole number"],
    ),
    Case(
        "csv_title_line_above_header",
        {"transactions.csv": ("2025年销售明细\n" + GOOD).encode()},
        2,
        [r"transactions\.csv", r"line 2", r"header_row:", r"columns\.yaml"],
    ),
    Case(
        "columns_yaml_header_row_past_the_end",
        {"transactions.csv": GOOD.encode(), "columns.yaml": _yaml("header_row: 9\n")},
        2,
        [r"columns\.yaml", r"header_row: 9", r"beyond the end of the file \(3 lines\)"],
    ),
    Case(
        "csv_header_row_set",
        {
            "transactions.csv": ("2025年销售明细\n" + GOOD).encode(),
            "columns.yaml": _yaml("header_row:\n  transactions: 2\n"),
        },
        0,
        [r"transactions\s+2 rows"],
    ),
    # ----------------------------------------------------------- Excel (item 13)
    Case(
        "xlsx_title_rows_above_header",
        {"transactions.xlsx": _xlsx({"Sheet1": [["2025年销售明细"], [], *TX_ROWS]})},
        2,
        [r"transactions\.xlsx", r"line 3", r"header_row:", r"columns\.yaml"],
    ),
    Case(
        "xlsx_header_row_set",
        {
            "transactions.xlsx": _xlsx({"Sheet1": [["2025年销售明细"], [], *TX_ROWS]}),
            "columns.yaml": _yaml("header_row: 3\n"),
        },
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "xlsx_data_on_second_sheet",
        {"transactions.xlsx": _xlsx({"说明": [["本表由ERP导出"]], "明细": TX_ROWS})},
        2,
        [r"transactions\.xlsx", r"sheet '明细'", r"sheets:"],
    ),
    Case(
        "xlsx_sheet_named_in_yaml_missing",
        {
            "transactions.xlsx": _xlsx({"Sheet1": TX_ROWS}),
            "columns.yaml": _yaml("sheets:\n  transactions: 明细\n"),
        },
        2,
        [r"'明细'", r"Sheet1", r"columns\.yaml"],
    ),
    Case(
        "xlsx_sheet_position_out_of_range",
        {
            "transactions.xlsx": _xlsx({"Sheet1": TX_ROWS}),
            "columns.yaml": _yaml("sheets:\n  transactions: 3\n"),
        },
        2,
        [r"columns\.yaml", r"sheet 3", r"Sheet1"],
    ),
    Case(
        "columns_yaml_file_name_not_text",
        {
            "transactions.csv": GOOD.encode(),
            "columns.yaml": _yaml("files:\n  transactions: [a, b]\n"),
        },
        2,
        [r"columns\.yaml", r"files: for transactions"],
    ),
    Case(
        "xlsx_duplicate_header",
        {
            "transactions.xlsx": _xlsx(
                {
                    "Sheet1": [
                        ["customer_id", "date", "amount", "金额"],
                        ["C001", "2025-01-03", 1, 2],
                    ]
                }
            )
        },
        2,
        [r"'amount' \(column 3\)", r"'金额' \(column 4\)"],
    ),
    Case(
        "xlsx_error_names_excel_row",
        {"transactions.xlsx": _xlsx({"Sheet1": [*TX_ROWS, [], ["C003", "2025-02-02", "abc"]]})},
        2,
        [r"column 'amount'", r"line 5 'abc'"],
    ),
    # ----------------------------------------------------------- dates (items 6, 7, 12)
    Case(
        "date_far_future",
        {"transactions.csv": (GOOD + "C003,2099-12-31,5\n").encode()},
        2,
        [r"column 'date'", r"line 4 '2099-12-31'", r"after the run date"],
    ),
    Case(
        "date_implausibly_old",
        {"transactions.csv": (GOOD + "C003,1800-01-01,5\n").encode()},
        2,
        [r"column 'date'", r"line 4 '1800-01-01'", r"before 1990-01-01"],
    ),
    Case(
        "date_year_typo",
        {"transactions.csv": (GOOD + "C003,0202-05-01,5\n").encode()},
        2,
        [r"column 'date'", r"line 4 '0202-05-01'", r"before 1990-01-01", r"year"],
    ),
    Case(
        "date_year_out_of_pandas_range",
        {"transactions.csv": (GOOD + "C003,9999-12-31,5\n").encode()},
        2,
        [r"column 'date'", r"line 4 '9999-12-31'"],
    ),
    Case(
        "date_day_month_ambiguous",
        {"transactions.csv": (HEADER + "C001,01/02/2025,100\nC002,18/01/2025,5\n").encode()},
        2,
        [r"column 'date'", r"line 2 '01/02/2025'", r"day-first", r"date_format"],
    ),
    Case(
        "date_day_first_and_month_first_mixed",
        {"transactions.csv": (HEADER + "C001,18/01/2025,100\nC002,01/18/2025,5\n").encode()},
        2,
        [r"column 'date'", r"line 2 '18/01/2025'", r"line 3 '01/18/2025'"],
    ),
    Case(
        "date_format_day_first",
        {
            "transactions.csv": (HEADER + "C001,01/02/2025,100\nC002,18/01/2025,5\n").encode(),
            "columns.yaml": _yaml("date_format: day-first\n"),
        },
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "date_format_strftime_per_table",
        {
            "transactions.csv": (HEADER + "C001,01/02/2025,100\nC002,18/01/2025,5\n").encode(),
            "columns.yaml": _yaml("date_format:\n  transactions: '%d/%m/%Y'\n"),
        },
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "date_format_strftime_mismatch",
        {
            "transactions.csv": (HEADER + "C001,01/02/2025,100\nC002,2025-01-18,5\n").encode(),
            "columns.yaml": _yaml("date_format: '%d/%m/%Y'\n"),
        },
        2,
        [r"column 'date'", r"line 3 '2025-01-18'", r"%d/%m/%Y"],
    ),
    Case(
        "date_year_first_month_13",
        {"transactions.csv": (GOOD + "C003,2025-13-01,5\n").encode()},
        2,
        [r"line 4 '2025-13-01'"],
    ),
    Case(
        "date_mixed_time_zones",
        {
            "transactions.csv": (
                HEADER + "C001,2025-01-03T10:00:00+08:00,100\nC002,2025-01-04T02:00:00Z,5\n"
            ).encode()
        },
        2,
        [r"column 'date'", r"\+08:00", r"line 2", r"line 3", r"one time zone"],
    ),
    Case(
        "single_time_zone_offset",
        {
            "transactions.csv": (
                HEADER + "C001,2025-03-31T23:30:00+08:00,100\nC002,2025-04-01T08:00:00+08:00,5\n"
            ).encode()
        },
        0,
        [r"transactions\s+2 rows"],
    ),
    Case(
        "due_date_in_future_is_fine",
        {
            "transactions.csv": GOOD.encode(),
            "receivables.csv": b"customer_id,invoice_date,amount,due_date\nC001,2025-01-03,100,2030-01-01\n",
        },
        0,
        [r"receivables\s+1 rows"],
    ),
    Case(
        "due_date_far_future",
        {
            "transactions.csv": GOOD.encode(),
            "receivables.csv": b"customer_id,invoice_date,amount,due_date\nC001,2025-01-03,100,2099-01-01\n",
        },
        2,
        [r"receivables\.csv, column 'due_date'", r"line 2 '2099-01-01'", r"10 years"],
    ),
    # ----------------------------------------------------------- numbers (item 8)
    Case(
        "amount_inf",
        {"transactions.csv": (GOOD + "C003,2025-02-02,inf\n").encode()},
        2,
        [r"column 'amount'", r"line 4 'inf'", r"infinite"],
    ),
    Case(
        "amount_1e400",
        {"transactions.csv": (GOOD + "C003,2025-02-02,1e400\n").encode()},
        2,
        [r"column 'amount'", r"line 4 '1e400'"],
    ),
    Case(
        "amount_nan_text",
        {"transactions.csv": (GOOD + "C003,2025-02-02,nan\n").encode()},
        2,
        [r"column 'amount'", r"line 4 'nan'"],
    ),
    Case(
        "amount_absurdly_large",
        {"transactions.csv": (GOOD + "C003,2025-02-02,1e300\n").encode()},
        2,
        [r"column 'amount'", r"line 4 '1e300'"],
    ),
    Case(
        "parquet_with_inf",
        {
            "transactions.parquet": _parquet(
                pd.DataFrame(
                    {
                        "customer_id": ["a", "b"],
                        "date": pd.to_datetime(["2025-01-01"] * 2),
                        "amount": [1.0, float("inf")],
                    }
                )
            )
        },
        2,
        [r"transactions\.parquet, column 'amount'", r"line 3"],
    ),
    # ----------------------------------------------------------- cross-column and table rules (items 10, 11)
    Case(
        "paid_before_invoice",
        {
            "transactions.csv": GOOD.encode(),
            "receivables.csv": b"customer_id,invoice_id,invoice_date,amount,paid_date\n"
            b"C001,I1,2025-03-01,100,2025-03-20\nC002,I2,2025-03-01,50,2024-12-31\n",
        },
        2,
        [r"receivables\.csv, column 'paid_date'", r"line 3", r"2024-12-31", r"invoice_date"],
    ),
    Case(
        "unknown_interaction_kind",
        {
            "transactions.csv": GOOD.encode(),
            "interactions.csv": (INTER + "C001,2025-01-03,complain,x\n").encode(),
        },
        2,
        [r"interactions\.csv, column 'kind'", r"line 2 'complain'", r"complaint, praise"],
    ),
    Case(
        "interaction_kinds_in_chinese",
        {
            "transactions.csv": GOOD.encode(),
            "interactions.csv": (
                INTER + "C001,2025-01-03,投诉,x\nC001,2025-01-04,表扬,x\nC002,2025-01-05,拜访,x\n"
                "C002,2025-01-06,建议,x\nC002,2025-01-07, Task ,x\n"
            ).encode(),
        },
        0,
        [r"interactions\s+5 rows"],
    ),
    Case(
        "duplicate_customer_ids",
        {
            "transactions.csv": GOOD.encode(),
            "customers.csv": b"customer_id,name\nC001,a\nC002,b\nC001,c\n",
        },
        2,
        [r"customers\.csv, column 'customer_id'", r"lines 2, 4"],
    ),
    Case(
        "customer_not_in_customers",
        {
            "transactions.csv": (GOOD + "\nC009,2025-02-02,5\n").encode(),
            "customers.csv": b"customer_id\nC001\nC002\n",
        },
        2,
        [r"transactions\.csv, column 'customer_id'", r"line 5 'C009'"],
    ),
]


def build(case: Case, folder: Path) -> Path:
    """Write a case's files into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in case.files.items():
        path = folder / name
        if callable(content):
            content(path)
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


for _case in CASES:
    _case.reject = [*_case.reject, *NO_TRACE]
