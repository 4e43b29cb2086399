"""Per-instrument finishing settings written as text, as the export commands take them.

`"piano=1.5,bass=0.5"` (one number per instrument) or `"bass=0.3/0,drums=0.75/0.75"` (several, split by "/"):
comma-separated items, each an instrument name, "=", and finite numbers. Range checks belong to the setting
that reads them; this only reads the form.
"""

from __future__ import annotations

import math


def instrument_numbers(text: str, count: int, label: str, form: str) -> dict[str, tuple[float, ...]]:
    """Instrument → its `count` numbers from `text`; ValueError "`label`: 'item' is not `form`" for an item
    without a name, with another count of numbers, or with one that is not a finite number."""
    values = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        parts = value.split("/")
        try:
            numbers = tuple(float(part) for part in parts)
            if not (sep and name.strip() and len(numbers) == count and all(map(math.isfinite, numbers))):
                raise ValueError
        except ValueError:
            raise ValueError(f"{label}: {item!r} is not {form}") from None
        values[name.strip()] = numbers
    return values
