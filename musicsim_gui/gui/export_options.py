"""What the export dialog offers, as plain data: formats, rates, file-name templates (no Qt).

`ExportChoice` turns the dialog's fields into the mix path, the stems folder and `ExportSettings`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FORMATS = {
    "WAV 16-bit": (".wav", 16),
    "WAV 24-bit": (".wav", 24),
    "WAV 32-bit float": (".wav", 32),
    "FLAC 16-bit": (".flac", 16),
    "FLAC 24-bit": (".flac", 24),
}
RATES = {"Project rate": None, "44100 Hz": 44100, "48000 Hz": 48000, "96000 Hz": 96000}
NORMALIZE = {"No normalisation": None, "Peak (dBFS)": "peak", "Loudness (LUFS)": "lufs"}
CONTENTS = {"Mix": (True, False), "Mix and stems": (True, True), "Stems only": (False, True)}
"""What to write: (the mix file, one file per track)."""
DEFAULT_TEMPLATE = "{title} mix"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def expand_template(template: str, title: str, now: datetime | None = None) -> str:
    """Fill `{title}`, `{date}` (YYYY-MM-DD) and `{time}` (HHMM) and make the result a safe file name."""
    now = now or datetime.now()
    try:
        name = template.format(title=title, date=now.strftime("%Y-%m-%d"), time=now.strftime("%H%M"))
    except (KeyError, IndexError, ValueError):
        name = template
    name = _UNSAFE.sub("_", name).strip(" .")
    return name or "mix"


@dataclass(frozen=True)
class ExportChoice:
    """The dialog's fields.

    Attributes:
        folder: where files go.
        template: the mix file name template (without suffix).
        format_name: a key of `FORMATS`.
        rate_name: a key of `RATES`.
        normalize_name: a key of `NORMALIZE`.
        target: the peak (dBFS) or loudness (LUFS) target.
        stems: also write each track to `<folder>/<name> stems/<instrument><suffix>`.
        mix: write the mix file (False with `stems`: stems only).
    """

    folder: Path
    template: str
    format_name: str
    rate_name: str
    normalize_name: str
    target: float
    stems: bool
    mix: bool = True

    @classmethod
    def contents_name(cls, mix: bool, stems: bool) -> str:
        """The `CONTENTS` key for these two flags ("Mix" when neither)."""
        for name, flags in CONTENTS.items():
            if flags == (mix, stems):
                return name
        return "Mix"

    @property
    def suffix(self) -> str:
        """The files' suffix (".wav" or ".flac")."""
        return FORMATS[self.format_name][0]

    def mix_path(self, title: str, now: datetime | None = None) -> Path | None:
        """The mix file, or None when only stems are written."""
        if not self.mix:
            return None
        return Path(self.folder) / f"{expand_template(self.template, title, now)}{self.suffix}"

    def stems_dir(self, title: str, now: datetime | None = None) -> Path | None:
        if not self.stems:
            return None
        return Path(self.folder) / f"{expand_template(self.template, title, now)} stems"

    def settings(self):
        """The `audio.mixdown.ExportSettings` for this choice."""
        from musicsim_gui.audio.mixdown import ExportSettings

        suffix, bits = FORMATS[self.format_name]
        mode = NORMALIZE[self.normalize_name]
        extra = {"peak_dbfs": self.target} if mode == "peak" else {"lufs": self.target} if mode == "lufs" else {}
        return ExportSettings(bit_depth=bits, sample_rate=RATES[self.rate_name], normalize=mode, **extra)
