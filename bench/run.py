"""Benchmark: the project's customer summary against DuckDB SQL, lifetimes and pymc-marketing.

    .venv/bin/python bench/run.py --rows 1000000 10000000 --repeat 3

1. Generates N synthetic transaction lines per size (about N/20 customers with a
   heavy-tailed number of lines each, two years 2024-2025, times of day, ~2% returns,
   a cost column) as Parquet under ``bench/.data`` (cached; git-ignored).
2. Checks on a 200,000-line set that every engine agrees on the numbers they share
   (customers, purchase days, first/last purchase, tenure, net sales, ABC class).
3. Times every engine from the Parquet file to a pandas summary, each run in a fresh
   subprocess, and reports medians over ``--repeat`` runs, peak memory (peak RSS of the
   worker and its children, sampled, and the worker's own ``ru_maxrss``) and ratios.

Engines: ``ccm`` (``analysis.engine.aggregate.customer_summary`` on the Parquet path: the
fast path, DuckDB behind the shared SQL), ``duckdb_sql`` (the same summary written
as one plain DuckDB query, default DuckDB settings), ``ccm_pandas`` (the pandas
reference, reading the Parquet file into pandas), ``lifetimes``
(``summary_data_from_transaction_data``), ``pymc_marketing`` (``clv.rfm_summary``)
and, with ``--spark``, ``spark`` (the shared SQL on a local Spark session).

The peers are bench-only dependencies, installed in their own venv ``bench/.venv``
from ``bench/requirements.txt`` (created on first use; ``--no-peers`` skips them).
A peer is timed up to ``--peer-max-rows`` lines; above that its time is extrapolated
linearly from the largest measured size and marked ``~`` (memory is then not given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
PEER_VENV = HERE / ".venv"
AS_OF = "2026-01-01"  # day after the two generated years: nothing is cut off
FIRST_DAY = "2024-01-01"
DAYS = 731  # 2024 is a leap year: 2024-01-01 .. 2025-12-31
ABC = (0.75, 0.95)
CHECK_ROWS = 200_000
ENGINES = ["ccm", "duckdb_sql", "ccm_pandas", "lifetimes", "pymc_marketing"]
PEERS = {"lifetimes", "pymc_marketing"}


# ---------------------------------------------------------------- data
def data_path(rows: int, seed: int = 20260101) -> Path:
    return DATA / f"tx_{rows}_s{seed}.parquet"


def generate(rows: int, *, seed: int = 20260101, chunk: int = 2_000_000) -> Path:
    """Write ``rows`` synthetic lines to Parquet in chunks (bounded memory); cached."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = data_path(rows, seed)
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_cust = max(1, rows // 20)
    # heavy tail: Pareto(1.5) weights, about 20 lines per customer on average
    weight = 1.0 + rng.pareto(1.5, n_cust)
    cum = np.cumsum(weight)
    cum /= cum[-1]
    # when each customer buys: arrivals skewed to the early days, 30% leave early
    first = np.floor(DAYS * rng.random(n_cust) ** 2).astype(np.int32)
    last = np.where(
        rng.random(n_cust) < 0.7, DAYS - 1, first + np.floor((DAYS - first) * rng.random(n_cust))
    ).astype(np.int32)
    size = rng.lognormal(5.0, 1.0, n_cust)  # typical line value of the customer (CNY)
    ids = pa.array(np.char.add("C", np.char.zfill(np.arange(n_cust).astype(str), 8)))
    t0 = np.datetime64(FIRST_DAY, "us")
    schema = pa.schema(
        [
            ("customer_id", pa.string()),
            ("date", pa.timestamp("us")),
            ("amount", pa.float64()),
            ("cost", pa.float64()),
        ]
    )
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        done = 0
        while done < rows:
            n = min(chunk, rows - done)
            # the first n_cust lines give every customer one line; the rest follow the weights
            c = np.arange(done, done + n, dtype=np.int64)
            rest = c >= n_cust
            c[rest] = np.searchsorted(cum, rng.random(int(rest.sum())))
            c = np.minimum(c, n_cust - 1).astype(np.int32)
            day = first[c] + np.floor(rng.random(n) * (last[c] - first[c] + 1)).astype(np.int32)
            secs = rng.integers(8 * 3600, 20 * 3600, n)
            date = t0 + day.astype("timedelta64[D]") + (secs * 1_000_000).astype("timedelta64[us]")
            amount = np.round(size[c] * rng.lognormal(0.0, 0.5, n), 2)
            is_return = rng.random(n) < 0.02
            amount = np.where(is_return, -np.round(amount * rng.uniform(0.2, 1.0, n), 2), amount)
            cost = np.round(amount * rng.uniform(0.55, 0.85, n), 2)
            order = rng.permutation(n)  # lines in no particular order
            writer.write_table(
                pa.table(
                    {
                        "customer_id": ids.take(pa.array(c[order])),
                        "date": pa.array(date[order]),
                        "amount": amount[order],
                        "cost": cost[order],
                    },
                    schema=schema,
                ),
                row_group_size=1_000_000,
            )
            done += n
    tmp.rename(path)
    return path


# ---------------------------------------------------------------- workers (in subprocesses)
DUCKDB_SQL = """
WITH per_customer AS (
    SELECT customer_id,
           MIN(CAST(date AS DATE)) FILTER (WHERE amount > 0) AS first_date,
           MAX(CAST(date AS DATE)) FILTER (WHERE amount > 0) AS last_date,
           COUNT(DISTINCT CAST(date AS DATE)) FILTER (WHERE amount > 0) AS frequency,
           SUM(amount) AS monetary
    FROM read_parquet($path)
    GROUP BY customer_id
), ranked AS (
    SELECT *,
           SUM(GREATEST(monetary, 0)) OVER (ORDER BY monetary DESC, customer_id
                                            ROWS UNBOUNDED PRECEDING) - GREATEST(monetary, 0) AS row_before,
           SUM(GREATEST(monetary, 0)) OVER () AS total
    FROM per_customer
), tied AS (
    SELECT *, MIN(row_before) OVER (PARTITION BY monetary) AS before FROM ranked
)
SELECT customer_id, first_date, last_date,
       DATE '{as_of}' - last_date AS recency_days,
       DATE '{as_of}' - first_date AS tenure_days,
       frequency, monetary,
       CASE WHEN monetary <= 0 OR total <= 0 THEN 'C'
            WHEN before / total < {a} - 1e-12 THEN 'A'
            WHEN before / total < {b} - 1e-12 THEN 'B' ELSE 'C' END AS abc_class
FROM tied
ORDER BY customer_id
"""


def _prepare(engine: str, path: str):
    """Import what ``engine`` needs (not timed); return (the timed call, versions)."""
    import pandas as pd

    versions = {"python": platform.python_version(), "pandas": pd.__version__}
    if engine in ("ccm", "ccm_pandas", "spark"):
        from analysis.engine.aggregate import customer_summary
    if engine == "ccm":
        import duckdb

        versions["duckdb"] = duckdb.__version__
        return lambda: customer_summary(path, as_of=AS_OF, abc=ABC), versions
    if engine == "ccm_pandas":
        return lambda: customer_summary(
            pd.read_parquet(path), as_of=AS_OF, abc=ABC, engine="pandas"
        ), versions
    if engine == "spark":
        import pyspark

        from analysis.engine.spark import local_session

        versions["pyspark"] = pyspark.__version__
        local_session("local[2]", shuffle_partitions=8, driver_memory="2g")  # JVM start: not timed
        return lambda: customer_summary(path, as_of=AS_OF, abc=ABC, engine="spark"), versions
    if engine == "duckdb_sql":
        import duckdb

        versions["duckdb"] = duckdb.__version__

        def run():
            con = duckdb.connect()
            out = con.execute(
                DUCKDB_SQL.format(as_of=AS_OF, a=ABC[0], b=ABC[1]), {"path": path}
            ).df()
            con.close()
            return out

        return run, versions
    if engine == "lifetimes":
        import lifetimes
        from lifetimes.utils import summary_data_from_transaction_data

        versions["lifetimes"] = lifetimes.__version__

        def run():
            tx = pd.read_parquet(path, columns=["customer_id", "date", "amount"])
            # lifetimes knows no returns: it gets the purchase lines
            return summary_data_from_transaction_data(
                tx[tx["amount"] > 0],
                "customer_id",
                "date",
                monetary_value_col="amount",
                observation_period_end=AS_OF,
            ).reset_index()

        return run, versions
    if engine == "pymc_marketing":
        import pymc_marketing
        from pymc_marketing.clv import rfm_summary

        versions["pymc_marketing"] = pymc_marketing.__version__

        def run():
            tx = pd.read_parquet(path, columns=["customer_id", "date", "amount"])
            return rfm_summary(
                tx[tx["amount"] > 0],
                "customer_id",
                "date",
                monetary_value_col="amount",
                observation_period_end=AS_OF,
            )

        return run, versions
    raise SystemExit(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES + ['spark'])}")


def _shared_form(engine: str, out):
    """The numbers every engine has, in one shape, indexed by customer_id."""
    import pandas as pd

    if engine in PEERS:
        # BG/NBD convention: frequency = repeat purchase days, recency = last - first,
        # T = observation end - first purchase
        df = pd.DataFrame(
            {
                "customer_id": out["customer_id"].astype("str"),
                "purchase_days": out["frequency"].astype("int64") + 1,
                "active_span_days": out["recency"].astype("int64"),
                "tenure_days": out["T"].astype("int64"),
            }
        )
    else:
        df = out.loc[out["frequency"] > 0]
        first = pd.to_datetime(df["first_date"])
        last = pd.to_datetime(df["last_date"])
        df = pd.DataFrame(
            {
                "customer_id": df["customer_id"].astype("str"),
                "purchase_days": df["frequency"].astype("int64"),
                "active_span_days": (last - first).dt.days.astype("int64"),
                "tenure_days": df["tenure_days"].astype("int64"),
                "recency_days": df["recency_days"].astype("int64"),
                "first_date": first.dt.normalize().astype("datetime64[ns]"),
                "monetary": df["monetary"].astype("float64"),
                "abc_class": df["abc_class"].astype("str"),
            }
        )
    return df.set_index("customer_id").sort_index()


def worker(engine: str, path: str, save: str | None) -> None:
    call, versions = _prepare(engine, path)
    t0, c0 = time.perf_counter(), time.process_time()
    out = call()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    shared = _shared_form(engine, out)
    if save:
        shared.to_parquet(save)
    res = {
        "engine": engine,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows_out": int(len(out)),
        "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": versions,
        "fingerprint": {
            "customers_with_purchase": int(len(shared)),
            "purchase_days": int(shared["purchase_days"].sum()),
            "tenure_days": int(shared["tenure_days"].sum()),
            "active_span_days": int(shared["active_span_days"].sum()),
        },
    }
    print("BENCH-RESULT " + json.dumps(res), flush=True)


# ---------------------------------------------------------------- driver
def python_for(engine: str, args) -> str:
    return args.peer_python if engine in PEERS else sys.executable


def ensure_peer_venv(args) -> bool:
    if Path(args.peer_python).exists():
        return True
    if args.peer_python != str(PEER_VENV / "bin" / "python"):
        return False
    print(f"creating {PEER_VENV} for the bench-only peers (bench/requirements.txt) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(PEER_VENV / "bin" / "pip"), "install", "-q", "-r", str(HERE / "requirements.txt")],
        check=True,
    )
    return True


def run_one(engine: str, path: Path, args, save: Path | None = None) -> dict:
    """One run in a fresh subprocess; peak memory of its whole process tree.

    Peak memory is the larger of the worker's own ``ru_maxrss`` (from ``wait4``) and
    the sampled RSS of the worker plus its children (Spark's JVM is a child).
    """
    import tempfile

    import psutil

    cmd = [
        python_for(engine, args),
        str(Path(__file__).resolve()),
        "--worker",
        engine,
        "--path",
        str(path),
    ] + (["--save", str(save)] if save else [])
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=str(ROOT), env=env)
        ps = psutil.Process(proc.pid)
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                rss = ps.memory_info().rss + sum(
                    c.memory_info().rss for c in ps.children(recursive=True)
                )
                peak = max(peak, rss)
            except psutil.Error:
                pass
            if time.perf_counter() - t0 > args.timeout:
                for child in ps.children(recursive=True):
                    child.kill()
                proc.kill()
                os.waitpid(proc.pid, 0)
                proc.returncode = -9
                return {"engine": engine, "error": f"timed out after {args.timeout:.0f} s"}
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    line = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH-RESULT ")), None)
    if proc.returncode != 0 or line is None:
        return {"engine": engine, "error": (stderr.strip().splitlines() or ["no output"])[-1]}
    res = json.loads(line[len("BENCH-RESULT ") :])
    res["peak_mb"] = max(peak / 2**20, usage.ru_maxrss / 1024)
    res["wall_seconds"] = time.perf_counter() - t0
    return res


def check_agreement(engines, args) -> bool:
    """Every engine on CHECK_ROWS lines; compare the numbers they share."""
    import numpy as np
    import pandas as pd

    path = generate(CHECK_ROWS)
    outs = {}
    for engine in engines:
        save = DATA / f"check_{engine}.parquet"
        res = run_one(engine, path, args, save=save)
        if "error" in res:
            print(f"  {engine:15s} FAILED: {res['error']}")
            return False
        outs[engine] = pd.read_parquet(save)
    ref = outs["ccm_pandas"] if "ccm_pandas" in outs else outs[engines[0]]
    ok = True
    for engine, df in outs.items():
        cols = [c for c in df.columns if c in ref.columns]
        problems = []
        if not df.index.equals(ref.index):
            problems.append(f"customers differ ({len(df)} vs {len(ref)})")
        else:
            for col in cols:
                a, b = df[col], ref[col]
                same = (
                    np.isclose(a, b, rtol=1e-9, atol=1e-6)
                    if col == "monetary"
                    else (a == b) | (a.isna() & b.isna())
                )
                if not same.all():
                    problems.append(f"{col}: {int((~same).sum())} differ")
        print(
            f"  {engine:15s} {'agrees' if not problems else 'DISAGREES: ' + '; '.join(problems)}"
            f" on {', '.join(cols)} ({len(df):,} customers)"
        )
        ok &= not problems
    return ok


def machine() -> dict:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    import psutil

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def fmt_row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="sizes to time (transaction lines); default 1M and 10M",
    )
    p.add_argument(
        "--repeat", type=int, default=3, help="runs per engine and size (median reported)"
    )
    p.add_argument(
        "--engines",
        nargs="+",
        default=None,
        help=f"engines to run (default: {' '.join(ENGINES)}; add 'spark' or use --spark)",
    )
    p.add_argument("--spark", action="store_true", help="also run the Spark path (local[2])")
    p.add_argument("--no-peers", action="store_true", help="skip lifetimes and pymc-marketing")
    p.add_argument(
        "--peer-max-rows",
        type=int,
        default=10_000_000,
        help="largest size at which peers and the pandas reference are timed; above "
        "it their time is extrapolated linearly from the largest measured size",
    )
    p.add_argument(
        "--peer-python",
        default=str(PEER_VENV / "bin" / "python"),
        help="interpreter with the bench-only peers (default bench/.venv, created from "
        "bench/requirements.txt when missing)",
    )
    p.add_argument("--timeout", type=float, default=1800, help="seconds before a run is abandoned")
    p.add_argument("--no-check", action="store_true", help="skip the agreement check")
    p.add_argument(
        "--json", default=None, help="also write the results here (default bench/.data/)"
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    p.add_argument("--save", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.path, args.save)
        return 0

    engines = args.engines or list(ENGINES)
    if args.spark and "spark" not in engines:
        engines.append("spark")
    if args.no_peers or (PEERS & set(engines) and not ensure_peer_venv(args)):
        engines = [e for e in engines if e not in PEERS]
    info = {"machine": machine(), "args": vars(args), "results": []}
    print(f"machine: {info['machine']}", flush=True)

    if not args.no_check:
        print(f"agreement check on {CHECK_ROWS:,} lines:", flush=True)
        if not check_agreement(engines, args):
            print("engines disagree: no timings")
            return 1

    results = info["results"]
    for rows in args.rows:
        t = time.perf_counter()
        path = generate(rows)
        print(
            f"\n{rows:,} lines: {path.name} ({path.stat().st_size / 2**20:.0f} MB, "
            f"ready in {time.perf_counter() - t:.0f} s)",
            flush=True,
        )
        todo = [
            e
            for e in engines
            if not ((e in PEERS or e == "ccm_pandas") and rows > args.peer_max_rows)
        ]
        runs = {e: [] for e in todo}
        failed = {}
        # round robin (engine after engine, then again) so that load from other
        # processes on the machine falls on every engine alike
        for _ in range(args.repeat):
            for engine in todo:
                if engine in failed:
                    continue
                res = run_one(engine, path, args)
                if "error" in res:
                    failed[engine] = res["error"]
                    print(f"  {engine:15s} FAILED: {res['error']}", flush=True)
                else:
                    runs[engine].append(res)
                    print(
                        f"  {engine:15s} {res['seconds']:8.2f} s  cpu {res['cpu_seconds']:8.2f} s  "
                        f"peak {res['peak_mb']:7.0f} MB",
                        flush=True,
                    )
        for engine in todo:
            if engine in failed:
                results.append({"rows": rows, "engine": engine, "error": failed[engine]})
                continue
            rs = runs[engine]
            results.append(
                {
                    "rows": rows,
                    "engine": engine,
                    "median_s": statistics.median(r["seconds"] for r in rs),
                    "median_cpu_s": statistics.median(r["cpu_seconds"] for r in rs),
                    "peak_mb": max(r["peak_mb"] for r in rs),
                    "runs_s": [r["seconds"] for r in rs],
                    "versions": rs[0]["versions"],
                    "fingerprint": rs[0]["fingerprint"],
                    "measured": True,
                }
            )
        # same numbers at full size: customers with a purchase, purchase days, tenure
        prints = {
            r["engine"]: r["fingerprint"]
            for r in results
            if r["rows"] == rows and "fingerprint" in r
        }
        if len({json.dumps(v, sort_keys=True) for v in prints.values()}) > 1:
            print(f"  WARNING: engines disagree at {rows:,} lines: {prints}")
        elif prints:
            print(f"  all engines agree at {rows:,} lines: {next(iter(prints.values()))}")

    # extrapolate the slow engines above --peer-max-rows from their largest measured size
    for rows in args.rows:
        for engine in engines:
            if any(r["rows"] == rows and r["engine"] == engine for r in results):
                continue
            base = [r for r in results if r["engine"] == engine and r.get("measured")]
            if base:
                b = max(base, key=lambda r: r["rows"])
                results.append(
                    {
                        "rows": rows,
                        "engine": engine,
                        "median_s": b["median_s"] * rows / b["rows"],
                        "peak_mb": None,
                        "measured": False,
                        "from_rows": b["rows"],
                    }
                )

    print("\n" + table(results, args.rows, engines))
    out = Path(args.json) if args.json else DATA / f"results_{time.strftime('%Y%m%d_%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=2))
    print(f"\nresults: {out}")
    return 0


def table(results, sizes, engines) -> str:
    lines = [
        fmt_row(
            [
                "lines",
                "engine",
                "median s",
                "median CPU s",
                "peak MB",
                "time / ccm",
                "time / duckdb_sql",
            ]
        ),
        fmt_row(["---:", "---", "---:", "---:", "---:", "---:", "---:"]),
    ]
    for rows in sizes:
        got = {r["engine"]: r for r in results if r["rows"] == rows and "median_s" in r}
        ccm, duck = got.get("ccm"), got.get("duckdb_sql")
        for engine in engines:
            r = got.get(engine)
            if r is None:
                continue
            approx = "" if r["measured"] else "~"
            note = "" if r["measured"] else f" (extrapolated from {r['from_rows']:,})"
            lines.append(
                fmt_row(
                    [
                        f"{rows:,}",
                        engine + note,
                        f"{approx}{r['median_s']:.2f}",
                        f"{r['median_cpu_s']:.2f}" if r.get("median_cpu_s") is not None else "",
                        "" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}",
                        f"{approx}{r['median_s'] / ccm['median_s']:.2f}x" if ccm else "",
                        f"{approx}{r['median_s'] / duck['median_s']:.2f}x" if duck else "",
                    ]
                )
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
