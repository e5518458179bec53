"""Staff tables: seconds per row of the Excel copy (XlsxWriter, the project's writer; openpyxl, its
former one) and of the CSV, and the Excel row limit that keeps five long staff tables in budget.

    .venv/bin/python bench/staff_tables.py                 # 50,000 rows, openpyxl at 10,000
    .venv/bin/python bench/staff_tables.py --rows 20000 --openpyxl-rows 0

1. A 24-column frame (text with Chinese, floats with 10% NA, ints, dates, booleans, nullable ints)
   is written by ``analysis.data.io.write_frame`` (.xlsx and .csv) and by the former openpyxl
   write-only writer (every text cell forced to a string cell), kept here for the comparison.
2. Frames shaped like the five staff tables of pages 01, 04, 08 and 09 (their column counts and
   kinds) are written as .xlsx; the sum of their per-row times gives the row limit for a budget
   (``--budget``, default 15 s): ``limit = budget / sum(seconds per row)``, rounded down.

Times are medians over ``--repeat`` runs: CPU seconds of this process (what the writing costs on a
core of its own; the limit is computed from them) and wall seconds (what it took beside whatever
else the machine ran).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import io as aio

#: the staff tables' columns by kind (t text, f float, i int, b bool, d date), as the pages write them
TABLES = {
    "customer_roster": "ttttt" + "bfff" + "tttf" + "tftt" + "tffttt" + "tttttff",  # page 01
    "churn_risk": "tttfffftfffff",  # page 04 (today its top_n rows only)
    "customer_value_forecast": "tttttt" + "ffffffffff",  # page 08
    "retention_actions": "ttfffttitt" + "t",  # page 09
    "win_back": "ttdfftttbit",  # page 09
}


def frame(kinds: str, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows with one column per letter of ``kinds``."""
    r = np.random.default_rng(seed)
    words = np.array(
        ["A 类", "重要客户", "培育", "价格敏感;回款快", "华东", "=cmd", ""], dtype=object
    )
    cols = {}
    for j, k in enumerate(kinds):
        if k == "t" and j == 0:
            v = np.array([f"C{i:07d}" for i in range(n)], dtype=object)
        elif k == "t" and j == 1:
            v = np.array([f"客户{i}商贸有限公司" for i in range(n)], dtype=object)
        elif k == "t":
            v = pd.array(np.where(r.random(n) < 0.1, None, r.choice(words, n)), dtype="str")
        elif k == "f":
            v = np.where(r.random(n) < 0.1, np.nan, r.lognormal(8, 1.5, n).round(2))
        elif k == "i":
            v = r.integers(0, 400, n)
        elif k == "b":
            v = r.random(n) < 0.5
        else:
            v = pd.Timestamp("2024-01-01") + pd.to_timedelta(r.integers(0, 700, n), unit="D")
        cols[f"c{j}"] = v
    return pd.DataFrame(cols)


def mixed_frame(n: int) -> pd.DataFrame:
    """The 24-column frame of step 1."""
    df = frame("tttttttttfffffiiiiiiddbb", n, seed=1)
    return df.assign(c23=pd.array(np.where(np.arange(n) % 5 == 0, None, 7), dtype="Int64"))


def write_openpyxl(df: pd.DataFrame, path: Path) -> None:
    """The former writer: openpyxl write-only, every text cell marked as a string cell."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()

    def cell(v):
        if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
            v = None
        elif isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        elif hasattr(v, "item") and not isinstance(v, str):
            v = v.item()
        c = WriteOnlyCell(ws, value=v)
        if isinstance(c.value, str):
            c.data_type = "s"
        return c

    ws.append([cell(str(c)) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        ws.append([cell(v) for v in row])
    wb.save(path)


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` (CPU time: what the writer costs on a free core)."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--openpyxl-rows", type=int, default=10_000, help="0: skip openpyxl")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--budget", type=float, default=15.0, help="seconds for five staff tables")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        df = mixed_frame(args.rows)
        cells = df.shape[1]
        print(f"step 1: {args.rows:,} rows x {cells} columns")
        runs = [("xlsxwriter", args.rows, lambda d: aio.write_frame(d, out / "x.xlsx"))]
        runs.append(("csv", args.rows, lambda d: aio.write_frame(d, out / "x.csv")))
        if args.openpyxl_rows:
            runs.append(
                ("openpyxl", args.openpyxl_rows, lambda d: write_openpyxl(d, out / "o.xlsx"))
            )
        for name, n, fn in runs:
            part = df.head(n)
            w, s = timed(lambda fn=fn, part=part: fn(part), args.repeat)
            print(
                f"  {name:<11} {n:>9,} rows {s:7.2f} CPU s ({w:.2f} wall)  "
                f"{s / n * 1e6:7.1f} us/row {s / n / cells * 1e6:6.2f} us/cell"
            )
        print(f"step 2: the staff tables' shapes, {args.rows:,} rows each (.xlsx)")
        per_row = {}
        for name, kinds in TABLES.items():
            t = frame(kinds, args.rows)
            w, s = timed(lambda t=t, p=out / f"{name}.xlsx": aio.write_frame(t, p), args.repeat)
            per_row[name] = s / args.rows
            print(
                f"  {name:<24} {len(kinds):>3} columns {s:7.2f} CPU s ({w:.2f} wall)  "
                f"{per_row[name] * 1e6:7.1f} us/row"
            )
        total = sum(per_row.values())
        limit = int(args.budget / total)
        print(
            f"  five tables: {total * 1e6:.0f} CPU us per row of each; {args.budget:g} s buys "
            f"{limit:,} rows per table"
        )


if __name__ == "__main__":
    main()
