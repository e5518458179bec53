"""The report's Chinese font: Noto Sans CJK SC, under the SIL Open Font License 1.1.

The font comes from the PyPI package ``noto-cjk-sans-otc`` (the Noto Sans CJK OpenType
collection as published by the Noto project, with its OFL licence), installed with the
project.  The collection holds one face per language; the report uses the Simplified
Chinese face, which matplotlib (charts) and fontTools (the subset embedded in pages and
the PDF) both read straight from the collection by its index — nothing is extracted.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CJK_FAMILY = "Noto Sans CJK SC"


def cjk_font_path() -> Path:
    """The installed Noto Sans CJK collection (``.ttc``).

    Returns
    -------
    Path
        The collection file; its face :data:`CJK_FAMILY` is at :func:`cjk_face_index`.
    """
    try:
        import noto_cjk_sans_otc
    except ImportError as exc:  # the package is a declared dependency
        raise RuntimeError(
            "the Chinese font package noto-cjk-sans-otc is missing; run make report"
        ) from exc
    return Path(str(noto_cjk_sans_otc.FONT_PATH))


def face_index(collection: Path, family: str) -> int:
    """The index of the face named ``family`` (name ID 1) in an OpenType collection.

    Parameters
    ----------
    collection : Path
        A ``.ttc``/``.otc`` file.
    family : str
        The face's family name, e.g. ``"Noto Sans CJK SC"``.

    Returns
    -------
    int
        The face's position in the collection.
    """
    from fontTools.ttLib import TTCollection

    names = [f["name"].getDebugName(1) for f in TTCollection(str(collection), lazy=True).fonts]
    if family not in names:
        raise RuntimeError(f"{collection} has no face {family!r} (faces: {', '.join(names)})")
    return names.index(family)


@lru_cache(maxsize=1)
def cjk_face_index() -> int:
    """The index of :data:`CJK_FAMILY` in :func:`cjk_font_path`.

    Returns
    -------
    int
    """
    return face_index(cjk_font_path(), CJK_FAMILY)
