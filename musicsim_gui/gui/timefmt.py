"""Time and level text for the studio: mm:ss axis labels, the transport's clock and bars:beats, dB readouts.

Pure functions (no Qt) so they are easy to test.
"""

from __future__ import annotations

import math

BEATS_PER_BAR = 4


def mm_ss(seconds: float) -> str:
    """`m:ss` for axis ticks, e.g. 75.2 -> "1:15"; negative times get a minus sign."""
    sign = "-" if seconds < 0 else ""
    whole = int(abs(seconds) + 1e-9)
    return f"{sign}{whole // 60}:{whole % 60:02d}"


def clock(seconds: float) -> str:
    """`mm:ss.mmm` for the transport, e.g. 75.25 -> "01:15.250"."""
    millis = int(round(max(0.0, seconds) * 1000.0))
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{minutes:02d}:{secs:02d}.{millis:03d}"


def bars_beats(seconds: float, tempo_bpm: float | None, beats_per_bar: int = BEATS_PER_BAR,
               first_downbeat: float = 0.0) -> str:
    """`bar.beat` (both counted from 1) at `tempo_bpm` in 4/4 with bar 1 starting at `first_downbeat` seconds
    (the beats before it are the pickup bar, bar 0), or "-.-" when the tempo is unknown."""
    if not tempo_bpm or tempo_bpm <= 0:
        return "-.-"
    beat_index = int(math.floor((max(0.0, seconds) - first_downbeat) * tempo_bpm / 60.0 + 1e-9))
    bar, beat = divmod(beat_index, beats_per_bar)
    return f"{bar + 1}.{beat + 1}"


def gain_text(db: float) -> str:
    """A fader readout: "+1.5 dB", "-6.0 dB", "-inf dB"."""
    if db == -math.inf:
        return "-inf dB"
    return f"{db:+.1f} dB"


def pan_text(pan: float) -> str:
    """A pan readout: "C", "L40", "R100" (pan in [-1, 1])."""
    percent = int(round(pan * 100))
    if percent == 0:
        return "C"
    return f"L{-percent}" if percent < 0 else f"R{percent}"


def hz_label(hz: float) -> str:
    """A frequency tick label: "500", "2k", "12.5k"."""
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"


def linear_to_dbfs(level: float, floor_db: float = -60.0) -> float:
    """A linear peak level (1.0 = full scale) in dBFS, clamped at `floor_db`."""
    if level <= 0.0:
        return floor_db
    return max(floor_db, 20.0 * math.log10(level))
