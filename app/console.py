"""Output helpers for the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence


def escape_controls(text: str, keep: str = "") -> str:
    """`text` with control characters (but those in `keep`) written as escapes.

    For what reaches a terminal from users or other systems: a terminal acts on control
    characters (colours, moving the cursor, a forged line).
    """
    return "".join(c if c.isprintable() or c in keep else ascii(c)[1:-1] for c in text)


def render_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Columns padded to their widest cell, under a header and a rule."""
    rows = [[escape_controls(str(cell)) for cell in row] for row in rows]
    columns = zip(headers, *rows, strict=False)
    widths = [max(len(str(cell)) for cell in column) for column in columns]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [line.format(*headers), line.format(*("-" * w for w in widths))]
    lines += [line.format(*row) for row in rows]
    return "\n".join(text.rstrip() for text in lines)


def print_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    print(render_table(rows, headers))


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type`: a whole number from `low` to `high`, or a usage error."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be {low} to {high}")
        return number

    return parse
