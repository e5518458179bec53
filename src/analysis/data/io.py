"""Reading user exports and writing report artefacts: the only module that does file I/O.

Input files are opened read-only and never written.  CSV encodings (UTF-8,
UTF-8 with BOM, UTF-16/32 with BOM, UTF-16 without, GBK/GB18030) and delimiters
(comma, tab, semicolon, pipe) are detected, nothing else is guessed; headers are
mapped to the canonical names with the built-in aliases and an optional
``columns.yaml`` (which also holds the ``files``, ``sheets``, ``header_row`` and
``date_format`` settings). Every row keeps its line number in the file, so
errors name real lines. See docs/data-format.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import functools
import io as _io
import itertools
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis.data.files import (  # noqa: F401 - the io layer's plain files, kept importable from here
    read_json,
    read_notebook,
    read_text,
    remove_file,
    write_bytes,
    write_json,
    write_text,
)
from analysis.data.schema import HEADER_ALIASES, TABLES
from analysis.data.validation import (
    DATE_ORDERS,
    MAX_SHOWN,
    DataError,
    check_references,
    default_lines,
    line_list,
    validate_table,
)

SUFFIXES = (".csv", ".xlsx", ".xls", ".parquet")
MAPPING_FILE = "columns.yaml"
SETTINGS = ("files", "sheets", "header_row", "date_format")  # columns.yaml keys that are not tables
DELIMITERS = (",", "\t", ";", "|")
HEADER_SCAN = 20  # rows searched for a header that is not on the first line


# ---------------------------------------------------------------- reading
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_BINARY = (b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0")  # xlsx (zip), parquet, xls (OLE2)
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "gb18030": "GB18030/GBK",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "utf-32": "UTF-32",
}
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
_EXPECTED_ENCODINGS = (
    "UTF-8 (Excel: 'CSV UTF-8'), UTF-8 with BOM, UTF-16 with BOM (Excel: 'Unicode text') "
    "or GBK/GB18030"
)


def sniff_encoding(data: bytes, *, file=None) -> str:
    """Name the text encoding of a CSV file's bytes, or raise DataError.

    A byte-order mark decides (UTF-8, UTF-16, UTF-32); UTF-16 without one is
    recognised by its zero bytes; otherwise UTF-8, then GB18030 (a superset of
    GBK). Nothing else is guessed: bytes that are none of these stop the read
    with the file, line and byte offset of the first bad bytes.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    file : path, optional
        The file, named in messages.

    Returns
    -------
    str
        A Python codec name.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc
    head = data[:8192]
    if head.startswith(_BINARY):
        raise _binary(file)
    if b"\x00" in head:
        enc = _utf16_without_bom(head)
        if enc is None:
            raise _binary(file)
        return enc
    for enc in ("utf-8", "gb18030"):
        try:
            data.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    raise _undecodable(data, ("utf-8", "gb18030"), file)


def decode_text(data: bytes, *, file=None) -> str:
    """The text of a file's bytes in the encoding :func:`sniff_encoding` finds (BOM removed).

    Parameters
    ----------
    data : bytes
        The file's bytes.
    file : path, optional
        The file, named in messages.

    Returns
    -------
    str
        The text.
    """
    enc = sniff_encoding(data, file=file)
    try:
        return data.decode(enc)
    except UnicodeDecodeError:
        raise _undecodable(data, (enc,), file) from None


def _binary(file) -> DataError:
    return DataError(
        "this is a binary file, not CSV text (an Excel or Parquet file with a .csv "
        f"name?). Expected comma-separated text in {_EXPECTED_ENCODINGS}; rename it to its "
        "real suffix (.xlsx or .parquet) or export it again as CSV.",
        file=file,
    )


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text has a zero in every other byte of its ASCII characters (commas, digits, line ends)."""
    pairs = max(len(head) // 2, 1)
    zeros_even, zeros_odd = head[0::2].count(0), head[1::2].count(0)
    if zeros_odd >= 0.2 * pairs and zeros_even <= 0.02 * pairs:
        return "utf-16-le"
    if zeros_even >= 0.2 * pairs and zeros_odd <= 0.02 * pairs:
        return "utf-16-be"
    return None


def _bad_bytes(data: bytes, enc: str, limit: int = 6) -> list[tuple[int, int]]:
    """(start, end) byte offsets of the first ``limit`` undecodable sequences."""
    places, pos = [], 0
    while len(places) < limit:
        try:
            data[pos:].decode(enc)
            break
        except UnicodeDecodeError as exc:
            places.append((pos + exc.start, pos + exc.end))
            pos += exc.end
    return places


def _undecodable(data: bytes, encodings, file) -> DataError:
    """Name the encoding that reads furthest, and where and on which lines its bad bytes are."""
    found = {enc: _bad_bytes(data, enc) for enc in encodings}
    enc = max(encodings, key=lambda e: found[e][0][0] if found[e] else len(data))
    places = found[enc]
    if not places:  # pragma: no cover - only when called for a decodable file
        return DataError("the file cannot be decoded.", file=file)
    name = _ENCODING_NAMES.get(enc, enc)
    start, end = places[0]
    before = data[:start].decode(enc, errors="replace")
    line = before.count("\n") + 1
    context = before.rsplit("\n", 1)[-1][-12:]
    lines = sorted({data[:s].decode(enc, errors="replace").count("\n") + 1 for s, _ in places})
    shown = " ".join(f"0x{b:02x}" for b in data[start : min(end, start + 4)])
    also = (
        ""
        if len(lines) == 1
        else f"; bad bytes are on {line_list(lines)}{' at least' if len(places) >= 6 else ''}"
    )
    return DataError(
        f"the file is not text in one known encoding: it reads as {name} up to byte offset {start} on line "
        f"{line}{f' (after {context!r})' if context else ''}, where the bytes {shown} are not {name}{also}. "
        f"Expected one encoding for the whole file: {_EXPECTED_ENCODINGS}; nothing was guessed. Re-save the "
        f"file in one of these, or correct those lines in the source system.",
        file=file,
        rows=lines,
    )


def sniff_delimiter(text: str, header_line: int | None = None) -> str:
    """The field delimiter (comma, tab, semicolon or pipe) most frequent on the header line.

    The header line is ``header_line`` (1-based) or the first non-blank line;
    when it holds none of them (a title line), the line with the most of any
    delimiter among the first ``HEADER_SCAN`` non-blank lines decides. Ties go to
    the comma. Data lines are not used: a ``;``-separated tags field would mislead.

    Parameters
    ----------
    text : str
        The file's text.
    header_line : int, optional
        The header's line number (1-based).

    Returns
    -------
    str
        The delimiter.
    """
    head = list(itertools.islice(_io.StringIO(text), (header_line or 0) + HEADER_SCAN))
    lines = [ln for ln in head if ln.strip()]
    if header_line and header_line <= len(head) and head[header_line - 1].strip():
        lines = [head[header_line - 1]] + lines
    if not lines:
        return ","
    first = {d: lines[0].count(d) for d in DELIMITERS}
    if max(first.values()) > 0:
        return max(
            DELIMITERS, key=lambda d: first[d]
        )  # max keeps the first of equals: ',' wins ties
    best = {d: max(ln.count(d) for ln in lines[:HEADER_SCAN]) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: best[d]) if max(best.values()) > 0 else ","


@dataclass
class _Grid:
    """Every row of a file as read, before the header is chosen."""

    cells: pd.DataFrame  # positional columns; None/NaN where empty
    lines: np.ndarray  # line number (CSV) or row number (Excel) of each row
    widths: np.ndarray  # fields on each row (CSV); the sheet width for Excel
    kind: str  # "csv" or "excel"
    delimiter: str = ","
    sheet: str | int | None = None

    def blank(self) -> np.ndarray:
        return self.cells.isna().all(axis=1).to_numpy()


def _csv_grid(path: Path, header_row: int | None) -> _Grid:
    data = path.read_bytes()
    text = decode_text(data, file=path) if data.strip() else ""
    if not text.strip():
        raise DataError(
            "the file is empty: expected a header row and at least one data row.", file=path
        )
    if "\x00" in text:  # a NUL character in text is damage, and csv would read past it
        at = text.index("\x00")
        line = text.count("\n", 0, at) + 1
        raise DataError(
            f"line {line} holds a NUL character (byte 0x00) after {text[max(0, at - 12) : at]!r}: the "
            f"file is damaged or not text. Expected text in {_EXPECTED_ENCODINGS}.",
            file=path,
            rows=[line],
        )
    delim = sniff_delimiter(text, header_row)
    reader = csv.reader(
        _io.StringIO(text, newline=""), delimiter=delim, skipinitialspace=True, strict=True
    )
    try:
        records = list(reader)
        lines = np.arange(1, len(records) + 1, dtype="int64")
        if reader.line_num != len(
            records
        ):  # quoted values span lines: number each record by its first line
            lines = _record_lines(text, delim)
    except csv.Error as exc:
        start = _failing_record_line(text, delim)
        raise DataError(
            f"the CSV cannot be parsed at line {start} ({exc}). Expected {_DELIMITER_NAMES[delim]}-"
            f"separated fields; a value holding the delimiter, a quote or a line break must be "
            f'enclosed in double quotes, with quotes inside it doubled ("").',
            file=path,
            rows=[start],
        ) from None
    widths = np.fromiter((len(r) for r in records), dtype="int64", count=len(records))
    if len(widths) and widths.min() != widths.max():  # short and blank lines: pad with empty fields
        records = [r + [None] * (int(widths.max()) - len(r)) for r in records]
    cells = pd.DataFrame(records, dtype=object) if records else pd.DataFrame()
    cells = cells.mask(cells.isna() | (cells == ""))
    return _Grid(cells, lines, widths, "csv", delimiter=delim)


def _record_lines(text: str, delim: str) -> np.ndarray:
    reader = csv.reader(
        _io.StringIO(text, newline=""), delimiter=delim, skipinitialspace=True, strict=True
    )
    out, start = [], 1
    for _ in reader:
        out.append(start)
        start = reader.line_num + 1
    return np.asarray(out, dtype="int64")


def _failing_record_line(text: str, delim: str) -> int:
    reader = csv.reader(
        _io.StringIO(text, newline=""), delimiter=delim, skipinitialspace=True, strict=True
    )
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error:
        pass
    return start


def _excel_grid(path: Path, sheet, *, nrows: int | None = None) -> _Grid:
    cells = pd.read_excel(
        path, sheet_name=0 if sheet is None else sheet, header=None, dtype=object, nrows=nrows
    )
    cells = cells.mask(cells.map(lambda v: isinstance(v, str) and not v.strip()))
    n = len(cells)
    return _Grid(
        cells.set_axis(range(cells.shape[1]), axis=1),
        np.arange(1, n + 1, dtype="int64"),
        np.full(n, cells.shape[1], dtype="int64"),
        "excel",
        sheet=sheet,
    )


def _read_grid(path: Path, sheet, header_row) -> _Grid:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_grid(path, header_row)
    try:
        return _excel_grid(path, sheet)
    except DataError:
        raise
    except ValueError as exc:
        if sheet is not None and "worksheet" in str(exc).lower():
            raise _missing_sheet(path, sheet) from None
        raise DataError(
            f"the file cannot be read as {suffix[1:]} ({type(exc).__name__}: {exc}).", file=path
        ) from None
    except Exception as exc:  # the readers raise many types for a corrupt file
        raise DataError(
            f"the file cannot be read as {suffix[1:]} ({type(exc).__name__}: {exc}).", file=path
        ) from None


def _sheet_names(path: Path) -> list[str]:
    with pd.ExcelFile(path) as book:
        return list(book.sheet_names)


def _missing_sheet(path: Path, sheet) -> DataError:
    try:
        names = _sheet_names(path)
    except Exception:
        names = []
    return DataError(
        f"'sheets:' names the sheet {sheet!r} for {path.name}, but the workbook has "
        f"{'sheets ' + ', '.join(map(repr, names)) if names else 'no such sheet'}. Expected the "
        f"name of one of them in columns.yaml.",
        file=path.parent / MAPPING_FILE,
    )


def _header_index(grid: _Grid, header_row: int | None, path: Path) -> int:
    """Row position of the header: the configured line, else the first non-blank row."""
    blank = grid.blank()
    if header_row is None:
        filled = np.flatnonzero(~blank)
        if not len(filled):
            raise DataError(
                "the file is empty: expected a header row and at least one data row.", file=path
            )
        return int(filled[0])
    hit = np.flatnonzero(grid.lines == header_row)
    if not len(hit) or blank[hit[0]]:
        last = int(grid.lines[-1]) if len(grid.lines) else 0
        what = (
            "blank"
            if len(hit)
            else f"beyond the end of the file ({last} lines)"
            if header_row > last
            else "inside a quoted value that spans lines"
        )
        raise DataError(
            f"'header_row: {header_row}' for {path.name}, but line {header_row} of that file is "
            f"{what}. Expected the line number of the header row.",
            file=path.parent / MAPPING_FILE,
        )
    return int(hit[0])


def _cell_name(v, i: int) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return f"Unnamed: {i}"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip() or f"Unnamed: {i}"


def _header_names(grid: _Grid, idx: int) -> list[str]:
    width = int(grid.widths[idx]) if grid.kind == "csv" else grid.cells.shape[1]
    return [_cell_name(v, i) for i, v in enumerate(grid.cells.iloc[idx, :width])]


def _data_rows(
    grid: _Grid, idx: int, names: list[str], path: Path
) -> tuple[pd.DataFrame, np.ndarray]:
    """The data rows under the header (blank rows dropped) and their line numbers."""
    width = len(names)
    body = grid.cells.iloc[idx + 1 :]
    lines, widths = grid.lines[idx + 1 :], grid.widths[idx + 1 :]
    blank = body.isna().all(axis=1).to_numpy()
    if body.shape[1] > width:
        extra = body.iloc[:, width:].notna().any(axis=1).to_numpy() & ~blank
        if extra.any():
            bad = np.flatnonzero(extra)
            shown = ", ".join(f"line {lines[i]} has {widths[i]}" for i in bad[:MAX_SHOWN])
            more = "" if len(bad) <= MAX_SHOWN else f" and {len(bad) - MAX_SHOWN} more"
            sep = _DELIMITER_NAMES.get(grid.delimiter, repr(grid.delimiter))
            raise DataError(
                f"{len(bad)} line(s) have more fields than the header: {shown} fields{more}; the "
                f"header has {width} (line {grid.lines[idx]}). Expected the same number of {sep}-"
                f"separated fields on every line: an unquoted {sep} inside a value, such as 1,200.50? "
                f'Quote such values ("1,200.50").',
                file=path,
                rows=lines[bad],
            )
    keep = ~blank
    frame = (
        body.iloc[keep, :width]
        .reindex(columns=range(width))
        .set_axis(names, axis=1)
        .reset_index(drop=True)
    )
    if grid.kind == "csv":
        frame = frame.astype("str").where(frame.notna())
    unused = [n for n in names if n.startswith("Unnamed: ") and frame[n].isna().all()]
    return frame.drop(columns=unused), lines[keep]


def _mangle(names: list[str]) -> list[str]:
    """Repeated names get .1, .2 (as pandas does), for columns the analysis does not use."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        out.append(n if k == 0 else f"{n}.{k}")
        seen[n] = k + 1
    return out


def read_raw(
    path: str | Path, *, sheet: str | int | None = None, header_row: int | None = None
) -> pd.DataFrame:
    """Read one file as it is: headers as written, no typing (CSV values stay text).

    ``header_row`` is the line (Excel: row) number of the header, default the
    first non-blank one. A CSV line with more fields than the header is an
    error naming the lines.

    Parameters
    ----------
    path : str or Path
        A .csv, .xlsx, .xls or .parquet file.
    sheet : str or int, optional
        Excel sheet (default the first).
    header_row : int, optional
        The header's line or row number.

    Returns
    -------
    DataFrame
        The rows under the header, headers as written, values as text (CSV).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"unsupported file type '{suffix}'. Expected one of {', '.join(SUFFIXES)}.", file=path
        )
    if suffix == ".parquet":
        return _read_parquet(path)
    grid = _read_grid(path, sheet, header_row)
    idx = _header_index(grid, header_row, path)
    names = _header_names(grid, idx)
    return _data_rows(grid, idx, _mangle(names), path)[0]


def _read_parquet(path: Path) -> pd.DataFrame:
    from analysis.engine.aggregate import read_parquet_frame

    try:
        return read_parquet_frame(path)
    except Exception as exc:  # the readers raise many types for a corrupt file
        raise DataError(
            f"the file cannot be read as parquet ({type(exc).__name__}: {exc}).", file=path
        ) from None


def _canonical_names(names, mapping: dict | None) -> list[str]:
    mapping = {str(k).strip(): v for k, v in (mapping or {}).items()}
    return [
        mapping.get(n) or HEADER_ALIASES.get(n.lower()) or HEADER_ALIASES.get(n) or n
        for n in (str(c).strip() for c in names)
    ]


def map_headers(df: pd.DataFrame, mapping: dict | None = None) -> pd.DataFrame:
    """Rename headers to canonical names: ``mapping`` first, then built-in aliases.

    Parameters
    ----------
    df : DataFrame
        A table as read.
    mapping : dict, optional
        {file header: canonical name}.

    Returns
    -------
    DataFrame
        ``df`` with canonical headers where known.
    """
    return df.set_axis(_canonical_names(df.columns, mapping), axis=1)


def _check_duplicates(
    names: list[str], targets: list[str], spec, path: Path, header_line: int
) -> list[str]:
    """Two headers giving one canonical column is an error naming both; other repeats get .1, .2."""
    where: dict[str, list[int]] = {}
    for i, t in enumerate(targets):
        where.setdefault(t, []).append(i)
    for target, pos in where.items():
        if len(pos) > 1 and target in spec.columns:
            both = " and ".join(f"{names[p]!r} (column {p + 1})" for p in pos)
            raise DataError(
                f"headers {both} on line {header_line} all give the column '{target}'. Expected each "
                f"column once: delete the extra column, or map one of them to another name in "
                f"columns.yaml.",
                file=path,
                column=target,
                rows=[header_line],
            )
    return _mangle(targets)


def _find_header(grid: _Grid, required, mapping, skip: int | None = None) -> int | None:
    """Position of the first row (among the first HEADER_SCAN) whose headers hold every required column."""
    blank = grid.blank()
    for i in range(min(len(grid.cells), HEADER_SCAN)):
        if (
            i != skip
            and not blank[i]
            and set(required) <= set(_canonical_names(_header_names(grid, i), mapping))
        ):
            return i
    return None


def _explain_missing(path: Path, table: str, grid: _Grid, idx: int, names, mapping, sheet) -> None:
    """When required headers are missing, look for them lower down and on other sheets; say what fixes it."""
    spec = TABLES[table]
    need = ", ".join(spec.required)
    found = _find_header(grid, spec.required, mapping, skip=idx)
    if found is not None:
        line = int(grid.lines[found])
        above = " (the lines above it look like a title)" if found > idx else ""
        raise DataError(
            f"the header ({need}) is on line {line}, not line {int(grid.lines[idx])}{above}. Expected "
            f"the header on the first line, or its line in columns.yaml: 'header_row: {{{table}: "
            f"{line}}}'.",
            file=path,
            rows=[line],
        )
    if grid.kind == "excel" and sheet is None:
        try:
            sheets = _sheet_names(path)
        except Exception:
            sheets = []
        for other in sheets[1:]:
            hit = _find_header(_excel_grid(path, other, nrows=HEADER_SCAN), spec.required, mapping)
            if hit is not None:
                row = f" and 'header_row: {{{table}: {hit + 1}}}'" if hit else ""
                raise DataError(
                    f"the first sheet {sheets[0]!r} has no header with {need}; sheet {other!r} has it "
                    f"(line {hit + 1}). Expected the data on the first sheet, or the sheet named in "
                    f"columns.yaml: 'sheets: {{{table}: {other}}}'{row}.",
                    file=path,
                )
    missing = [c for c in spec.required if c not in _canonical_names(names, mapping)]
    unused = [k for k in (mapping or {}) if str(k).strip() not in names]
    hint = (
        f" columns.yaml maps {', '.join(repr(str(k)) for k in unused)}, which the file's header (line "
        f"{int(grid.lines[idx])}) does not have."
        if unused
        else ""
    )
    raise DataError(
        f"required column missing (expected columns {', '.join(spec.required)}; found "
        f"{', '.join(names) or 'none'} on line {int(grid.lines[idx])}). Rename the header or map it "
        f"in columns.yaml.{hint}",
        file=path,
        column=missing[0],
    )


def _read_table(
    path, table: str, *, mapping=None, sheet=None, header_row=None, date_format=None, today=None
) -> tuple[pd.DataFrame, np.ndarray]:
    path = Path(path)
    spec = TABLES[table]
    suffix = ".parquet" if path.is_dir() or _is_glob(str(path)) else path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"unsupported file type '{suffix}'. Expected one of {', '.join(SUFFIXES)}.", file=path
        )
    if suffix == ".parquet":
        raw = _read_parquet(path)
        names = [str(c).strip() for c in raw.columns]
        frame = raw.set_axis(
            _check_duplicates(names, _canonical_names(names, mapping), spec, path, 1), axis=1
        )
        lines = default_lines(len(frame))
    else:
        grid = _read_grid(path, sheet, header_row)
        idx = _header_index(grid, header_row, path)
        names = _header_names(grid, idx)
        targets = _canonical_names(names, mapping)
        if not set(spec.required) <= set(targets):
            _explain_missing(path, table, grid, idx, names, mapping, sheet)
        targets = _check_duplicates(names, targets, spec, path, int(grid.lines[idx]))
        frame, lines = _data_rows(grid, idx, targets, path)
    typed = validate_table(
        frame, spec, file=path, lines=lines, today=today, date_format=date_format
    )
    return typed, lines


def read_table(
    path,
    table: str,
    *,
    mapping: dict | None = None,
    sheet=None,
    header_row: int | None = None,
    date_format: str | None = None,
    today=None,
) -> pd.DataFrame:
    """Read, map and validate one table file; returns a typed DataFrame.

    Parameters
    ----------
    path : str or Path
        The file (.csv, .xlsx, .xls or .parquet).
    table : str
        Canonical table name (``schema.TABLES``).
    mapping : dict, optional
        {file header: canonical name}, from columns.yaml.
    sheet, header_row, date_format : optional
        The columns.yaml settings for this table.
    today : date-like, optional
        The run date for the future-date rule (default today).

    Returns
    -------
    DataFrame
        The typed table.
    """
    return _read_table(
        path,
        table,
        mapping=mapping,
        sheet=sheet,
        header_row=header_row,
        date_format=date_format,
        today=today,
    )[0]


def read_mapping(data_dir: Path) -> dict:
    """Read and check ``columns.yaml`` (UTF-8, UTF-16 or GBK); ``{}`` when there is none.

    Parameters
    ----------
    data_dir : Path
        The data folder.

    Returns
    -------
    dict
        The checked settings.
    """
    path = Path(data_dir) / MAPPING_FILE
    if not path.exists():
        return {}
    conf = (
        _parse_yaml(
            decode_text(path.read_bytes(), file=path),
            path,
            f"Expected 'table: {{file header: canonical name}}' entries and the settings "
            f"{', '.join(SETTINGS)} (docs/data-format.md)",
        )
        or {}
    )
    if not isinstance(conf, dict):
        raise DataError(
            "columns.yaml must map table names to {file header: canonical name}.", file=path
        )
    unknown = [k for k in conf if k not in TABLES and k not in SETTINGS]
    if unknown:
        raise DataError(
            f"unknown table '{unknown[0]}' (expected one of {', '.join(TABLES)}, "
            f"or a setting: {', '.join(SETTINGS)}).",
            file=path,
        )
    for table in (k for k in conf if k in TABLES):
        _check_table_mapping(conf[table], table, path)
    for key in SETTINGS:
        _check_setting(conf, key, path)
    return conf


def _parse_yaml(text: str, path: Path, expected: str):
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DataError(
            f"not valid YAML{where}: {exc.problem or exc.context}. {expected}.",
            file=path,
            rows=[mark.line + 1] if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise DataError(f"not valid YAML ({exc}). {expected}.", file=path) from None


def _check_table_mapping(mapping, table: str, path: Path) -> None:
    if mapping is None:
        return
    if not isinstance(mapping, dict):
        raise DataError(
            f"the entry for {table} must map file headers to canonical names "
            f"({{'客户代号': customer_id}}), got {mapping!r}.",
            file=path,
        )
    valid = TABLES[table].columns
    for header, target in mapping.items():
        if not isinstance(target, str) or target not in valid:
            raise DataError(
                f"under {table}, the header {str(header)!r} is mapped to {target!r}, which is not a "
                f"column of {table}. Expected one of {', '.join(valid)}.",
                file=path,
            )


def _check_setting(conf: dict, key: str, path: Path) -> None:
    value = conf.get(key)
    if value is None:
        return
    per_table = value if isinstance(value, dict) else None
    if key in ("files", "sheets") and per_table is None:
        raise DataError(
            f"'{key}:' must map table names to {'file names' if key == 'files' else 'sheet names'}, "
            f"got {value!r}.",
            file=path,
        )
    for table, v in (per_table or {"(all tables)": value}).items():
        if per_table is not None and table not in TABLES:
            raise DataError(
                f"'{key}:' names an unknown table '{table}' (expected one of {', '.join(TABLES)}).",
                file=path,
            )
        if key == "files" and not isinstance(v, str):
            raise DataError(
                f"files: for {table} must be a file name in the data folder, got {v!r}.", file=path
            )
        if key == "sheets" and (isinstance(v, bool) or not isinstance(v, (str, int))):
            raise DataError(
                f"sheets: for {table} must be a sheet name (or its position from 0), got {v!r}.",
                file=path,
            )
        if key == "header_row" and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise DataError(
                f"header_row for {table} must be a whole number from 1 (the line of the header in "
                f"the file, as Excel numbers rows), got {v!r}.",
                file=path,
            )
        if key == "date_format" and not _valid_date_format(v):
            raise DataError(
                f"date_format for {table} must be day-first, month-first or a pattern with %Y, %m "
                f"and %d such as '%d/%m/%Y', got {v!r}.",
                file=path,
            )


def _valid_date_format(v) -> bool:
    if not isinstance(v, str):
        return False
    if v in DATE_ORDERS:
        return True
    return all(
        any(code in v for code in group) for group in (("%Y", "%y"), ("%m", "%b", "%B"), ("%d",))
    )


def table_setting(conf: dict, key: str, table: str):
    """A columns.yaml setting for one table: its own entry, else the value given for all tables.

    Parameters
    ----------
    conf : dict
        columns.yaml as read.
    key : str
        The setting (``sheet``, ``header_row`` ...).
    table : str
        The table.

    Returns
    -------
    object
        The setting, or None.
    """
    value = conf.get(key)
    return value.get(table) if isinstance(value, dict) else value


@dataclass
class Dataset:
    """The canonical tables found in a data directory."""

    data_dir: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    lines: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # line number in the file of each row

    def has(self, name: str, column: str | None = None) -> bool:
        """Whether the table ``name`` was loaded (and has a non-empty ``column`` when one is named).

        Parameters
        ----------
        name : str
            Table name.
        column : str, optional
            A column that must hold a value.

        Returns
        -------
        bool
        """
        df = self.tables.get(name)
        if df is None:
            return False
        return column is None or (column in df.columns and df[column].notna().any())

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def get(self, name: str):
        """The table ``name``, or None when it was not loaded.

        Parameters
        ----------
        name : str
            Table name.

        Returns
        -------
        DataFrame or None
        """
        return self.tables.get(name)

    @property
    def transactions(self) -> pd.DataFrame:
        return self.tables["transactions"]


def _is_glob(name: str) -> bool:
    return any(ch in name for ch in "*?[")


def table_parts(path: str | Path) -> list[Path]:
    """The files a table is read from: the file itself, or the Parquet files of a folder
    (its sub-folders too, as Spark writes partitions) or of a glob, in name order.

    Parameters
    ----------
    path : str or Path
        A file, a folder or a glob such as ``exports/tx-*.parquet``.

    Returns
    -------
    list of Path
        Empty when a folder or glob holds no Parquet file.
    """
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".parquet")
    if _is_glob(str(path)):
        anchor = next((i for i, part in enumerate(path.parts) if _is_glob(part)), len(path.parts))
        root, pattern = Path(*path.parts[:anchor]), str(Path(*path.parts[anchor:]))
        return sorted(
            p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() == ".parquet"
        )
    return [path]


def find_table_files(data_dir: Path, conf: dict) -> dict[str, Path]:
    """The file of each table in a data folder (by name or by columns.yaml's ``files``).

    Parameters
    ----------
    data_dir : Path
        The data folder.
    conf : dict
        columns.yaml as read.

    Returns
    -------
    dict of str to Path
        Table name -> file.
    """
    data_dir = Path(data_dir)
    found: dict[str, Path] = {}
    named = conf.get("files") or {}
    for table in TABLES:
        if table in named:
            path = data_dir / named[table]
            if _is_glob(str(named[table])) and table_parts(path):
                found[table] = path
                continue
            if not path.exists():
                raise DataError(
                    f"columns.yaml names '{named[table]}' for {table}, but no such file "
                    f"is in {data_dir}.",
                    file=data_dir / MAPPING_FILE,
                )
            found[table] = path
            continue
        hits = sorted(p for p in data_dir.glob(f"{table}.*") if p.suffix.lower() in SUFFIXES)
        if (data_dir / table).is_dir() and table_parts(data_dir / table):
            hits.append(data_dir / table)  # a folder of Parquet files (Spark's, DuckDB's output)
        if len(hits) > 1:
            raise DataError(
                f"{len(hits)} files hold the {table} table ({', '.join(p.name for p in hits)}). "
                f"Expected one; move the others away.",
                file=hits[0],
            )
        if hits:
            found[table] = hits[0]
    return found


def load_dataset(data_dir: str | Path, *, today=None) -> Dataset:
    """Load and validate every table of a data directory (``transactions`` is required).

    ``today`` is the run date for the future-date rule (default: today).

    Parameters
    ----------
    data_dir : str or Path
        The data folder.
    today : date-like, optional
        The run date.

    Returns
    -------
    Dataset
        The typed tables and their sources.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data directory not found: {data_dir}", file=data_dir)
    conf = read_mapping(data_dir)
    files = find_table_files(data_dir, conf)
    if "transactions" not in files:
        raise DataError(
            f"no transactions file in {data_dir} (expected transactions.csv, .xlsx or "
            f".parquet, or a 'files:' entry in columns.yaml).",
            file=data_dir,
        )
    ds = Dataset(data_dir=data_dir)
    for table, path in files.items():
        ds.tables[table], ds.lines[table] = _read_table(
            path,
            table,
            mapping=conf.get(table),
            sheet=table_setting(conf, "sheets", table),
            header_row=table_setting(conf, "header_row", table),
            date_format=table_setting(conf, "date_format", table),
            today=today,
        )
        ds.sources[table] = path
    if ds.has("customers"):
        for child in ("transactions", "receivables", "interactions"):
            if ds.has(child):
                check_references(
                    ds[child],
                    ds["customers"],
                    "customer_id",
                    file=ds.sources[child],
                    lines=ds.lines[child],
                )
    return ds


# ---------------------------------------------------------------- writing
def write_frame(
    df: pd.DataFrame, path: str | Path, *, note: str | None = None, note_sheet: str = "Note"
) -> Path:
    """Write a table for people: .csv as UTF-8 with BOM (opens in Excel), .xlsx, or .parquet.

    Text stays text in a spreadsheet (OWASP, CSV injection): in .xlsx every string is
    written as a string cell (XlsxWriter's ``write_string``), never as a formula, hyperlink or
    number; in .csv a text cell beginning with ``= + - @``, tab or CR gets a leading ``'``
    (:func:`analysis.escaping.neutralise_formulas`; numbers and ids such as ``00123`` unchanged)
    and rows end in CRLF, so that a line break inside a value is always quoted.  With pyarrow,
    Arrow writes the CSV (:func:`_write_csv_arrow`: pandas' bytes, in a fifth of the CPU time);
    without it, or for a dtype only pandas formats, pandas does.  An .xlsx holds
    at most :data:`EXCEL_MAX_DATA_ROWS` rows (ValueError beyond: cut the table first).

    Parameters
    ----------
    df : DataFrame
        The table.
    path : str or Path
        A .csv, .xlsx or .parquet path.
    note : str, optional
        .xlsx only: a sentence for the reader, in cell A1 of a second sheet (e.g. that the
        file holds the first rows only).
    note_sheet : str
        The name of that sheet.

    Returns
    -------
    Path
        The path written.
    """
    from analysis.escaping import neutralise_formulas

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # CRLF ends rows (RFC 4180, as Excel writes): a CR inside a value is then quoted, so it
        # cannot start a new row whose first cell escaped the formula check.
        if not _write_csv_arrow(df, path):
            neutralise_formulas(df).to_csv(
                path, index=False, encoding="utf-8-sig", lineterminator="\r\n"
            )
    elif suffix == ".xlsx":
        _write_xlsx(df, path, note=note, note_sheet=note_sheet)
    elif suffix == ".parquet":
        _write_parquet(df, path)
    else:
        raise ValueError(f"cannot write {suffix}; expected .csv, .xlsx or .parquet")
    return path


#: rows formatted and written at a time by the Arrow CSV writer (bounds the memory of a long table)
_CSV_CHUNK_ROWS = 100_000
#: |x| in [1e-4, 1e10): Arrow's cast and numpy's ``str`` both write a float without an exponent,
#: with the same shortest round-trip digits (numpy adds ".0" to a whole number, Arrow does not)
_CSV_PLAIN_FLOATS = (1e-4, 1e10)
#: the datetime64 units pandas holds, in units per second
_CSV_TIME_UNITS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _write_csv_arrow(df: pd.DataFrame, path: Path) -> bool:
    """Write :func:`write_frame`'s CSV with Arrow's compute kernels; False when pandas must.

    The bytes are those of ``neutralise_formulas(df).to_csv(path, index=False,
    encoding="utf-8-sig", lineterminator="\\r\\n")``: each column is formatted as pandas
    formats it (a float as numpy's ``str``, the shortest text that reads back to the same
    number; ``True``/``False``; a datetime column of whole days as ``2025-01-01``, others with
    as many decimals of seconds as the column needs; other values through ``str``), NA is
    empty, formula text is neutralised, and a value holding a comma, quote, CR or LF is quoted
    with its quotes doubled (the csv module's minimal quoting).  Arrow formats the cells and
    joins the rows, a chunk at a time: a fifth to a seventh of pandas' CPU time on a staff table.

    Returns False, having written nothing or a file that pandas then overwrites, without
    pyarrow, for a table without rows or columns or with a MultiIndex header, for a dtype
    formatted only by pandas (timedelta, period, interval, complex, float32, Arrow-backed
    numbers, datetimes before year 1000 ...) and when Arrow refuses the data (text with lone
    surrogates, a chunk of text beyond 2 GB).
    """
    from analysis.engine.aggregate import arrow_available
    from analysis.escaping import neutralise_formula

    if not arrow_available() or not len(df) or not df.shape[1]:
        return False
    if isinstance(df.columns, pd.MultiIndex):
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        columns = [_csv_column(df.iloc[:, j]) for j in range(df.shape[1])]
        if any(column is None for column in columns):
            return False
        header = pd.DataFrame(columns=df.columns.map(neutralise_formula)).to_csv(
            index=False, lineterminator="\r\n"
        )
        with open(path, "wb") as fh:
            fh.write(header.encode("utf-8-sig"))
            for start in range(0, len(df), _CSV_CHUNK_ROWS):
                stop = min(start + _CSV_CHUNK_ROWS, len(df))
                cells = [column(start, stop) for column in columns]
                if len(cells) == 1:  # the csv module quotes a row's only field when it is empty
                    cells[0] = pc.if_else(pc.equal(cells[0], ""), '""', cells[0])
                cells[-1] = pc.binary_join_element_wise(cells[-1], "\r\n", "")
                rows = pc.binary_join_element_wise(*cells, ",") if len(cells) > 1 else cells[0]
                fh.write(_string_bytes(rows))
    except (pa.ArrowException, UnicodeError):
        return False
    return True


def _string_bytes(text) -> memoryview:
    """The characters of an Arrow string array without nulls, one after the other, uncopied."""
    import pyarrow as pa

    _, offsets, data = text.buffers()
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    ends = np.frombuffer(offsets, dtype=width)[text.offset : text.offset + len(text) + 1]
    return memoryview(data)[int(ends[0]) : int(ends[-1])] if data is not None else memoryview(b"")


def _csv_column(s: pd.Series):
    """The formatter of a column's CSV cells, ``(start, stop) -> Arrow strings``; None: pandas'.

    Column-wide choices (a datetime column's format, a category's texts) are made once here,
    on every row; the formatter then turns rows ``start:stop`` into text without nulls,
    neutralised and quoted.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return None
    if isinstance(dtype, pd.CategoricalDtype):
        # neutralise_formulas turns a category column into objects: each category through str
        texts = _csv_quoted(
            pa.array([_csv_object_text(v) for v in s.cat.categories.astype(object)] + [""])
        )
        codes = s.cat.codes.to_numpy()
        codes = np.where(codes < 0, len(texts) - 1, codes)
        return lambda a, b: texts.take(pa.array(codes[a:b]))
    if isinstance(dtype, pd.StringDtype):
        text = _csv_arrow_array(s)
        return lambda a, b: _csv_text(text.slice(a, b - a))
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        values = s.to_numpy()
        na = pd.isna(values)
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            # made Arrow text a chunk at a time: whole, each column's text sat beside the table
            # (100 MB for page 01's roster at 10M lines)
            return lambda a, b: _csv_text(
                pa.array(values[a:b], type=pa.large_string(), mask=na[a:b])
            )
        # numbers, booleans, dates ... among the text: each through str, as the csv module does
        mixed = pa.array(
            [None if m else _csv_object_text(v) for v, m in zip(values, na)], pa.large_string()
        )
        return lambda a, b: _csv_quoted(mixed.slice(a, b - a).cast(pa.string()))
    if pd.api.types.is_bool_dtype(dtype):
        flags = pa.array(s.to_numpy()) if isinstance(dtype, np.dtype) else _csv_arrow_array(s)
        return lambda a, b: pc.fill_null(pc.if_else(flags.slice(a, b - a), "True", "False"), "")
    if pd.api.types.is_integer_dtype(dtype):
        ints = pa.array(s.to_numpy()) if isinstance(dtype, np.dtype) else _csv_arrow_array(s)
        return lambda a, b: pc.fill_null(pc.cast(ints.slice(a, b - a), pa.string()), "")
    if dtype == np.dtype("float64") or isinstance(dtype, pd.Float64Dtype):
        x = s.to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(x).sum() != s.isna().sum():  # a nullable column holding NaN beside NA
            return None
        return lambda a, b: _csv_floats(x[a:b])
    if isinstance(dtype, pd.DatetimeTZDtype):
        # rare in a report, and pandas has changed how it writes them: its own text of the
        # column (a line a value: no comma, quote or line break; NA as "" when alone on a line)
        lines = s.to_frame().to_csv(index=False, header=False, lineterminator="\n")
        stamps = pa.array(["" if v == '""' else v for v in lines.split("\n")[:-1]])
        return lambda a, b: stamps.slice(a, b - a)
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return _csv_datetimes(s.to_numpy())
    return None


def _csv_arrow_array(s: pd.Series):
    """A pandas extension column (string, Int64, boolean) as one Arrow array, NA as null."""
    import pyarrow as pa

    arr = pa.array(s.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _csv_object_text(value) -> str:
    """A cell of a text column as pandas writes it: neutralised, then through ``str``."""
    from analysis.escaping import neutralise_formula

    return str(neutralise_formula(value))


def _csv_text(text):
    """Arrow text cells (null for NA) neutralised as formulas and quoted for CSV."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from analysis.escaping import FORMULA_START, neutralise_formula

    text = text.cast(pa.string())
    starts = "^[" + "".join(f"\\x{ord(c):02x}" for c in FORMULA_START) + "]"
    risky = pc.fill_null(pc.match_substring_regex(text, starts), False)
    if pc.any(risky).as_py():  # few cells: the rule itself decides each
        fixed = [neutralise_formula(v) for v in text.filter(risky).to_pylist()]
        text = pc.replace_with_mask(text, risky, pa.array(fixed, pa.string()))
    return _csv_quoted(text)


def _csv_quoted(text):
    """Arrow text cells quoted as the csv module quotes them (QUOTE_MINIMAL), null as empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = text.cast(pa.string())
    special = pc.fill_null(pc.match_substring_regex(text, '[,"\r\n]'), False)
    if pc.any(special).as_py():
        inner = pc.replace_substring(text.filter(special), '"', '""')
        text = pc.replace_with_mask(text, special, pc.binary_join_element_wise('"', inner, '"', ""))
    return pc.fill_null(text, "")


def _csv_floats(x: np.ndarray):
    """numpy's ``str`` of each float, as pandas writes it (``100.0``, ``1e-05``, ``inf``); NaN empty.

    Arrow formats the floats both write without an exponent (when the installed Arrow writes
    them as :func:`_arrow_floats_as_numpy` checks), adding numpy's ``.0`` to whole numbers;
    numpy formats the rest (rare in a report: tiny, huge, infinite, ``-0.0``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    low, high = _CSV_PLAIN_FLOATS
    size = np.abs(x)
    with np.errstate(invalid="ignore"):
        plain = ((size >= low) & (size < high)) | ((x == 0) & ~np.signbit(x))
        whole = plain & (x == np.trunc(x))
    if not _arrow_floats_as_numpy():
        plain[:] = whole[:] = False
    text = pc.cast(pa.array(x, mask=~plain), pa.string())
    if whole.any():
        ends = pa.array(whole)
        text = pc.replace_with_mask(
            text, ends, pc.binary_join_element_wise(text.filter(ends), ".0", "")
        )
    rest = ~plain & ~np.isnan(x)
    if rest.any():
        text = pc.replace_with_mask(text, pa.array(rest), pa.array(x[rest].astype(str).tolist()))
    return pc.fill_null(text, "")


@functools.cache
def _arrow_floats_as_numpy() -> bool:
    """Whether this Arrow writes the floats in :data:`_CSV_PLAIN_FLOATS` as numpy does, ``.0`` aside.

    Both write the shortest digits that read back to the same float; Arrow leaves out the
    ``.0`` of a whole number.  A change of Arrow's exponent thresholds or of its whole
    numbers shows at the edges of the range, and then numpy formats every float.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    low, high = _CSV_PLAIN_FLOATS
    probe = np.array([low, -low, np.nextafter(high, 0), -np.nextafter(high, 0), 0.1, 100.0, 0.0])
    probe = np.concatenate([probe, np.nextafter(probe, np.inf)])
    probe = probe[(np.abs(probe) >= low) & (np.abs(probe) < high) | (probe == 0)]
    arrow = pc.cast(pa.array(probe), pa.string()).to_pylist()
    whole = probe == np.trunc(probe)
    return [t + ".0" if w else t for t, w in zip(arrow, whole)] == probe.astype(str).tolist()


def _csv_datetimes(values: np.ndarray):
    """The formatter of a naive datetime64 column, with pandas' column-wide format choice.

    Whole days only (NaT aside): ``2025-01-01``; otherwise ``2025-01-01 08:30:00`` with the
    decimals of a second (3, 6 or 9) of the finest unit any value needs.  None outside the
    years 1000-9999, which pandas writes without padding the year.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    unit, count = np.datetime_data(values.dtype)
    if unit not in _CSV_TIME_UNITS or count != 1:
        return None
    ticks = values.view("i8")
    nat = np.isnat(values)
    seen = ticks[~nat]
    if len(seen):
        years = values[~nat][[seen.argmin(), seen.argmax()]].astype("datetime64[Y]").astype(int)
        if years.min() + 1970 < 1000 or years.max() + 1970 > 9999:
            return None
    per_second = _CSV_TIME_UNITS[unit]
    if not (seen % (86_400 * per_second)).any():
        target = pa.date32()
    else:
        shown = next(
            u
            for u, n in _CSV_TIME_UNITS.items()
            if n >= per_second or not (seen % (per_second // n)).any()
        )
        target = pa.timestamp(shown)

    def cells(a, b):
        stamps = pa.array(values[a:b], mask=nat[a:b]).cast(target)
        return pc.fill_null(pc.cast(stamps, pa.string()), "")

    return cells


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """pandas writes Parquet through pyarrow when it is installed; otherwise DuckDB does."""
    from analysis.engine.aggregate import arrow_available

    if arrow_available():
        df.to_parquet(path, index=False)
        return
    import duckdb

    con = duckdb.connect()
    try:
        con.register("ccm_frame", df)
        target = str(path).replace("'", "''")
        con.sql(f"COPY (SELECT * FROM ccm_frame) TO '{target}' (FORMAT parquet)")
    finally:
        con.close()


#: data rows an Excel sheet holds: 1,048,576 rows, one of them the header
EXCEL_MAX_DATA_ROWS = 1_048_575
#: XlsxWriter's options for every workbook written: rows go to a temporary file as they are written
#: (memory stays flat at any length), and no text is ever read as a formula, link or number
_XLSX_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": False,  # True would write inf as the formula 1/0: inf is written as text
    "remove_timezone": True,
}


def _write_xlsx(df: pd.DataFrame, path: Path, *, note: str | None, note_sheet: str) -> None:
    """``df`` on one sheet (and ``note`` on a second), every string a string cell."""
    book = _xlsx_book(path)
    _append_frame(book, book.add_worksheet(), df)
    if note:
        book.add_worksheet(_sheet_title(note_sheet, set())).write_string(0, 0, note)
    book.close()


def _xlsx_book(path: Path):
    """An XlsxWriter workbook (the project's Excel writer; openpyxl reads) with :data:`_XLSX_OPTIONS`."""
    import xlsxwriter

    return xlsxwriter.Workbook(str(path), _XLSX_OPTIONS)


def _append_frame(book, ws, df: pd.DataFrame) -> None:
    """Header and rows of ``df`` into an empty sheet, every string a string cell.

    Each column picks its cell writer once from its dtype; text goes through ``write_string`` only
    (never ``write``, which would look at what the text starts with), so no value becomes a
    formula, link or number (OWASP, CSV injection).  NA is an empty cell.
    """
    if len(df) > EXCEL_MAX_DATA_ROWS or df.shape[1] > 16_384:
        # XlsxWriter would drop the cells beyond the sheet without a word
        raise ValueError(
            f"{df.shape[0]:,} rows x {df.shape[1]:,} columns do not fit an Excel sheet "
            f"(at most {EXCEL_MAX_DATA_ROWS:,} rows under the header and 16,384 columns)"
        )
    for j, name in enumerate(df.columns):
        ws.write_string(0, j, str(name))
    formats = {}

    def date_format(pattern):
        if pattern not in formats:
            formats[pattern] = book.add_format({"num_format": pattern})
        return formats[pattern]

    columns = [_xlsx_column(df.iloc[:, j], ws, date_format) for j in range(df.shape[1])]
    writers = [w for _, w in columns]
    for i, row in enumerate(zip(*(v for v, _ in columns)), start=1):
        for j, v in enumerate(row):
            if v is not None:
                writers[j](i, j, v)


def _xlsx_column(s: pd.Series, ws, date_format) -> tuple[list, object]:
    """A column's cell values (None where NA) and the writer of its cells ``(row, col, value)``."""
    na = s.isna().to_numpy()

    def blanks(values: list) -> list:
        return [None if m else v for v, m in zip(values, na)] if na.any() else values

    if pd.api.types.is_bool_dtype(s.dtype):
        return blanks(s.astype(object).tolist()), lambda r, c, v: ws.write_boolean(r, c, bool(v))
    if pd.api.types.is_integer_dtype(s.dtype) and not na.any():
        return s.to_numpy().tolist(), ws.write_number
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        writer = _number_or_text(ws) if np.isinf(values).any() else ws.write_number
        return blanks(values.tolist()), writer
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)  # the wall-clock time, as shown in the data
    if pd.api.types.is_datetime64_dtype(s.dtype):
        times = s.dropna()
        whole_days = bool((times == times.dt.normalize()).all())
        fmt = date_format("yyyy-mm-dd" if whole_days else "yyyy-mm-dd hh:mm:ss")
        values = blanks(list(s.dt.to_pydatetime()))
        return values, lambda r, c, v: ws.write_datetime(r, c, v, fmt)
    return blanks(s.astype(object).tolist()), _any_cell(ws, date_format("yyyy-mm-dd hh:mm:ss"))


def _number_or_text(ws):
    """A number, or ``inf`` / ``-inf`` as text (as in the CSV; Excel has no infinite number)."""

    def write(r, c, v):
        if np.isinf(v):
            return ws.write_string(r, c, str(v))
        return ws.write_number(r, c, v)

    return write


def _any_cell(ws, datetime_format):
    """The writer of a column of mixed values: text as text, numbers, booleans, dates, else ``str``."""
    number = _number_or_text(ws)

    def write(r, c, v):
        if isinstance(v, str):
            return ws.write_string(r, c, v)
        if isinstance(v, (bool, np.bool_)):
            return ws.write_boolean(r, c, bool(v))
        if isinstance(v, (numbers.Real, decimal.Decimal)):
            return number(r, c, float(v))
        if isinstance(v, dt.datetime):
            return ws.write_datetime(
                r, c, pd.Timestamp(v).tz_localize(None).to_pydatetime(), datetime_format
            )
        if isinstance(v, dt.date):
            return ws.write_datetime(r, c, v, datetime_format)
        return ws.write_string(r, c, str(v))

    return write


_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _sheet_title(name, used: set[str]) -> str:
    """An Excel sheet name for ``name``, unique among ``used`` (lower-cased; updated)."""
    base = str(name).translate(_SHEET_FORBIDDEN).strip("' ")[:31] or "-"
    title, k = base, 1
    while title.lower() in used:
        k += 1
        title = f"{base[: 31 - len(str(k)) - 2]}({k})"
    used.add(title.lower())
    return title


def write_workbook(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write several tables to one .xlsx, a sheet each (e.g. a visit plan per salesperson).

    The rules of :func:`write_frame` hold (every text cell a string cell, so no value becomes a
    formula).  Sheet names follow Excel's: ``[]:*?/\\`` become ``_``, at most 31 characters,
    blank becomes ``-``, and a repeated name gets ``(2)``, ``(3)`` ….

    Parameters
    ----------
    sheets : dict of str to DataFrame
        Sheet name -> table.
    path : str or Path
        The .xlsx path.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = _xlsx_book(path)
    used: set[str] = set()
    for name, df in sheets.items():
        _append_frame(book, book.add_worksheet(_sheet_title(name, used)), df)
    if not used:
        book.add_worksheet("-")
    book.close()
    return path


def write_tables(
    tables: dict[str, pd.DataFrame], out_dir: str | Path, *, fmt: str = "csv"
) -> list[Path]:
    """Write a dataset, one file per table, deterministically (used by the sample generator).

    Parameters
    ----------
    tables : dict of str to DataFrame
        Table name -> table.
    out_dir : str or Path
        The folder.
    fmt : str
        ``"csv"``, ``"xlsx"`` or ``"parquet"``.

    Returns
    -------
    list of Path
        The paths written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(
                path, index=False, encoding="utf-8", lineterminator="\n", date_format="%Y-%m-%d"
            )
        else:
            write_frame(df, path)
        written.append(path)
    return written


def read_yaml(path: str | Path):
    """Parse a YAML file (UTF-8, UTF-16 or GBK); DataError naming the file and line when it is not plain YAML.

    ``yaml.safe_load`` refuses ``!!python/...`` tags, so a params file cannot run code.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    object
        The parsed data.
    """
    path = Path(path)
    return (
        _parse_yaml(
            decode_text(path.read_bytes(), file=path),
            path,
            "Expected plain YAML: 'key: value' lines, without !!python tags",
        )
        or {}
    )
