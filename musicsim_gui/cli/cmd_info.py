"""`musicsim info FILE`: format, sample rate, channels, duration, loudness and peak of an audio file.

Levels of silent audio (and loudness of audio shorter than one 400 ms gating block) are `-inf` in the text
output and `null` in `--json`.
"""

from __future__ import annotations

import argparse
import json
import math


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="describe an audio file (format, rate, channels, duration, loudness)")
    parser.add_argument("file", help="an audio file (WAV, FLAC, OGG, MP3, AIFF)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(handler=run)


def describe(path: str) -> dict[str, object]:
    """Everything `info` reports about `path`, as plain values."""
    from musicsim_gui.audio.io import audio_info, load_audio
    from musicsim_gui.audio.loudness import integrated_loudness, peak_dbfs

    info = audio_info(path)
    clip = load_audio(path)
    return {
        "file": str(info.path),
        "format": info.format,
        "subtype": info.subtype,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "frames": clip.frames,  # decoded, exact even where a header only estimates (MP3)
        "duration_s": round(clip.duration, 3),
        "loudness_lufs": _level(integrated_loudness(clip)),
        "peak_dbfs": _level(peak_dbfs(clip)),
    }


def _level(value: float) -> float | None:
    """A level rounded to 0.01 dB, or None for -inf (silence)."""
    return round(value, 2) if math.isfinite(value) else None


def _text(value: object, unit: str) -> str:
    return f"{value} {unit}" if value is not None else f"-inf {unit}"


def run(args: argparse.Namespace) -> int:
    facts = describe(args.file)
    if args.json:
        print(json.dumps(facts))
        return 0
    minutes, seconds = divmod(float(facts["duration_s"]), 60.0)
    print(f"file:        {facts['file']}")
    print(f"format:      {facts['format']} ({facts['subtype']})")
    print(f"sample rate: {facts['sample_rate']} Hz")
    print(f"channels:    {facts['channels']}")
    print(f"duration:    {int(minutes)}:{seconds:06.3f} ({facts['frames']} frames)")
    print(f"loudness:    {_text(facts['loudness_lufs'], 'LUFS')} (integrated)")
    print(f"peak:        {_text(facts['peak_dbfs'], 'dBFS')}")
    return 0
