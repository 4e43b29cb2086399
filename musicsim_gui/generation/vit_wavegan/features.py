"""Reference features for ViT+WaveGAN in NumPy: model-rate mono, 30 s chunks, the log-mel image, a tempo estimate.

These run outside the exported graphs (ONNX takes the finished mel image), identically in training and in the
app, so they are part of the model's contract and pinned by `FeatureConfig`.

Units: audio is float32 mono at `FeatureConfig.sample_rate`; the mel image is `[1, n_mels, frames]` float32,
log power standardised per image (zero mean, unit variance) after an 80 dB floor below its peak. Both the image
and the tempo's onset envelope start from `spectral.melspectrogram` (periodic Hann window, centred zero-padded
frames, Slaney filters from 0 Hz to Nyquist).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicsim_gui.audio import spectral
from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.vit_wavegan.config import FeatureConfig


def to_model_audio(clip: AudioClip, sample_rate: int) -> np.ndarray:
    """`[T]` float32 mono at `sample_rate` (channel mean, soxr HQ resampling)."""
    import soxr

    mono = clip.samples.mean(axis=0)
    if clip.sample_rate != sample_rate:
        mono = soxr.resample(mono, clip.sample_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def chunks(mono: np.ndarray, length: int) -> np.ndarray:
    """`[T]` → `[N, length]`: consecutive chunks, the last zero-padded (N ≥ 1)."""
    count = max(1, -(-mono.shape[0] // length))
    padded = np.zeros(count * length, dtype=np.float32)
    padded[: mono.shape[0]] = mono
    return padded.reshape(count, length)


def loudest_chunk(chunked: np.ndarray) -> int:
    """Index of the chunk with the highest RMS (the most representative part of a song)."""
    return int(np.argmax(np.sqrt(np.mean(chunked.astype(np.float64) ** 2, axis=1))))


def _resize_time(image: np.ndarray, columns: int) -> np.ndarray:
    """Average `[M, F]` into `columns` equal time bins (F ≥ columns), or repeat columns (F < columns)."""
    frames = image.shape[1]
    if frames < columns:
        return image[:, np.minimum((np.arange(columns) * frames) // columns, frames - 1)]
    starts = (np.arange(columns) * frames) // columns
    sums = np.add.reduceat(image, starts, axis=1)
    counts = np.diff(np.append(starts, frames))
    return sums / counts[None, :]


def mel_image(chunk: np.ndarray, features: FeatureConfig) -> np.ndarray:
    """One chunk `[T]` at the model rate → the encoder input `[1, n_mels, frames]` (see module docstring)."""
    mel = spectral.melspectrogram(chunk, features.sample_rate, n_fft=features.n_fft,
                                  hop_length=features.hop_length, n_mels=features.n_mels)
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    image = _resize_time(db, features.frames)
    image = (image - image.mean()) / (image.std() + 1e-5)
    return image[np.newaxis].astype(np.float32)


ONSET_HOP = 256
"""Hop of the onset envelope behind the tempo and beat estimates (21 ms at 12 kHz)."""

TEMPO_PRIOR_BPM = 120.0
"""Centre of the log-normal tempo prior (one octave wide) that settles half/double-tempo ambiguity."""

COMB_BEATS = 16
"""Beats whose lags the tempo refinement sums: the period's error shrinks with the number of beats it spans."""

BEATS_PER_BAR = 4
"""Bars of 4/4: the unit the downbeat estimate and the takes' phrases count in."""

CHROMA_BAND_HZ = (250.0, 2000.0)
"""Frequencies whose pitch classes the harmonic-change cue of the downbeat estimate reads: the chords' register,
above bass lines, which may move on every beat."""


@dataclass(frozen=True)
class BeatGrid:
    """A steady beat: `tempo_bpm`, `first_beat_seconds` in [0, one beat) from the start of the audio, and
    `first_downbeat_seconds` in [0, one bar), the first beat that starts a bar (one of the first four beats)."""

    tempo_bpm: float
    first_beat_seconds: float
    first_downbeat_seconds: float = 0.0

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def bar_seconds(self) -> float:
        return BEATS_PER_BAR * self.beat_seconds


def _onset_envelope(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """Half-wave rectified log-mel spectral flux, one value per `ONSET_HOP`: value j is the rise from frame j to j+1."""
    mel = np.log1p(1000.0 * spectral.melspectrogram(mono, sample_rate, n_fft=1024, hop_length=ONSET_HOP, n_mels=40))
    return np.maximum(np.diff(mel, axis=1), 0.0).sum(axis=0)


def _autocorrelation_at(power: np.ndarray, size: int, lags: np.ndarray) -> np.ndarray:
    """The autocorrelation of a zero-padded `size`-point signal at fractional `lags` (any shape).

    `power` is |rfft(signal, size)|²; the cosine sum is the band-limited interpolation of the integer-lag
    autocorrelation, so a peak can be read between frames."""
    weights = np.full(power.size, 2.0)
    weights[0] = 1.0
    if size % 2 == 0:
        weights[-1] = 1.0
    phases = 2.0 * np.pi * np.outer(lags.ravel(), np.arange(power.size)) / size
    return (np.cos(phases) @ (weights * power) / size).reshape(lags.shape)


def estimate_beat_grid(mono: np.ndarray, sample_rate: int, low: float = 60.0, high: float = 180.0,
                       tempo_bpm: float | None = None) -> BeatGrid:
    """Tempo in BPM (between `low` and `high`, which must span an octave) and the first beat's time of `[T]` audio;
    with `tempo_bpm` given, only the first beat's time at that tempo.

    1. Onset envelope: log-mel spectral flux (`_onset_envelope`), mean removed.
    2. Tempo: its autocorrelation at whole-frame lags, weighted by a log-normal prior centred on
       `TEMPO_PRIOR_BPM` (one octave wide), picks the beat period to a whole frame; the period is then refined
       within ±1 frame to 1/100 frame by maximising the autocorrelation summed over its even multiples up to
       `COMB_BEATS` (those within half the envelope), read between frames by band-limited interpolation, and
       brought into [`low`, `high`] by octaves. At 12 kHz a frame is 21 ms, so a whole-frame period alone would
       be up to 2 % off, which puts a 30 s take half a beat off its reference. The lags searched reach an
       octave beyond the range on both sides, so a song slower than `low` is read at double tempo rather than
       at the range's edge. Even multiples only: when the pick is the half beat, odd multiples land on
       offbeats, which swing moves.
    3. Phase: the offset within one beat whose grid collects the most onset strength (linear interpolation
       between frames, 1/20 frame steps). Envelope value j is the rise into frame j+1, so it is placed at that
       frame's centre, (j+1)·hop.
    4. Downbeat: harmony tends to change where a bar starts, so of the first four beats the one whose
       position in the bar shows the most pitch-class change, between the two beats before it and the two
       from it, starts the bars (`_first_downbeat`).
    Audio shorter than 16 hops (~0.3 s at 12 kHz), empty or pulseless audio included, has no measurable pulse:
    120 BPM (or `tempo_bpm`) from time 0.
    """
    default = BeatGrid(float(tempo_bpm or 120.0), 0.0, 0.0)
    if mono.shape[0] < 16 * ONSET_HOP:
        return default
    onsets = _onset_envelope(mono, sample_rate)
    flux = onsets - onsets.mean()
    if not np.any(flux):
        return default
    frame_rate = sample_rate / ONSET_HOP
    if tempo_bpm:
        first_beat = _first_beat(onsets, 60.0 * frame_rate / float(tempo_bpm), sample_rate)
        return _with_downbeat(mono, sample_rate, float(tempo_bpm), first_beat)
    size = 2 * flux.size
    spectrum = np.fft.rfft(flux, n=size)
    power = np.abs(spectrum) ** 2
    autocorr = np.fft.irfft(power, n=size)[: flux.size]
    shortest = int(np.ceil(frame_rate * 60.0 / (2.0 * high)))
    longest = min(flux.size - 1, int(np.floor(frame_rate * 120.0 / low)))
    if longest < shortest:
        return default
    lags = np.arange(shortest, longest + 1)
    bpm = 60.0 * frame_rate / lags
    score = autocorr[lags] * np.exp(-0.5 * (np.log2(bpm / TEMPO_PRIOR_BPM)) ** 2)
    lag = float(lags[int(np.argmax(score))])
    beats = np.arange(2, max(2, min(COMB_BEATS, int(0.5 * flux.size / lag))) + 1, 2)
    period = lag
    for step in (0.1, 0.01):  # ±1 frame in tenths, then ±0.1 in hundredths
        candidates = period + step * np.arange(-10, 11)
        comb = _autocorrelation_at(power, size, np.outer(candidates, beats)).sum(axis=1)
        period = float(candidates[int(np.argmax(comb))])
    first_beat = _first_beat(onsets, period, sample_rate)
    tempo = 60.0 * frame_rate / period
    while tempo < low:
        tempo *= 2.0
    while tempo > high:
        tempo /= 2.0
    return _with_downbeat(mono, sample_rate, tempo, first_beat % (60.0 / tempo))


def _with_downbeat(mono: np.ndarray, sample_rate: int, tempo_bpm: float, first_beat: float) -> BeatGrid:
    return BeatGrid(tempo_bpm, first_beat, _first_downbeat(mono, sample_rate, first_beat, 60.0 / tempo_bpm))


def _first_downbeat(mono: np.ndarray, sample_rate: int, first_beat: float, beat: float) -> float:
    """Seconds of the first beat that starts a bar: of `first_beat` and the three beats after it, the one whose
    bar position collects the most harmonic change: the L1 distance between the pitch-class profiles (over
    `CHROMA_BAND_HZ`) of the two beats before a beat and of the two beats from it. Each beat's profile comes from
    the STFT frames whose windows lie wholly inside it, and two beats a side keep a chord struck a little early
    or late from moving the change to a neighbouring beat. Fewer than three bars of beats, or no tonal energy:
    `first_beat`."""
    n_fft, hop = 2048, 2 * ONSET_HOP
    beat_starts = first_beat + beat * np.arange(int((mono.shape[0] / sample_rate - first_beat) / beat))
    if beat_starts.size < 3 * BEATS_PER_BAR + 1:
        return first_beat
    power = np.abs(spectral.stft(mono, n_fft=n_fft, hop_length=hop)) ** 2
    frequencies = np.arange(power.shape[0]) * sample_rate / n_fft
    band = (frequencies > CHROMA_BAND_HZ[0]) & (frequencies < CHROMA_BAND_HZ[1])
    pitch_class = np.round(12.0 * np.log2(frequencies[band] / 440.0)).astype(np.int64) % 12
    chroma = (pitch_class[np.newaxis, :] == np.arange(12)[:, np.newaxis]).astype(np.float32) @ power[band]
    cumulative = np.concatenate([np.zeros((12, 1)), np.cumsum(chroma, axis=1)], axis=1)
    half_window = 0.5 * n_fft / sample_rate
    first = np.clip(np.ceil((beat_starts + half_window) * sample_rate / hop), 0,
                    chroma.shape[1] - 1).astype(np.int64)
    last = np.clip(np.floor((beat_starts + beat - half_window) * sample_rate / hop), 0,
                   chroma.shape[1] - 1).astype(np.int64)
    last = np.maximum(last, first)
    per_beat = cumulative[:, last + 1] - cumulative[:, first]
    totals = per_beat.sum(axis=0)
    if not np.any(totals > 0):
        return first_beat
    # pitch-class profiles of the two beats before and the two beats from each beat k (k = 2 … n - 2)
    pairs = per_beat[:, :-1] + per_beat[:, 1:]
    pairs = pairs / np.maximum(pairs.sum(axis=0), 1e-12)
    change = np.abs(pairs[:, 2:] - pairs[:, :-2]).sum(axis=0)  # change[k - 2]: at beat k
    scores = [change[(position - 2) % BEATS_PER_BAR::BEATS_PER_BAR].mean() for position in range(BEATS_PER_BAR)]
    return first_beat + beat * int(np.argmax(scores))


def _first_beat(onsets: np.ndarray, period: float, sample_rate: int) -> float:
    """Seconds in [0, one beat) of the beat grid with `period` (frames) that collects the most onset strength."""
    offsets = np.arange(0.0, period, 0.05)
    positions = offsets[:, None] + period * np.arange(int((onsets.size - 1) / period) + 1)[None, :]
    inside = positions <= onsets.size - 1
    strength = (np.interp(np.where(inside, positions, 0.0), np.arange(onsets.size), onsets) * inside).sum(1)
    first_frame = float(offsets[int(np.argmax(strength))])
    return ((first_frame + 1.0) * ONSET_HOP / sample_rate) % (period * ONSET_HOP / sample_rate)


def estimate_tempo(mono: np.ndarray, sample_rate: int, low: float = 60.0, high: float = 180.0) -> float:
    """Tempo in BPM of `[T]` audio, between `low` and `high` (see `estimate_beat_grid`)."""
    return estimate_beat_grid(mono, sample_rate, low, high).tempo_bpm
