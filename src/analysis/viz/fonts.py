"""The report's Chinese font: Noto Sans CJK SC, under the SIL Open Font License 1.1.

The font comes from the PyPI package ``noto-cjk-sans-otc`` (the Noto Sans CJK OpenType
collection as published by the Noto project, with its OFL licence), installed with the
project.  Charts need one face as a file of its own, so the Simplified Chinese face is
taken out of the collection once and kept beside the environment.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

CJK_FAMILY = "Noto Sans CJK SC"
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"


def _collection_path() -> Path:
    try:
        import noto_cjk_sans_otc
    except ImportError as exc:  # the package is a declared dependency
        raise RuntimeError(
            "the Chinese font package noto-cjk-sans-otc is missing; run make report"
        ) from exc
    return Path(str(noto_cjk_sans_otc.FONT_PATH))


def _cache_dirs() -> list[Path]:
    return [
        Path(sys.prefix) / "share" / "ccm",
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ccm",
    ]


def extract_face(collection: Path, family: str, out: Path) -> Path:
    """Write the face named ``family`` of an OpenType collection to ``out`` (atomically).

    Parameters
    ----------
    collection : Path
        A ``.ttc``/``.otc`` file.
    family : str
        The face's family name (name ID 1), e.g. ``"Noto Sans CJK SC"``.
    out : Path
        Where the single-face font is written.

    Returns
    -------
    Path
        ``out``.
    """
    from fontTools.ttLib import TTCollection

    fonts = TTCollection(str(collection), lazy=True).fonts
    names = [f["name"].getDebugName(1) for f in fonts]
    if family not in names:
        raise RuntimeError(f"{collection} has no face {family!r} (faces: {', '.join(names)})")
    font = fonts[names.index(family)]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    os.close(fd)
    try:
        font.save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)  # parallel notebook kernels may extract at the same time
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def cjk_font_path() -> Path:
    """The Noto Sans CJK SC font file, extracted from the installed collection on first use."""
    for folder in _cache_dirs():
        path = folder / CJK_FONT_FILE
        if path.exists():
            return path
    collection = _collection_path()
    for folder in _cache_dirs():
        try:
            return extract_face(collection, CJK_FAMILY, folder / CJK_FONT_FILE)
        except OSError:
            continue  # not writable: try the next place
    raise RuntimeError(f"cannot write the Chinese font to any of {_cache_dirs()}")
