"""Reading one value from a server's /metrics (Prometheus text)."""

from __future__ import annotations

import re
import urllib.request


def metric(url: str, series: str) -> float:
    """The value of ``series`` (a name, with its labels if it has any); 0 if absent."""
    with urllib.request.urlopen(url + "/metrics") as r:
        text = r.read().decode()
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
