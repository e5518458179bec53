"""The quarterly report: notebook context, the papermill runner, HTML and index."""
