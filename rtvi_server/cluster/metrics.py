"""One Prometheus exposition from several processes' (each series labelled ``worker``)."""

from __future__ import annotations

import re

_METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (.+)$")


def merge_metrics(texts: list[str]) -> str:
    """One exposition from several workers': each series gains a ``worker`` label, and
    every metric family stays one group (its HELP/TYPE once, then all workers' lines)."""
    families: dict[str, list[str]] = {}
    comments: dict[str, list[str]] = {}
    for index, text in enumerate(texts):
        family = ""
        for line in text.splitlines():
            if line.startswith("# TYPE ") or line.startswith("# HELP "):
                family = line.split()[2]
                if index == 0:
                    comments.setdefault(family, []).append(line)
                continue
            match = _METRIC_LINE.match(line)
            if match is None:
                continue
            name, labels, value = match.groups()
            inner = labels[1:-1] + "," if labels else ""
            families.setdefault(family, []).append(f'{name}{{{inner}worker="{index}"}} {value}')
    out = []
    for family in dict.fromkeys([*comments, *families]):
        out += comments.get(family, []) + families.get(family, [])
    return "\n".join(out) + "\n"
