"""The instrument vocabulary shared by separation, generation, the project and the studio."""

from __future__ import annotations

INSTRUMENTS: tuple[str, ...] = ("bass", "drums", "piano", "other")
"""The four instrument tracks of every project, in display order."""


def check_instrument(name: str) -> str:
    """Return `name` if it is a known instrument, else raise ValueError naming the choices."""
    if name not in INSTRUMENTS:
        raise ValueError(f"unknown instrument {name!r}; choose from {', '.join(INSTRUMENTS)}")
    return name
