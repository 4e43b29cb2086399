"""`TrackState`: what a track header and its lane display, derived from a core `Track` (a plain view-model)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrackState:
    """Display state of one track.

    Attributes:
        instrument: the track's instrument name.
        gain_db, pan, mute, solo, listen_reference: the channel strip and the A/B switch.
        stars: the chosen take's rating (None when unrated or when there is no chosen take).
        summary: the chosen take's model, version and seed, or why there is nothing to hear.
        row_labels, row_tooltips: the lane rows: the reference stem first, then each take.
        active_row: the row that is heard, or None.
        has_stem, has_takes: what there is to hear.
        regenerate_enabled, regenerate_tip: whether a generator is installed, and why not.
    """

    instrument: str
    gain_db: float
    pan: float
    mute: bool
    solo: bool
    listen_reference: bool
    stars: int | None
    summary: str
    row_labels: tuple[str, ...]
    row_tooltips: tuple[str, ...]
    active_row: int | None
    has_stem: bool
    has_takes: bool
    regenerate_enabled: bool
    regenerate_tip: str


def _take_label(index: int, take) -> str:
    stars = f" {take.rating}\u2605" if take.rating else ""
    return f"T{index + 1}{stars}"


def _take_tooltip(take) -> str:
    return f"{take.model_id} {take.model_version} \u00b7 seed {take.seed}"


def active_row(track) -> int | None:
    """The lane row that is heard: 0 for the reference stem, k for take k, None for silence."""
    if track.listen_reference:
        return 0 if track.reference_stem else None
    if track.chosen_take_id is None:
        return None
    return track.take_index(track.chosen_take_id) + 1


def _summary(track) -> str:
    if track.listen_reference:
        return "hearing the reference stem"
    take = track.chosen_take
    if take is not None:
        return f"{_take_tooltip(take)}"
    if track.takes:
        return f"{len(track.takes)} takes, none chosen"
    return "no takes yet" + ("" if track.reference_stem else " \u00b7 no stem")


def describe_track(track, regenerate: tuple[bool, str]) -> TrackState:
    """Build the display state of core `track`; `regenerate` is (available, tooltip)."""
    chosen = track.chosen_take
    labels = ("stem" if track.reference_stem else "no stem",) + tuple(
        _take_label(index, take) for index, take in enumerate(track.takes))
    tips = ("reference stem",) + tuple(_take_tooltip(take) for take in track.takes)
    return TrackState(
        instrument=track.instrument, gain_db=track.gain_db, pan=track.pan, mute=track.mute, solo=track.solo,
        listen_reference=track.listen_reference, stars=chosen.rating if chosen is not None else None,
        summary=_summary(track), row_labels=labels, row_tooltips=tips, active_row=active_row(track),
        has_stem=bool(track.reference_stem), has_takes=bool(track.takes),
        regenerate_enabled=regenerate[0], regenerate_tip=regenerate[1])
