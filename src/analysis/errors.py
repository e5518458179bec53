"""Errors that the report runner treats as part of a report rather than as a failed run."""

from __future__ import annotations

from analysis.data.validation import DataError

__all__ = ["InsufficientData"]


class InsufficientData(DataError):
    """The data are valid but too few for a page's model or figure (say, no churned customer).

    Raised inside a report notebook, it does not fail the report: the runner
    keeps the page with a note saying what could not be computed and why, lists
    it on the index page, writes the rest of the report and warns (exit 0).  A
    subclass of :class:`~analysis.data.validation.DataError` (and so of ValueError),
    so callers that catch those keep working.
    """

    def __init__(self, message: str, *, file=None, column=None, rows=None):
        super().__init__(message, file=file, column=column, rows=rows)
        if file is None and column is None:
            self.args = (message,)  # no "input: " prefix: the data are fine, only too few
