"""What a report worker runs in its kernel before each page (see :mod:`analysis.report.runner`).

A worker keeps one Jupyter kernel for all the pages it runs: starting a kernel and importing
pandas, scikit-learn and matplotlib again costs 3-5 s a page, most of a small company's
report.  Each page must still start as in a fresh kernel, so before every page after the
first, :func:`prepare` forgets the page before: its variables (``%reset -f``), its figures, the
matplotlib settings and warning filters it changed, pandas options, and the cell numbers.
Imported modules stay: they hold no page's data (helpers are pure).  After every cell the
kernel lets go of the file pages of the run's mapped lines that the cell touched
(:func:`after_cell`), and every second while it runs (:func:`release_pages_meanwhile`).
"""

from __future__ import annotations

import gc
import threading
import warnings
from collections.abc import Callable

#: functions that forget a module's state of the page before (e.g. that the page's first
#: interactive table has embedded the DataTables library); registered with :func:`per_page`
PER_PAGE: list[Callable[[], None]] = []

#: the fresh kernel's matplotlib settings and warning filters, taken before its first page
_FRESH: tuple[dict, list] | None = None


def per_page(fn: Callable[[], None]) -> Callable[[], None]:
    """Decorator: call ``fn`` before every page after a kernel's first (module state kept per page).

    Parameters
    ----------
    fn : callable
        No arguments, returns nothing.

    Returns
    -------
    callable
        ``fn``.
    """
    PER_PAGE.append(fn)
    return fn


def after_cell(result=None) -> None:
    """After each cell of a page (IPython's ``post_run_cell``, registered by :func:`prepare`):
    let go of the file pages of the run's mapped lines the cell touched
    (:func:`analysis.data.validated.release_mapped_pages`), so that a kernel between two cells
    holds only what the page keeps.

    Parameters
    ----------
    result : IPython.core.interactiveshell.ExecutionResult, optional
        The cell's result (unused).
    """
    from analysis.data.validated import release_mapped_pages

    release_mapped_pages()


#: seconds between two releases of the mapped lines' pages by a report kernel (:func:`release_pages_meanwhile`)
RELEASE_EVERY_S = 1.0
#: the stop event of this kernel's releasing thread, once started
_RELEASER: list[threading.Event] = []


def release_pages_meanwhile(every: float = RELEASE_EVERY_S) -> threading.Event:
    """Start this kernel's thread that lets go of the mapped lines' file pages every ``every``
    seconds while a cell runs (once per kernel; later calls return the running thread's event).

    A long step that reads the lines (the value forecast's pass over them, the previous
    quarter's classes) would otherwise keep every page it touched resident until its cell
    ends: up to 0.5 GB per kernel at ten million lines, counted again in each kernel that
    touched the same lines.  The pages stay in the system's file cache; a read after a release
    maps them again (a minor fault per 4 kB page, about 20 ms per 100 MB).  The map is read-only
    and shared, so a release never changes what a reader sees.

    Parameters
    ----------
    every : float
        Seconds between two releases.

    Returns
    -------
    threading.Event
        Set it to stop the thread.
    """
    if _RELEASER and not _RELEASER[0].is_set():
        return _RELEASER[0]
    from analysis.data.validated import release_mapped_pages

    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            release_mapped_pages()

    threading.Thread(target=run, name="ccm-release-mapped-pages", daemon=True).start()
    _RELEASER[:] = [stop]
    return stop


def prepare(shell) -> bool:
    """Before a page: remember the fresh kernel (first page) or forget the page before.

    Parameters
    ----------
    shell : IPython.core.interactiveshell.InteractiveShell
        The kernel's shell (``get_ipython()``).

    Returns
    -------
    bool
        True when a page before was forgotten, False on the kernel's first page.
    """
    global _FRESH
    import matplotlib as mpl
    import matplotlib.pyplot as plt  # the inline backend's settings are part of the fresh state
    import pandas as pd

    if _FRESH is None:
        shell.events.register("post_run_cell", after_cell)
        release_pages_meanwhile()
        # not the backend and interactive mode: the inline backend sets them on the first
        # figure, and a figure is only shown at the end of a cell while they stay set
        rc = {k: v for k, v in mpl.rcParams.items() if k not in ("backend", "interactive")}
        _FRESH = (rc, list(warnings.filters))
        return False
    rc, filters = _FRESH
    shell.reset(new_session=True)  # %reset -f, and cell numbers (and history) from 1
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated keys warn when set, even to their values
        mpl.rcParams.update(rc)
        pd.reset_option("all")
    warnings.filters[:] = filters
    for forget in PER_PAGE:
        forget()
    gc.collect()
    try:  # Arrow's allocator keeps freed buffers (the page's lines) for reuse otherwise
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:  # pragma: no cover - pyarrow is an optional extra
        pass
    trim_memory()
    return True


def trim_memory() -> None:
    """Hand the memory the C allocator keeps after a page back to the system (glibc's
    ``malloc_trim``; nothing elsewhere)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl): nothing to do
        pass
