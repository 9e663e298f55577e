"""Plain-text tables for the command line: columns as wide as their widest cell, a rule under the headers."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_table"]


def format_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """``rows`` under ``headers``, each cell as ``str()`` gives it, trailing spaces trimmed."""
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*headers).rstrip(), line.format(*("-" * w for w in widths)).rstrip()]
    out += [line.format(*map(str, row)).rstrip() for row in rows]
    return "\n".join(out)
