"""``ccm``: the command line behind the Makefile (customer classification management).

Exit codes: 0 done (a warning names any page whose model could not be computed),
2 refused or failed (one paragraph naming the file, column, lines or notebook),
130 interrupted (Ctrl-C; the previous report is unchanged).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from analysis.config import LANGS, REPORTS_DIR, SAMPLE_DIR

EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


class _Fail(click.ClickException):
    exit_code = EXIT_REFUSED

    def show(self, file=None):
        click.echo(f"error: {self.format_message()}", err=True)


def _guard(fn, *args, **kwargs):
    """Turn expected errors into one clear paragraph and a non-zero exit, never a traceback."""
    from analysis.data.validation import DataError
    from analysis.report.runner import ReportError

    try:
        return fn(*args, **kwargs)
    except (DataError, ReportError, ValueError, KeyError) as exc:
        raise _Fail(str(exc).strip("'\"")) from None
    except OSError as exc:  # a folder that is a file, no permission, a full disk ...
        where = f": {exc.filename}" if exc.filename else ""
        raise _Fail(f"{exc.strerror or exc}{where}") from None


def _build(**kwargs):
    """Run the report builder; Ctrl-C ends in one line and exit code 130, never a traceback."""
    from analysis.report.runner import ReportInterrupted, build_report

    try:
        return _guard(build_report, **kwargs)
    except ReportInterrupted as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_INTERRUPTED)


def _warn_not_computed(final: Path, notebooks=None) -> None:
    from analysis.report.runner import not_computed_pages

    for nb, reason in not_computed_pages(final, notebooks).items():
        click.echo(
            f"warning: {nb}: {reason.rstrip('.')}. The page says so; the rest of the report is written.",
            err=True,
        )


@click.group(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    pass


def _report_options(fn):
    opts = [
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            default=SAMPLE_DIR,
            show_default=True,
            help="folder with transactions (+ optional tables), csv/xlsx/parquet",
        ),
        click.option(
            "--quarter",
            default="",
            help="report quarter, e.g. 2025Q4; default: latest complete quarter in the data",
        ),
        click.option(
            "--params",
            "params_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="params YAML; default: params/<quarter>.yaml if it exists",
        ),
        click.option(
            "--out",
            type=click.Path(path_type=Path),
            default=REPORTS_DIR,
            show_default=True,
            help="reports folder; the report goes to <out>/<quarter>/",
        ),
        click.option(
            "--lang",
            type=click.Choice(LANGS),
            default=None,
            help="label language (overrides params)",
        ),
        click.option(
            "--engine",
            type=click.Choice(("auto", "pandas", "duckdb", "spark")),
            default="auto",
            show_default=True,
            help="what aggregates the transaction lines: auto = DuckDB from 500,000 lines, "
            "pandas below; spark = a SparkSession (local[2], or the master in CCM_SPARK_MASTER)",
        ),
        click.option(
            "-p",
            "overrides",
            multiple=True,
            metavar="KEY=VALUE",
            help="override a parameter (notebook.key=value for one notebook); repeatable",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _pdf_options(fn):
    fn = click.option(
        "--firm",
        default=None,
        help="the firm's name on the PDF's cover; default: the params file's 'firm' key, "
        "else the data folder's name",
    )(fn)
    return click.option(
        "--pdf/--no-pdf",
        default=True,
        show_default=True,
        help="also write <quarter>/report.pdf (cover, highlights, every page without code)",
    )(fn)


def _warn_pdf_skipped(final: Path, pdf: bool) -> None:
    from analysis.report.pdf import INSTALL_HINT, PDF_FILE, pdf_skipped

    reason = pdf_skipped(final) if pdf else None
    if reason:
        click.echo(
            f"warning: {PDF_FILE} was not written: {reason.rstrip('.')}. To get it: {INSTALL_HINT}, "
            f"then run again (the index page says so too).",
            err=True,
        )


@cli.command()
@_report_options
@_pdf_options
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 16),
    default=2,
    show_default=True,
    help="notebooks run in parallel",
)
def report(data_dir, quarter, params_file, out, lang, engine, overrides, pdf, firm, jobs):
    """Regenerate the quarterly report: every notebook, HTML without code, summary.json, index.html, report.pdf."""
    from analysis.report.runner import parse_overrides

    final = _build(
        data_dir=data_dir,
        quarter=quarter,
        out=out,
        params_file=params_file,
        overrides=_guard(parse_overrides, overrides),
        lang=lang,
        engine=engine,
        jobs=jobs,
        pdf=pdf,
        firm=firm,
    )
    click.echo(f"report written to {final} (open {final / 'index.html'})")
    _warn_not_computed(final)
    _warn_pdf_skipped(final, pdf)


@cli.command()
@click.argument("notebook")
@_report_options
@_pdf_options
def run(notebook, data_dir, quarter, params_file, out, lang, engine, overrides, pdf, firm):
    """Run one notebook (e.g. 00_data_overview) into <out>/<quarter>/, keeping the other pages."""
    from analysis.report.runner import parse_overrides

    final = _build(
        data_dir=data_dir,
        quarter=quarter,
        out=out,
        params_file=params_file,
        overrides=_guard(parse_overrides, overrides),
        lang=lang,
        engine=engine,
        jobs=1,
        notebooks=[notebook],
        merge=True,
        pdf=pdf,
        firm=firm,
    )
    click.echo(f"{notebook} written to {final}")
    _warn_not_computed(final, [notebook])
    _warn_pdf_skipped(final, pdf)


@cli.command()
@click.option("--data-dir", type=click.Path(path_type=Path), required=True)
def check(data_dir):
    """Load and validate a data directory; print what was found."""
    from analysis.data.io import load_dataset
    from analysis.data.periods import latest_complete_quarter

    ds = _guard(load_dataset, data_dir)
    for name, df in ds.tables.items():
        click.echo(f"{name:13s} {len(df):>9,} rows  {ds.sources[name].name}")
    dates = ds.transactions["date"]
    click.echo(
        f"transactions cover {dates.min():%Y-%m-%d} .. {dates.max():%Y-%m-%d}; "
        f"default quarter {latest_complete_quarter(dates)}"
    )


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=SAMPLE_DIR, show_default=True)
@click.option("--seed", type=int, default=2025, show_default=True)
def sample(out, seed):
    """Write the deterministic sample company (a Chinese pharmaceutical distributor)."""
    from analysis.data.sample import write_sample

    paths = _guard(write_sample, out, seed=seed)
    click.echo(f"wrote {len(paths)} files to {out}")


@cli.command()
@click.argument("notebook")
def params(notebook):
    """List a notebook's parameters with their types, defaults and help."""
    from analysis.report.runner import notebook_parameters

    for name, spec in _guard(notebook_parameters, notebook).items():
        click.echo(f"{name:22s} {spec['type']:6s} default {spec['default']:<12s} {spec['help']}")


@cli.group()
def workshop():
    """Workshop kit: student notebooks, answer key and glossary."""


@workshop.command("build")
@click.option(
    "--src",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="teacher notebooks; default notebooks/workshop",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="student notebooks; default <src>/student",
)
def workshop_build(src, out):
    """Generate the student notebooks, docs/workshop-answer-key.md and docs/glossary.md."""
    from analysis.tools.workshop import WORKSHOP_DIR, build

    paths = _guard(build, src or WORKSHOP_DIR, out_dir=out)
    click.echo(f"wrote {len(paths)} files")


@cli.command()
@click.option(
    "--data-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True
)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="new folder for the masked copy"
)
@click.option("--scale", type=float, default=None, help="multiply every amount by this factor")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True)
@click.option("--mask-product-ids", is_flag=True, help="also replace product ids")
@click.option(
    "--key-file",
    type=click.Path(path_type=Path),
    default=None,
    help="write original id -> pseudonym here (outside --out and the data folder)",
)
@click.option(
    "--force",
    is_flag=True,
    help="write into a non-empty --out and replace an existing key file (inputs are never replaced)",
)
def mask(data_dir, out, scale, seed, lang, mask_product_ids, key_file, force):
    """Write a masked copy of a data directory for teaching (names, ids, notes replaced)."""
    from analysis.data.mask import mask_directory

    res = _guard(
        mask_directory,
        data_dir,
        out,
        seed=seed,
        scale=scale,
        lang=lang,
        mask_product_ids=mask_product_ids,
        key_file=key_file,
        force=force,
    )
    dropped = f"; dropped columns {res['dropped_columns']}" if res["dropped_columns"] else ""
    click.echo(f"masked copy written to {out}: {res['customers']} customers pseudonymised{dropped}")


def main(argv=None) -> int:
    """The ``ccm`` entry point: every error is one paragraph on stderr and an exit code, never a traceback.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code.
    """
    try:
        code = cli.main(args=argv, prog_name="ccm", standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C outside a report build (nothing was written)
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except getattr(click.exceptions, "NoArgsIsHelpError", ()) as exc:  # bare `ccm`: the help
        click.echo(exc.format_message(), err=True)
        return exc.exit_code
    except click.UsageError as exc:
        hint = f" (`{exc.ctx.command_path} -h` lists the options)" if exc.ctx is not None else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
