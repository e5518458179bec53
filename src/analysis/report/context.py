"""What every report notebook does first and last: load, resolve the quarter, record numbers.

A notebook calls :func:`setup` in its derived-settings cell and
:meth:`ReportContext.record` in its last cell.  The runner injects
``data_dir``, ``quarter``, ``lang`` and ``output_dir``; empty values mean the
bundled sample company, the latest complete quarter and ``reports/lab/<quarter>``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.config import REPORTS_DIR, SAMPLE_DIR, SUMMARY_DIR
from analysis.data import io as aio, validated
from analysis.data.periods import Quarter, resolve_quarter
from analysis.viz.labels import check_lang, label, label_or

#: rows of a staff table's Excel copy (the CSV holds every row): five tables at this length cost about
#: 4 CPU s of writing (bench/staff_tables.py: 431 us per row of the five together; 30,000 rows took
#: 13 s, 10% of the whole report at 10M lines); 0: no Excel copy
EXCEL_MAX_ROWS = 10_000
#: the environment variable that sets :attr:`ReportContext.excel_max_rows` (the kernels inherit it)
EXCEL_ROWS_ENV = "CCM_EXCEL_MAX_ROWS"


def excel_max_rows_setting(environ=None) -> int:
    """The Excel row limit of staff tables: ``CCM_EXCEL_MAX_ROWS`` when set, else :data:`EXCEL_MAX_ROWS`.

    Parameters
    ----------
    environ : mapping, optional
        The environment (default ``os.environ``).

    Returns
    -------
    int
        Rows (0: no Excel copy).

    Raises
    ------
    ValueError
        When the variable is not a whole number from 0.
    """
    text = (os.environ if environ is None else environ).get(EXCEL_ROWS_ENV, "").strip()
    if not text:
        return EXCEL_MAX_ROWS
    try:
        rows = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        rows = -1
    if rows < 0:
        raise ValueError(
            f"{EXCEL_ROWS_ENV}={text!r}: expected the rows of a staff table's Excel copy, a whole "
            f"number from 0 (0: no Excel copy; at most {aio.EXCEL_MAX_DATA_ROWS:,} are written)"
        )
    return rows


@dataclass
class ReportContext:
    """What a report notebook works with: its data, quarter, language and output folder.

    Built by :func:`setup`; :meth:`show`, :meth:`save_table` and :meth:`record` write the page's
    tables and numbers.
    """

    notebook: str
    data: aio.Dataset
    quarter: Quarter
    lang: str
    out: Path
    skipped: list[dict] = field(default_factory=list)
    #: label-key prefix(es) of this page's table headers ("cls_", "churn_col_", or several tried
    #: in turn such as ("vf_col_", "cls_"); see ``show``)
    label_prefix: str | tuple[str, ...] = ""
    #: rows of a staff table's Excel copy (:meth:`save_table`; 0: none); default from
    #: :func:`excel_max_rows_setting`
    excel_max_rows: int = field(default_factory=excel_max_rows_setting)
    #: staff files whose Excel copy is cut or not written -> the file with every row (for ``show``)
    full_lists: dict[str, str] = field(default_factory=dict)

    def t(self, key: str, **fmt) -> str:
        """Label in the report language.

        Parameters
        ----------
        key : str
            Label key.
        fmt
            Values of the label's placeholders.

        Returns
        -------
        str
        """
        return label(key, self.lang, **fmt)

    def needs(
        self,
        section: str,
        *,
        table: str | None = None,
        column: str | None = None,
        column_table: str = "transactions",
    ) -> bool:
        """True when the data hold what a section needs; otherwise note the skip and show why.

        ``section`` is the label key of the section's name (``sec_*`` in
        ``viz/labels/sections.yaml``), so the note names it in the report language;
        a text that is no label key is shown as it is.  The skip is recorded as
        ``{"section": section, "needs": "table 'x'"}`` (or ``"column 'c' in t"``),
        the same in both languages; the note on the page says it in the page's.

        Parameters
        ----------
        section : str
            Label key of the section's name.
        table : str, optional
            A table the section needs.
        column : str, optional
            A column the section needs.
        column_table : str
            The table of ``column``.

        Returns
        -------
        bool
        """
        if table and not self.data.has(table):
            need = f"table '{table}'"
        elif column and not self.data.has(column_table, column):
            need = f"column '{column}' in {column_table}"
        else:
            return True
        entry = {"section": section, "needs": need}
        self.skipped.append(entry)
        _show_note(skip_note(entry, self.lang))
        return False

    def skip(self, section: str, needs: str, *, note: str | None = None) -> None:
        """Record and show a section skipped for a reason :meth:`needs` cannot test.

        Parameters
        ----------
        section : str
            Label key of the section's name (``sec_*``).
        needs : str
            What is missing, as recorded in summary.json (one form in both languages).
        note : str, optional
            The same in the page's language, shown on the page and the index (recorded as
            ``needs_text``); default ``needs``.
        """
        entry = {"section": section, "needs": needs, **({"needs_text": note} if note else {})}
        self.skipped.append(entry)
        _show_note(skip_note(entry, self.lang))

    def show(self, df: pd.DataFrame, **kw) -> None:
        """Show a table on the page in the report language (:func:`analysis.viz.tables.show`).

        Headers and formats come from the label files (this page's ``label_prefix`` first);
        ``kw`` are ``show``'s options (``caption``, ``interactive``, ``max_rows``,
        ``staff_file``, ``prefix``).  The table is displayed and None returned, so a call
        inside an ``if`` shows too and a cell's last line never shows it twice.

        Parameters
        ----------
        df : DataFrame
            The table.
        kw
            :func:`analysis.viz.tables.show`'s options.
        """
        from IPython.display import display

        from analysis.viz.tables import show

        if kw.get("staff_file") in self.full_lists:  # its Excel copy is cut: name the CSV
            kw = {**kw, "staff_file": self.full_lists[kw["staff_file"]]}
        display(show(df, self.lang, **{"prefix": self.label_prefix, **kw}))

    def labelled(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` for staff in the report language: codes named, headers labelled, numbers
        left as numbers (:func:`analysis.viz.tables.labelled`); for :meth:`save_table`.

        Parameters
        ----------
        df : DataFrame
            The table.

        Returns
        -------
        DataFrame
        """
        from analysis.viz.tables import labelled

        return labelled(df, self.lang, prefix=self.label_prefix)

    def save_table(self, df: pd.DataFrame, name: str) -> None:
        """Write a table for staff next to the report: .csv with every row, .xlsx with the first
        :attr:`excel_max_rows`.

        The table comes in priority order (the pages sort it), so a cut Excel copy keeps the
        rows that matter most; it then holds a second sheet saying so, the page shows the same
        note (:func:`excel_cut_note`), and :meth:`show` names the .csv as the full list.  With
        ``excel_max_rows`` 0 no .xlsx is written (an earlier one is removed).  Returns None: as a
        cell's last expression it shows nothing on the page (a returned path would print the
        runner's staging folder into the report).

        Parameters
        ----------
        df : DataFrame
            The table.
        name : str
            The file stem.
        """
        aio.write_frame(df, self.out / f"{name}.csv")
        xlsx, limit = self.out / f"{name}.xlsx", min(self.excel_max_rows, aio.EXCEL_MAX_DATA_ROWS)
        self.full_lists.pop(xlsx.name, None)
        if limit > 0 and len(df) <= limit:
            aio.write_frame(df, xlsx)
            return
        self.full_lists[xlsx.name] = f"{name}.csv"
        if limit <= 0:
            aio.remove_file(xlsx)  # a copy from an earlier run would not match the CSV
            return
        note = excel_cut_note(name, limit, len(df), self.lang)
        aio.write_frame(df.head(limit), xlsx, note=note, note_sheet=self.t("excel_note_sheet"))
        _show_note(note)

    def record(self, values: dict) -> None:
        """Write this notebook's headline numbers (and skipped sections) for summary.json.

        The file is ``<out>/summary/<notebook>.json``; nothing is returned, so the
        notebook's last cell shows nothing on the page.

        Parameters
        ----------
        values : dict
            The numbers (JSON-ready).
        """
        payload = {**values, "quarter": str(self.quarter), "skipped_sections": self.skipped}
        aio.write_json(payload, self.out / SUMMARY_DIR / f"{self.notebook}.json")


_NEEDS = (
    (re.compile(r"^table '(?P<table>[^']+)'$"), "needs_table"),
    (re.compile(r"^column '(?P<column>[^']+)' in (?P<table>\S+)$"), "needs_column"),
)
#: tables whose label key is not the table's name (``customers`` is the label of a count)
_TABLE_LABEL = {"customers": "customers_table", "products": "products_table"}


def section_name(section: str, lang: str) -> str:
    """A skipped section's name in ``lang``: its label, or the text itself when it is no label key.

    Parameters
    ----------
    section : str
        Label key or text.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
    """
    return label_or(section, section, lang)


def needs_text(need: str, lang: str) -> str:
    """What a skipped section needs, in ``lang``: ``"table 'receivables'"`` -> ``应收账款（receivables 表）``.

    ``need`` is the recorded form (:meth:`ReportContext.needs`); any other text is kept.

    Parameters
    ----------
    need : str
        The recorded need.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
    """
    for pattern, key in _NEEDS:
        m = pattern.match(need)
        if m:
            table = m["table"]
            name = label_or(_TABLE_LABEL.get(table, table), table, lang)
            return label(
                key, lang, table=table, table_name=name, column=m.groupdict().get("column")
            )
    return need


def skip_note(entry: dict, lang: str) -> str:
    """The note of a skipped section (``{"section", "needs"}``) in ``lang``.

    Parameters
    ----------
    entry : dict
        A recorded skip: ``section`` and ``needs``, and ``needs_text`` (the page-language form
        recorded by :meth:`ReportContext.skip`) where there is one.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
    """
    return label(
        "section_skipped",
        lang,
        section=section_name(str(entry.get("section", "")), lang),
        needs=entry.get("needs_text") or needs_text(str(entry.get("needs", "")), lang),
    )


def excel_cut_note(name: str, rows: int, total: int, lang: str) -> str:
    """The note of a staff table whose Excel copy holds its first ``rows`` of ``total`` rows.

    Parameters
    ----------
    name : str
        The table's file stem (the full list is ``<name>.csv``).
    rows : int
        Rows in the Excel copy.
    total : int
        Rows of the table.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        E.g. ``Excel 文件只含前 30,000 行（共 512,345 行）；完整名单见 customer_roster.csv。``
    """
    return label("excel_cut", lang, rows=rows, total=total, file=f"{name}.csv")


def _show_note(text: str) -> None:
    try:
        from IPython.display import Markdown, display

        display(Markdown(f"> **{text}**"))
    except ImportError:  # pragma: no cover - IPython ships with the project
        print(text)


def load_data(data_dir: Path) -> aio.Dataset:
    """The data folder's tables: the runner's validated copy when it names this folder
    (:mod:`analysis.data.validated`), else read and validated from the files.

    Parameters
    ----------
    data_dir : Path
        The data folder.

    Returns
    -------
    Dataset
    """
    kept = os.environ.get(validated.ENV_VAR)
    data = validated.read_validated(kept, data_dir) if kept else None
    return data if data is not None else aio.load_dataset(data_dir)


def setup(
    notebook: str,
    *,
    data_dir: str = "",
    quarter: str = "",
    lang: str = "zh",
    output_dir: str = "",
    label_prefix: str | tuple[str, ...] = "",
) -> ReportContext:
    """Load and validate the data, resolve the quarter, set the chart style.

    ``label_prefix`` is tried first for the headers of the page's tables (``"cls_"`` on the
    classification pages, ``"churn_col_"`` on the churn page; see :meth:`ReportContext.show`).

    Parameters
    ----------
    notebook : str
        The notebook's name.
    data_dir : str
        Data folder; empty: the sample.
    quarter : str
        Report quarter; empty: the latest complete one.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    output_dir : str
        Output folder; empty: ``reports/lab/<quarter>``.
    label_prefix : str
        Label prefix tried first for table headers.

    Returns
    -------
    ReportContext
    """
    check_lang(lang)
    data = load_data(Path(data_dir) if data_dir else SAMPLE_DIR)
    q = resolve_quarter(quarter, data.transactions["date"])
    out = Path(output_dir) if output_dir else REPORTS_DIR / "lab" / str(q)
    from analysis.viz.style import use_style  # seaborn and scipy: not for the runner's imports

    use_style(lang)
    return ReportContext(
        notebook=notebook, data=data, quarter=q, lang=lang, out=out, label_prefix=label_prefix
    )
