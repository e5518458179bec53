"""Customer classification management (客户分类管理): analysis helpers for the notebook suite.

Import the modules you need (``from analysis.report.context import setup``); the
package itself imports nothing heavy so that the ``ccm`` command starts fast.
"""

__version__ = "0.1.0"
