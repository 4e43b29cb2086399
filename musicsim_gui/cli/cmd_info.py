"""`musicsim info FILE`: format, sample rate, channels, duration, loudness and peak of an audio file."""

from __future__ import annotations

import argparse
import json


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
        "frames": info.frames,
        "duration_s": round(info.duration_s, 3),
        "loudness_lufs": round(integrated_loudness(clip), 2),
        "peak_dbfs": round(peak_dbfs(clip), 2),
    }


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
    print(f"loudness:    {facts['loudness_lufs']} LUFS (integrated)")
    print(f"peak:        {facts['peak_dbfs']} dBFS")
    return 0
