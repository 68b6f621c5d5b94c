"""The only place that reaches into a dependency's internals: one module per dependency.

Each patch names the versions it was written for and checks at startup that its
patch points exist (:func:`self_check`); where one is missing, the stock path is
used and one clear log line says so. Everything outside this package uses
public APIs only (a test greps for private names).
"""

from rtvi_server.patches.selfcheck import PatchReport, self_check

__all__ = ["PatchReport", "self_check"]
