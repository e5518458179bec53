"""Reading user exports and writing report artefacts: the only module that does file I/O.

Input files are opened read-only and never written.  CSV encodings (UTF-8,
UTF-8 with BOM, GBK/GB18030) are detected; headers are mapped to the canonical
names with the built-in aliases and an optional ``columns.yaml``.
"""
from __future__ import annotations

import io as _io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .schema import HEADER_ALIASES, TABLES
from .validation import DataError, check_references, validate_table

SUFFIXES = (".csv", ".xlsx", ".xls", ".parquet")
MAPPING_FILE = "columns.yaml"


# ---------------------------------------------------------------- reading
def sniff_encoding(data: bytes, *, file=None) -> str:
    """Name the text encoding of a CSV file's bytes, or raise DataError for binary data."""
    head = data[:8192]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PAR1") or b"\x00" in head:
        raise DataError("this is a binary file, not CSV text (an Excel or Parquet file with a .csv "
                        "name?). Expected comma-separated text in UTF-8 or GBK; rename it to its "
                        "real suffix (.xlsx or .parquet) or export it again as CSV.", file=file)
    for enc in ("utf-8-sig", "gb18030"):
        try:
            data.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise DataError("the file is not readable text in any known encoding. Expected CSV "
                        "in UTF-8 or GBK.", file=file)
    return best.encoding


def read_raw(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read one file as it is (no header mapping, no typing)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(f"unsupported file type '{suffix}'. Expected one of {', '.join(SUFFIXES)}.",
                        file=path)
    if suffix == ".csv":
        data = path.read_bytes()
        if not data.strip():
            raise DataError("the file is empty: expected a header row and at least one data row.",
                            file=path)
        enc = sniff_encoding(data, file=path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(_io.StringIO(data.decode(enc)), dtype=str, keep_default_na=False,
                                   na_values=[""], skipinitialspace=True, index_col=False)
        except pd.errors.ParserWarning:
            raise DataError("some lines have more fields than the header (an unquoted comma inside a "
                            "value, such as 1,200.50?). Expected the same number of comma-separated "
                            "fields on every line; quote values that contain commas.", file=path) from None
        except pd.errors.ParserError as exc:
            raise DataError(f"the CSV cannot be parsed ({exc}). Expected one header row and "
                            f"the same number of comma-separated fields on every line.", file=path) from None
        except pd.errors.EmptyDataError:
            raise DataError("the file is empty: expected a header row and at least one data row.",
                            file=path) from None
    try:
        if suffix in (".xlsx", ".xls"):
            return pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object)
        return pd.read_parquet(path)
    except DataError:
        raise
    except Exception as exc:  # the readers raise many types for a corrupt file
        raise DataError(f"the file cannot be read as {suffix[1:]} ({type(exc).__name__}: {exc}).",
                        file=path) from None


def map_headers(df: pd.DataFrame, mapping: dict | None = None) -> pd.DataFrame:
    """Rename headers to canonical names: ``mapping`` first, then built-in aliases."""
    mapping = {str(k).strip(): v for k, v in (mapping or {}).items()}
    rename = {}
    for col in df.columns:
        name = str(col).strip()
        target = mapping.get(name) or HEADER_ALIASES.get(name.lower()) or HEADER_ALIASES.get(name)
        rename[col] = target or name
    return df.rename(columns=rename)


def read_table(path, table: str, *, mapping: dict | None = None, sheet=None) -> pd.DataFrame:
    """Read, map and validate one table file; returns a typed DataFrame."""
    raw = read_raw(path, sheet=sheet)
    mapped = map_headers(raw, mapping)
    dup = mapped.columns[mapped.columns.duplicated()].tolist()
    if dup:
        raise DataError(f"two headers map to the same name '{dup[0]}'. Expected each canonical "
                        f"column once; check columns.yaml.", file=path, column=dup[0])
    return validate_table(mapped, table, file=path)


def read_mapping(data_dir: Path) -> dict:
    path = Path(data_dir) / MAPPING_FILE
    if not path.exists():
        return {}
    try:
        conf = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(f"columns.yaml is not valid YAML ({exc}).", file=path) from None
    if not isinstance(conf, dict):
        raise DataError("columns.yaml must map table names to {file header: canonical name}.", file=path)
    unknown = [k for k in conf if k not in TABLES and k not in ("files", "sheets")]
    if unknown:
        raise DataError(f"unknown table '{unknown[0]}' (expected one of {', '.join(TABLES)}, "
                        f"'files' or 'sheets').", file=path)
    return conf


@dataclass
class Dataset:
    """The canonical tables found in a data directory."""

    data_dir: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)

    def has(self, name: str, column: str | None = None) -> bool:
        df = self.tables.get(name)
        if df is None:
            return False
        return column is None or (column in df.columns and df[column].notna().any())

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def get(self, name: str):
        return self.tables.get(name)

    @property
    def transactions(self) -> pd.DataFrame:
        return self.tables["transactions"]


def find_table_files(data_dir: Path, conf: dict) -> dict[str, Path]:
    data_dir = Path(data_dir)
    found: dict[str, Path] = {}
    named = conf.get("files") or {}
    for table in TABLES:
        if table in named:
            path = data_dir / named[table]
            if not path.exists():
                raise DataError(f"columns.yaml names '{named[table]}' for {table}, but no such file "
                                f"is in {data_dir}.", file=data_dir / MAPPING_FILE)
            found[table] = path
            continue
        hits = sorted(p for p in data_dir.glob(f"{table}.*") if p.suffix.lower() in SUFFIXES)
        if len(hits) > 1:
            raise DataError(f"{len(hits)} files hold the {table} table ({', '.join(p.name for p in hits)}). "
                            f"Expected one; move the others away.", file=hits[0])
        if hits:
            found[table] = hits[0]
    return found


def load_dataset(data_dir: str | Path) -> Dataset:
    """Load and validate every table of a data directory (``transactions`` is required)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data directory not found: {data_dir}", file=data_dir)
    conf = read_mapping(data_dir)
    files = find_table_files(data_dir, conf)
    if "transactions" not in files:
        raise DataError(f"no transactions file in {data_dir} (expected transactions.csv, .xlsx or "
                        f".parquet, or a 'files:' entry in columns.yaml).", file=data_dir)
    ds = Dataset(data_dir=data_dir)
    for table, path in files.items():
        ds.tables[table] = read_table(path, table, mapping=conf.get(table),
                                      sheet=(conf.get("sheets") or {}).get(table))
        ds.sources[table] = path
    if ds.has("customers"):
        for child in ("transactions", "receivables", "interactions"):
            if ds.has(child):
                check_references(ds[child], ds["customers"], "customer_id", file=ds.sources[child])
    return ds


# ---------------------------------------------------------------- writing
def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table for people: .csv as UTF-8 with BOM (opens in Excel), .xlsx, or .parquet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
    elif suffix == ".xlsx":
        df.to_excel(path, index=False, engine="xlsxwriter")  # several times faster than openpyxl
    elif suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        raise ValueError(f"cannot write {suffix}; expected .csv, .xlsx or .parquet")
    return path


def write_tables(tables: dict[str, pd.DataFrame], out_dir: str | Path, *, fmt: str = "csv") -> list[Path]:
    """Write a dataset, one file per table, deterministically (used by the sample generator)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", date_format="%Y-%m-%d")
        else:
            write_frame(df, path)
        written.append(path)
    return written


def write_text(text: str, path: str | Path) -> Path:
    """Write UTF-8 text with Unix line ends (HTML pages, generated notebooks and docs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def write_bytes(data: bytes, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def read_text(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8")


def read_notebook(path: str | Path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def write_json(obj, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8")
    return path


def read_json(path: str | Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_yaml(path: str | Path):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def _json_default(v):
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
