"""Benchmark: the whole quarterly report (`ccm report`) at 1M, 10M and 100M transaction lines.

    .venv/bin/python bench/report.py --rows 1000000 10000000
    .venv/bin/python bench/report.py --rows 1000000 --engine spark
    .venv/bin/python bench/report.py --rows 1000000 --compare pandas duckdb

1. Generates N synthetic lines (``bench/run.py``'s generator: about N/20 customers,
   2024-2025, returns, a cost column) as Parquet in ``bench/.data`` (cached), and a data
   folder holding it as ``transactions.parquet``: a transactions-only company.
2. Runs ``ccm report`` on it in a subprocess (the PDF included unless ``--no-pdf``) and
   samples, every 0.2 s, the resident memory of the whole process tree (the runner, its
   notebook workers, their kernels, any JVM): "peak GB" is the largest such sum.
3. Reads each page's time from the executed notebooks (papermill's durations) and its
   slowest cells, and writes everything to ``bench/.data/report_<rows>_<engine>.json``.

``--compare A B`` builds the report with two engines (``ccm report --engine``) and checks
that every number of their summary.json agrees within 1e-9 (relative).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
sys.path.insert(0, str(HERE))


def data_folder(rows: int) -> Path:
    """A data folder whose transactions.parquet is the generator's file of ``rows`` lines."""
    from run import generate  # bench/run.py

    src = generate(rows)
    folder = DATA / f"firm_{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "transactions.parquet"
    if not link.exists():
        link.symlink_to(src)
    return folder


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_report(folder: Path, out: Path, *, engine: str, jobs: int, pdf: bool) -> dict:
    """Run ``ccm report`` once; wall time, summed peak RSS, exit code and per-page times."""
    if out.exists():
        shutil.rmtree(out)
    cmd = [
        str(ROOT / ".venv" / "bin" / "ccm"),
        "report",
        "--data-dir",
        str(folder),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--engine",
        engine,
        "--pdf" if pdf else "--no-pdf",
    ]
    import resource

    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    log, _ = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    t.join()
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the whole tree, once reaped
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    result = {
        "command": " ".join(cmd),
        "exit_code": proc.returncode,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_gb": round(peak[0] / 1e9, 2),
        "log_tail": log[-2000:],
    }
    reports = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if proc.returncode == 0 and reports:
        result["pages"] = page_times(reports[0])
        result["summary"] = json.loads((reports[0] / "summary.json").read_text("utf-8"))
    return result


def page_times(report: Path, top: int = 3) -> dict:
    """Each page's run time and its slowest cells (papermill's recorded durations)."""
    pages = {}
    for nb in sorted(report.glob("*.ipynb")):
        j = json.loads(nb.read_text("utf-8"))
        cells = []
        for c in j["cells"]:
            d = c.get("metadata", {}).get("papermill", {}).get("duration")
            if d:
                first = "".join(c["source"]).strip().splitlines()[0][:70]
                cells.append((round(d, 1), first))
        cells.sort(reverse=True)
        pages[nb.stem] = {
            "seconds": round(j["metadata"].get("papermill", {}).get("duration") or 0, 1),
            "slowest_cells": cells[:top],
        }
    return pages


def machine() -> dict:
    import psutil

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--engine", default="auto", choices=["auto", "pandas", "duckdb", "spark"])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--no-pdf", action="store_true", help="skip report.pdf")
    p.add_argument(
        "--compare", nargs=2, metavar="ENGINE", help="build with two engines and compare numbers"
    )
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from analysis.report.records import summary_differences

    status = 0
    for rows in args.rows:
        folder = data_folder(rows)
        engines = args.compare or [args.engine]
        runs = {}
        for engine in engines:
            out = DATA / f"reports_{rows}_{engine}"
            res = run_report(folder, out, engine=engine, jobs=args.jobs, pdf=not args.no_pdf)
            res.update(rows=rows, engine=engine, jobs=args.jobs, machine=machine())
            runs[engine] = res
            (DATA / f"report_{rows}_{engine}.json").write_text(
                json.dumps(res, ensure_ascii=False, indent=1), "utf-8"
            )
            print(
                f"\n{rows:,} lines, engine {engine}: exit {res['exit_code']}, "
                f"{res['wall_s']} s wall, {res['cpu_s']} CPU s, peak {res['peak_gb']} GB (whole process tree)"
            )
            if res["exit_code"]:
                print(res["log_tail"])
                status = 1
                continue
            print("| page | s | slowest cells |\n| --- | ---: | --- |")
            for name, page in res["pages"].items():
                slow = "; ".join(f"{s} s `{c}`" for s, c in page["slowest_cells"])
                print(f"| {name} | {page['seconds']} | {slow} |")
        if args.compare and all("summary" in r for r in runs.values()):
            a, b = (runs[e]["summary"] for e in engines)
            diff = summary_differences(a, b)
            print(
                f"\n{engines[0]} vs {engines[1]} at {rows:,} lines: "
                + ("every number agrees within 1e-9" if not diff else f"{len(diff)} differ")
            )
            for line in diff[:20]:
                print("  ", line)
            status = status or bool(diff)
    return status


if __name__ == "__main__":
    sys.exit(main())
