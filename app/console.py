"""Output helpers for the command line."""

from __future__ import annotations

from collections.abc import Sequence


def render_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Columns padded to their widest cell, under a header and a rule."""
    columns = zip(headers, *rows, strict=False)
    widths = [max(len(str(cell)) for cell in column) for column in columns]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [line.format(*headers), line.format(*("-" * w for w in widths))]
    lines += [line.format(*row) for row in rows]
    return "\n".join(text.rstrip() for text in lines)


def print_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    print(render_table(rows, headers))
