"""`TransportController`: play/pause, stop, home, seek and the loop region, over a `PlaybackEngine` (or none).

It also turns the engine's counters into the transport bar's health read-out. With no engine (or no
output device) every method is safe to call; `available` says whether sound can be heard.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class TransportController(QObject):
    """Transport state for the window; the engine does the work, this keeps the loop region and flags."""

    loop_changed = Signal(float, float, bool)
    state_changed = Signal()

    def __init__(self, engine=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.loop_region: tuple[float, float] = (0.0, 0.0)
        self.loop_enabled = False

    @property
    def available(self) -> bool:
        return self.engine is not None and bool(self.engine.available)

    @property
    def playing(self) -> bool:
        return self.engine is not None and bool(self.engine.playing)

    def position(self) -> float:
        """The play position in seconds."""
        return float(self.engine.position_seconds) if self.engine is not None else 0.0

    def play_pause(self) -> None:
        if self.engine is None:
            return
        if self.engine.playing:
            self.engine.pause()
        else:
            self.engine.play()
        self.state_changed.emit()

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()
            self.state_changed.emit()

    def home(self) -> None:
        self.seek(self.loop_region[0] if self.loop_enabled else 0.0)

    def seek(self, seconds: float) -> None:
        if self.engine is not None:
            self.engine.seek(max(0.0, seconds))

    def set_loop_region(self, start: float, end: float) -> None:
        """Set the loop region in seconds; a region of real length also turns looping on."""
        self.loop_region = (start, end)
        self.set_loop_enabled(end - start > 0.05)

    def set_loop_enabled(self, enabled: bool) -> None:
        start, end = self.loop_region
        self.loop_enabled = bool(enabled) and end > start
        if self.engine is not None:
            self.engine.set_loop(start if self.loop_enabled else None, end if self.loop_enabled else None)
        self.loop_changed.emit(start, end, self.loop_enabled)

    def toggle_loop(self) -> None:
        self.set_loop_enabled(not self.loop_enabled)

    def health(self) -> tuple[str, bool, str]:
        """(short text, ok, tooltip) for the engine read-out: callback load and underruns, or the error."""
        engine = self.engine
        if engine is None:
            return "audio off", True, "This window was opened without an output stream."
        if not engine.available:
            return "audio: no output", False, engine.error or "No audio output device."
        stats = engine.stats()
        text = f"DSP {stats.p99_fraction * 100:.0f}% \u00b7 xruns {stats.underruns}"
        tip = (f"Callback time p99 {stats.callback_p99_ms:.2f} ms of a {stats.block_ms:.2f} ms block; "
               f"{stats.underruns} underruns, {stats.late} late blocks in {stats.blocks} blocks")
        return text, stats.underruns == 0, tip
