"""Describe a corpus: how varied the music is, and what each stem sounds like by proxy measures.

Variety (from meta.json): distinct progressions, drum grooves, program sets, keys, tempos and forms per
N songs. Sound (from the FLAC files): per stem integrated loudness (LUFS, ITU-R BS.1770 via pyloudnorm),
mean spectral centroid (Hz, magnitude-weighted, 2048-point frames) and onset rate (onsets per second,
from a log spectral-flux onset detector). `corpus_stats_markdown` renders both as markdown tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from musicsim_gui.training.corpus import layout


def variety(metas: list[dict]) -> dict[str, int]:
    """Distinct musical choices among `metas` (a list of meta.json dicts)."""
    def distinct(values: Iterable) -> int:
        return len(set(values))

    return {
        "songs": len(metas),
        "progressions (A sections)": distinct(json.dumps(m["progressions_relative"]["A"]) for m in metas),
        "progressions (all sections)": distinct(json.dumps(bars) for m in metas
                                                for bars in m["progressions_relative"].values()),
        "root motions (A sections, qualities ignored)": distinct(
            json.dumps([[c.split(":")[0] for c in bar] for bar in m["progressions_relative"]["A"]]) for m in metas),
        "progression pairs (A+B)": distinct(json.dumps(m["progressions_relative"], sort_keys=True) for m in metas),
        "drum patterns": distinct(m["drum_pattern"] for m in metas),
        "kick patterns": distinct(m["drum_pattern"].split(" S")[0] for m in metas),
        "program sets": distinct(json.dumps({s: [v["program"] for v in vs] for s, vs in m["programs"].items()},
                                            sort_keys=True) for m in metas),
        "other-stem role sets": distinct(json.dumps(sorted(m["features"]["other_roles"])) for m in metas),
        "keys": distinct(m["key"] for m in metas),
        "forms": distinct(" ".join(f"{s['name']}{s['bars']}" for s in m["sections"]) for m in metas),
    }


def spectral_centroid(mono: np.ndarray, sample_rate: int, n_fft: int = 2048) -> float:
    """Mean spectral centroid in Hz over non-silent frames of `mono` [T] (0 if silent)."""
    frames = len(mono) // n_fft
    if frames == 0:
        return 0.0
    blocks = mono[: frames * n_fft].reshape(frames, n_fft) * np.hanning(n_fft).astype(np.float32)
    magnitude = np.abs(np.fft.rfft(blocks, axis=1))
    energy = magnitude.sum(axis=1)
    keep = energy > 1e-3 * max(float(energy.max()), 1e-12)
    if not keep.any():
        return 0.0
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    return float(((magnitude[keep] @ freqs) / energy[keep]).mean())


def onset_times(mono: np.ndarray, sample_rate: int, hop: int = 512, n_fft: int = 2048) -> np.ndarray:
    """Onset times in seconds of `mono` [T]: peaks of the log-magnitude spectral flux above a local mean.

    A peak must be the maximum within ±3 frames (±35 ms at 44.1 kHz) and exceed the mean of the
    surrounding ±10 frames by 0.1 (flux normalised to a maximum of 1)."""
    frames = 1 + (len(mono) - n_fft) // hop if len(mono) >= n_fft else 0
    if frames < 3:
        return np.zeros(0)
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spectrum = np.log1p(100.0 * np.abs(np.fft.rfft(mono[index] * np.hanning(n_fft).astype(np.float32), axis=1)))
    flux = np.maximum(np.diff(spectrum, axis=0), 0.0).sum(axis=1)
    flux /= max(float(flux.max()), 1e-12)
    local_max = flux == _sliding(flux, 3, np.max)
    above = flux > _sliding(flux, 10, np.mean) + 0.1
    peaks = np.flatnonzero(local_max & above)
    return (peaks + 1) * hop / sample_rate + n_fft / (2 * sample_rate)


def _sliding(values: np.ndarray, radius: int, reduce) -> np.ndarray:
    padded = np.pad(values, radius, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
    return reduce(windows, axis=1)


def onset_rate(mono: np.ndarray, sample_rate: int) -> float:
    """Detected onsets per second of `mono` [T]."""
    return len(onset_times(mono, sample_rate)) / (len(mono) / sample_rate)


def stem_measures(path: Path) -> dict[str, float]:
    """Loudness (LUFS), spectral centroid (Hz) and onset rate (1/s) of one audio file."""
    import pyloudnorm
    import soundfile

    audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    loudness = float(pyloudnorm.Meter(rate).integrated_loudness(audio))
    mono = audio.mean(axis=1)
    return {"loudness_lufs": loudness, "centroid_hz": spectral_centroid(mono, rate),
            "onsets_per_s": onset_rate(mono, rate)}


def sound_table(folders: list[Path]) -> dict[str, dict[str, list[float]]]:
    """{file name: {measure: values over songs}} for the mix and each stem of every song folder."""
    table: dict[str, dict[str, list[float]]] = {name: {} for name in layout.AUDIO_FILES}
    for folder in folders:
        for name in layout.AUDIO_FILES:
            for measure, value in stem_measures(layout.audio_path(folder, name)).items():
                table[name].setdefault(measure, []).append(value)
    return table


def _summary(values: list[float]) -> str:
    finite = np.asarray([v for v in values if np.isfinite(v)])
    if finite.size == 0:
        return "n/a"
    return f"{finite.mean():.1f} ± {finite.std():.1f} ({np.percentile(finite, 5):.1f}..{np.percentile(finite, 95):.1f})"


def corpus_stats_markdown(root: Path, split: str | None = None, limit: int = 100) -> str:
    """Markdown with the variety table and the per-stem sound table for the first `limit` songs."""
    from musicsim_gui.core.errors import MusicSimError

    folders = [f for f in layout.list_songs(root, split)][:limit]
    if not folders:
        raise MusicSimError(f"{root}: no corpus songs found (expected <split>/<song_id>/meta.json)")
    metas = [layout.read_meta(folder) for folder in folders]
    lines = [f"# Corpus statistics: {len(folders)} songs from {root}", "", "## Variety", "",
             "| measure | distinct |", "| --- | --- |"]
    lines += [f"| {name} | {count} |" for name, count in variety(metas).items()]
    tempos = [m["tempo_bpm"] for m in metas]
    durations = [m["duration_s"] for m in metas]
    lines += ["", f"Tempo {min(tempos):.1f}..{max(tempos):.1f} BPM; duration {min(durations):.0f}..{max(durations):.0f} s, "
              f"{sum(durations) / 3600:.2f} h in all.", "", "## Sound per stem (mean ± sd, 5th..95th percentile)", "",
              "| file | loudness (LUFS) | spectral centroid (Hz) | onsets per second |", "| --- | --- | --- | --- |"]
    for name, measures in sound_table(folders).items():
        lines.append(f"| {name} | {_summary(measures['loudness_lufs'])} | {_summary(measures['centroid_hz'])} | "
                     f"{_summary(measures['onsets_per_s'])} |")
    return "\n".join(lines) + "\n"
