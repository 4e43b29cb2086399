"""Separation quality: per-stem SDR and SI-SDR on corpus songs, for separators and the oracle ratio mask.

Architecture:
1. `corpus_songs(folder)` lists song folders with `mix.flac` and every stem file.
2. `evaluate(separators, songs, seconds)` takes the same excerpt of every song (`seconds` from the middle,
   mono downmix for scoring), separates the stereo mix with each separator, and scores each stem with
   fast_bss_eval: SDR as in BSS-Eval (512-tap distortion filter, projection on the stem's own reference)
   and scale-invariant SDR. Silent reference stems are skipped (NaN) rather than scored.
3. `OracleSeparator` applies the ideal ratio mask |S_i| / Σ|S_j| computed from the true stems: the
   ceiling of any magnitude-mask method with the same STFT.
4. `report_markdown` / `save_bar_chart` write the mean/median table and a PNG bar chart.
5. `ReferenceSdr` gives the same SDR against one fixed reference with the reference's statistics computed
   once: searches that score many estimates of the same songs (`training.separation.stem_priors`) pay
   only for each estimate's cross-correlation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.spectral import istft, stft
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.instruments import INSTRUMENTS


def corpus_songs(folder: str | Path) -> list[Path]:
    """Song folders under `folder` holding `mix.flac` and every stem's FLAC, sorted."""
    folder = Path(folder)
    songs = [p for p in sorted(folder.iterdir()) if p.is_dir()
             and all((p / f"{n}.flac").is_file() for n in ("mix", *INSTRUMENTS))] if folder.is_dir() else []
    if not songs:
        raise MusicSimError(f"{folder}: no song folders with mix.flac and {', '.join(INSTRUMENTS)} stems")
    return songs


@dataclass
class SongAudio:
    """One evaluation excerpt: the stereo mix and the true stems (`[C, T]` each)."""

    name: str
    mix: AudioClip
    stems: dict[str, np.ndarray]


def load_excerpt(song: Path, seconds: float | None) -> SongAudio:
    """The middle `seconds` of a song (the whole song if None or shorter)."""
    from musicsim_gui.audio.io import load_audio

    mix = load_audio(song / "mix.flac")
    start, stop = 0, mix.frames
    if seconds is not None and mix.frames > seconds * mix.sample_rate:
        length = int(seconds * mix.sample_rate)
        start = (mix.frames - length) // 2
        stop = start + length
    stems = {n: load_audio(song / f"{n}.flac").samples[:, start:stop] for n in INSTRUMENTS}
    return SongAudio(song.name, AudioClip(mix.samples[:, start:stop], mix.sample_rate, str(song)), stems)


class OracleSeparator:
    """Ideal ratio mask from the true stems of the song being separated (an upper bound, not a model).

    Uses the same STFT as the built-in model (4096 / 1024 at the song's rate), in one piece.
    """

    id, version, fallback_reason, backend_name = "oracle-irm", "1", None, "numpy"

    def __init__(self, stems: dict[str, np.ndarray], n_fft: int = 4096, hop: int = 1024) -> None:
        self.n_fft, self.hop = n_fft, hop
        self.magnitudes = np.stack([np.abs(stft(stems[n], n_fft, hop)) for n in INSTRUMENTS], axis=1)

    def separate(self, clip: AudioClip, progress=None, cancel=None) -> dict[str, AudioClip]:
        spec = stft(clip.samples, self.n_fft, self.hop)                                    # [C, F, T]
        masks = self.magnitudes / (self.magnitudes.sum(axis=1, keepdims=True) + 1e-8)      # [C, S, F, T]
        stems = istft(masks * spec[:, None], self.hop, n_fft=self.n_fft, length=clip.frames)
        return {n: AudioClip(stems[:, i], clip.sample_rate) for i, n in enumerate(INSTRUMENTS)}


SDR_FILTER_TAPS = 512
SDR_CLAMP_DB = 60.0


class ReferenceSdr:
    """fast_bss_eval's SDR (512-tap distortion filter, clamped to ±60 dB) of estimates of one reference.

    The SDR projects the normalised estimate on the span of the reference and its first 511 delays:
    with R the Toeplitz matrix of the reference's autocorrelation and c the cross-correlation at those
    lags, the projected share is ρ = cᵀR⁻¹c and SDR = 10 log10(ρ / (1 − ρ)). R's Cholesky factor and
    the reference's spectrum are kept; only lags below 512 are needed, so the FFT is the next power of
    two above n + 512 (not 2n, as for a full correlation).
    """

    def __init__(self, reference: np.ndarray, taps: int = SDR_FILTER_TAPS) -> None:
        from scipy.linalg import cho_factor

        reference = np.asarray(reference, dtype=np.float64)
        self.taps = taps
        self.n_fft = 1 << int(np.ceil(np.log2(reference.shape[-1] + taps)))
        self.length = reference.shape[-1]
        self.spectrum = np.conj(np.fft.rfft(_unit(reference), self.n_fft))
        autocorrelation = np.fft.irfft(np.abs(self.spectrum) ** 2, self.n_fft)[:taps]
        lags = np.abs(np.arange(taps)[:, None] - np.arange(taps)[None, :])
        self.factor = cho_factor(autocorrelation[lags])

    def __call__(self, estimate: np.ndarray) -> float:
        from scipy.linalg import cho_solve

        estimate = np.asarray(estimate, dtype=np.float64)
        if estimate.shape[-1] != self.length:
            raise ValueError(f"estimate has {estimate.shape[-1]} samples, the reference {self.length}")
        cross = np.fft.irfft(self.spectrum * np.fft.rfft(_unit(estimate), self.n_fft), self.n_fft)[: self.taps]
        share = float(cross @ cho_solve(self.factor, cross))
        floor = 10.0 ** (-SDR_CLAMP_DB / 10.0)
        floor /= 1.0 + floor
        share = min(max(share, floor), 1.0 - floor)
        return float(10.0 * np.log10(share / (1.0 - share)))


def _unit(signal: np.ndarray) -> np.ndarray:
    return signal / max(float(np.linalg.norm(signal)), 1e-6)


def is_silent_stem(reference: dict[str, np.ndarray], name: str) -> bool:
    """True when stem `name` of `reference` (arrays `[C, n]`) is more than 60 dB below the stems' total energy:
    it is left out of the scores (NaN) rather than scored on the leakage into it alone."""
    mix_energy = sum(float(np.sum(reference[n].mean(axis=0) ** 2)) for n in INSTRUMENTS)
    return float(np.sum(reference[name].mean(axis=0) ** 2)) < 1e-6 * mix_energy


def score(reference: dict[str, np.ndarray], estimate: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """{stem: {"sdr": dB, "si_sdr": dB}} on mono downmixes; NaN for a silent reference."""
    import fast_bss_eval

    result = {}
    for name in INSTRUMENTS:
        if is_silent_stem(reference, name):
            result[name] = {"sdr": float("nan"), "si_sdr": float("nan")}
            continue
        ref = reference[name].mean(axis=0).astype(np.float64)[None]
        est = estimate[name].mean(axis=0).astype(np.float64)[None]
        result[name] = {"sdr": float(fast_bss_eval.sdr(ref, est, filter_length=SDR_FILTER_TAPS,
                                                           clamp_db=SDR_CLAMP_DB)[0]),
                        "si_sdr": float(fast_bss_eval.si_sdr(ref, est, clamp_db=SDR_CLAMP_DB)[0])}
    return result


@dataclass
class Evaluation:
    """Scores by separator name → song → stem → metric (dB), and the seconds each separator took."""

    scores: dict[str, dict[str, dict[str, dict[str, float]]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    audio_seconds: float = 0.0

    def summary(self, metric: str = "sdr", how: str = "mean") -> dict[str, dict[str, float]]:
        """{separator: {stem...: value, "mean": mean over stems}} aggregated over songs (NaN-aware)."""
        reduce = np.nanmean if how == "mean" else np.nanmedian
        out = {}
        for name, songs in self.scores.items():
            row = {s: float(reduce([songs[g][s][metric] for g in songs])) for s in INSTRUMENTS}
            row["mean"] = float(np.mean(list(row.values())))
            out[name] = row
        return out

    def to_json(self) -> str:
        return json.dumps({"scores": self.scores, "seconds": self.seconds, "audio_seconds": self.audio_seconds,
                           "summary": {m: self.summary(m) for m in ("sdr", "si_sdr")}}, indent=1)


def evaluate(separators: dict[str, object], songs: list[Path], seconds: float | None = 30.0,
             oracle: bool = True, log=print) -> Evaluation:
    """Separate and score each song with each separator (and the oracle ratio mask if `oracle`)."""
    import time

    result = Evaluation()
    for song in songs:
        audio = load_excerpt(song, seconds)
        result.audio_seconds += audio.mix.duration
        candidates = dict(separators)
        if oracle:
            candidates["oracle-irm"] = OracleSeparator(audio.stems)
        for name, separator in candidates.items():
            started = time.perf_counter()
            stems = separator.separate(audio.mix)
            result.seconds[name] = result.seconds.get(name, 0.0) + time.perf_counter() - started
            scores = score(audio.stems, {n: stems[n].samples for n in INSTRUMENTS})
            result.scores.setdefault(name, {})[audio.name] = scores
            log(f"{audio.name} {name}: " + ", ".join(f"{n} {v['sdr']:.1f}" for n, v in scores.items()))
    return result


def report_markdown(evaluation: Evaluation, title: str = "Separation quality") -> str:
    """Markdown tables of mean and median SDR and SI-SDR per stem and separator."""
    songs = len(next(iter(evaluation.scores.values()), {}))
    lines = [f"# {title}", "", f"{songs} songs, {evaluation.audio_seconds:.0f} s of audio in total; "
             "dB, higher is better; mono downmix scored with fast_bss_eval.", ""]
    for metric, label in (("sdr", "SDR"), ("si_sdr", "SI-SDR")):
        for how in ("mean", "median"):
            lines += [f"## {label} ({how} over songs)", "",
                      "| separator | " + " | ".join(INSTRUMENTS) + " | mean |",
                      "| --- |" + " ---: |" * (len(INSTRUMENTS) + 1)]
            for name, row in evaluation.summary(metric, how).items():
                lines.append(f"| {name} | " + " | ".join(f"{row[s]:.2f}" for s in (*INSTRUMENTS, "mean")) + " |")
            lines.append("")
    lines += ["## Speed", "", "| separator | seconds | × real time |", "| --- | ---: | ---: |"]
    for name, spent in evaluation.seconds.items():
        lines.append(f"| {name} | {spent:.1f} | {evaluation.audio_seconds / max(spent, 1e-9):.0f} |")
    return "\n".join(lines) + "\n"


def save_bar_chart(evaluation: Evaluation, path: str | Path, metric: str = "sdr") -> Path:
    """A grouped bar chart (PNG) of mean `metric` per stem, one bar per separator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = evaluation.summary(metric)
    groups = (*INSTRUMENTS, "mean")
    width = 0.8 / max(1, len(summary))
    fig, axis = plt.subplots(figsize=(8, 3.8))
    for i, (name, row) in enumerate(summary.items()):
        xs = np.arange(len(groups)) + i * width
        axis.bar(xs, [row[g] for g in groups], width, label=name)
    axis.set_xticks(np.arange(len(groups)) + width * (len(summary) - 1) / 2, groups)
    axis.set_ylabel(f"{'SDR' if metric == 'sdr' else 'SI-SDR'} (dB, mean over songs)")
    axis.axhline(0, color="black", linewidth=0.6)
    axis.legend()
    axis.set_title("Separation quality per stem")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
