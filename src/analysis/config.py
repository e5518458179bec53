"""Project paths anchored on the project root (the folder holding pyproject.toml)."""

from __future__ import annotations

from pathlib import Path


def _root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "notebooks").is_dir():
            return parent
    return Path.cwd()


PROJECT_ROOT = _root()
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"
PARAMS_DIR = PROJECT_ROOT / "params"
REPORTS_DIR = PROJECT_ROOT / "reports"
#: sub-folder of a report (or staging) folder holding each page's summary JSON
SUMMARY_DIR = "summary"
KERNEL_NAME = "ccm"
LANGS = ("zh", "en")
