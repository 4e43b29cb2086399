"""Benchmark: load + resample to 32 kHz + mel spectrogram of a 3-minute stereo 44.1 kHz WAV, ours vs librosa.

Both pipelines do the same work: read the file, down-mix to mono, resample 44.1 -> 32 kHz with soxr HQ,
then a 128-band mel power spectrogram with n_fft=2048, hop 512. Each is warmed once, then the two are
timed in alternation (so both see the same machine load), three times each; the median wall-clock and
CPU times, their ratios and the largest difference of the dB spectrograms are printed.

Run: `.venv/bin/python bench/bench_audio.py [--seconds 180] [--repeats 3]`
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from musicsim_gui.audio.dsp import resample, to_mono
from musicsim_gui.audio.io import load_audio
from musicsim_gui.audio.spectral import melspectrogram, power_to_db

SOURCE_RATE = 44100
TARGET_RATE = 32000
MEL = {"n_fft": 2048, "hop_length": 512, "n_mels": 128}
SETTLE_SECONDS = 0.5
"""Pause before each timed run: OpenBLAS worker threads keep spinning for a while after a matrix product, and a
run that starts meanwhile competes with them for the two cores. The pause gives both pipelines a quiet start."""


def synthesize(path: Path, seconds: float) -> None:
    """A stereo test song: a bass line, chords, noise hits and a little hiss, written as 16-bit WAV."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SOURCE_RATE)) / SOURCE_RATE
    beat = (t * 2.0) % 1.0
    bass = 0.3 * np.sin(2 * np.pi * 55.0 * (1 + (np.floor(t / 2) % 4) / 4) * t)
    chords = sum(0.1 * np.sin(2 * np.pi * hz * t + phase) for hz, phase in ((261.6, 0), (329.6, 1), (392.0, 2)))
    hits = 0.4 * np.exp(-30 * beat) * rng.standard_normal(t.size)
    hiss = 0.01 * rng.standard_normal((2, t.size))
    stereo = np.stack([bass + chords + hits, bass + 0.8 * chords + 0.5 * hits]) + hiss
    sf.write(path, (0.8 * stereo / np.abs(stereo).max()).T, SOURCE_RATE, subtype="PCM_16")


def ours(path: Path) -> np.ndarray:
    clip = resample(to_mono(load_audio(path)), TARGET_RATE)
    return melspectrogram(clip.samples[0], TARGET_RATE, **MEL)


def theirs(path: Path) -> np.ndarray:
    y, rate = librosa.load(path, sr=TARGET_RATE)
    return librosa.feature.melspectrogram(y=y, sr=rate, **MEL)


def timed(function, path: Path) -> tuple[float, float, np.ndarray]:
    """(wall seconds, CPU seconds of this process, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(path)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def compare(path: Path, repeats: int) -> dict[str, tuple[float, float, np.ndarray]]:
    """Median wall and CPU time of each pipeline; runs alternate so both see the same machine load."""
    pipelines = {"ours": ours, "librosa": theirs}
    for function in pipelines.values():
        function(path)  # warm-up: numba compilation, FFT plans, thread pool, file cache
    runs: dict[str, list] = {name: [] for name in pipelines}
    for _ in range(repeats):
        for name, function in pipelines.items():
            time.sleep(SETTLE_SECONDS)
            runs[name].append(timed(function, path))
    return {name: (statistics.median(r[0] for r in results), statistics.median(r[1] for r in results),
                   results[-1][2]) for name, results in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "song.wav"
        synthesize(path, args.seconds)
        results = compare(path, args.repeats)
    (ours_s, ours_cpu, ours_mel), (librosa_s, librosa_cpu, librosa_mel) = results["ours"], results["librosa"]
    difference = np.abs(power_to_db(ours_mel) - librosa.power_to_db(librosa_mel)).max()
    print(f"input: {args.seconds:.0f} s stereo {SOURCE_RATE} Hz WAV -> mono {TARGET_RATE} Hz, mel {MEL}")
    print(f"ours    (load_audio + resample + melspectrogram): {ours_s * 1000:8.1f} ms wall, "
          f"{ours_cpu * 1000:8.1f} ms CPU (median of {args.repeats})")
    print(f"librosa (librosa.load + feature.melspectrogram):   {librosa_s * 1000:8.1f} ms wall, "
          f"{librosa_cpu * 1000:8.1f} ms CPU (median of {args.repeats})")
    print(f"speed-up: {librosa_s / ours_s:.2f}x wall, {librosa_cpu / ours_cpu:.2f}x CPU   "
          f"shapes: {ours_mel.shape} vs {librosa_mel.shape}")
    print(f"max |dB difference| (power_to_db, ref 1.0, top_db 80): {difference:.5f} dB")


if __name__ == "__main__":
    main()
