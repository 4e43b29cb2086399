"""Reading and writing audio files: every format libsndfile reads in, WAV/FLAC/AIFF/OGG out.

Architecture:
1. `load_audio` opens a file with soundfile (libsndfile: WAV in every PCM/float flavour including
   WAVE_FORMAT_EXTENSIBLE, FLAC, OGG/Vorbis, MP3, AIFF, ...) and returns a float32 `[C, T]` AudioClip.
   Anything wrong with the file (missing, empty, truncated to nothing, an unknown or unsupported format,
   no frames, more than `MAX_CHANNELS` channels, NaN or infinite samples) raises one `AudioFileError`
   naming the file and the cause; no other exception escapes for bad input.
2. Headers are not trusted for memory: when a header claims an implausibly large length the samples are
   read block by block, so the memory used follows the audio actually present.
3. `save_audio` quantises itself (TPDF dither at 16 bits, clipping at 16/24 bits) so the written integers are
   exactly the ones computed here, then writes in blocks through `core.atomic.atomic_path` (temp, fsync,
   rename).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.core.errors import AudioFileError

MAX_CHANNELS = 64
_TRUSTED_SAMPLES = 1 << 28  # header lengths up to this many samples are preallocated in one read
_BLOCK_FRAMES = 1 << 16
_READ_ERRORS = (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError, EOFError, MemoryError)
_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF", ".ogg": "OGG"}
_PCM_SUBTYPES = {16: "PCM_16", 24: "PCM_24"}
# integer PCM is read as integers (a plain copy in libsndfile) and converted while de-interleaving
_INTEGER_READS = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32"}


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says: container format, sample encoding, rate, channels and length in frames."""

    path: Path
    format: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate if self.sample_rate > 0 else 0.0

    @property
    def duration_s(self) -> float:
        """Length in seconds (same as `duration`)."""
        return self.duration


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise AudioFileError(path, "no such file")
    if not path.is_file():
        raise AudioFileError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise AudioFileError(path, "the file is empty (0 bytes)")
    if path.suffix.lower() == ".mp3" and "MP3" not in sf.available_formats():
        raise AudioFileError(path, f"MP3 is not supported by the installed libsndfile "
                                   f"{sf.__libsndfile_version__} (1.1 or newer with MPEG support is needed)")


def _open(path: Path) -> sf.SoundFile:
    try:
        return sf.SoundFile(path)
    except _READ_ERRORS as error:
        raise AudioFileError(path, f"not a readable audio file: {_describe(error)}") from error


def _describe(error: BaseException) -> str:
    """The library's reason in one line, without the file name (the message adds it once)."""
    text = error.error_string if isinstance(error, sf.LibsndfileError) else str(error)
    text = text.strip().splitlines()[0].strip().rstrip(".") if text.strip() else type(error).__name__
    if "Format not recognised" in text:
        return "unknown or unsupported format"
    if "File does not exist or is not a regular file" in text:  # libsndfile's words for an undecodable stream
        return "no decodable audio stream (corrupt or truncated)"
    return text


def _check_header(path: Path, handle: sf.SoundFile) -> None:
    if handle.channels < 1:
        raise AudioFileError(path, "the header declares no channels")
    if handle.channels > MAX_CHANNELS:
        raise AudioFileError(path, f"{handle.channels} channels is more than the supported {MAX_CHANNELS}")
    if handle.samplerate <= 0:
        raise AudioFileError(path, f"invalid sample rate {handle.samplerate}")


def audio_info(path: str | Path) -> AudioInfo:
    """Read the header of an audio file without decoding its samples.

    Raises:
        AudioFileError: the file is missing, empty, not audio, or declares an unsupported layout.
    """
    path = Path(path)
    _check_readable(path)
    with _open(path) as handle:
        _check_header(path, handle)
        return AudioInfo(path=path, format=handle.format, subtype=handle.subtype,
                         sample_rate=int(handle.samplerate), channels=int(handle.channels),
                         frames=max(int(handle.frames), 0))


def _read_frames(handle: sf.SoundFile, dtype: str) -> np.ndarray:
    """All remaining frames as `[frames, channels]` of `dtype`, block by block when the header length is implausible."""
    declared = int(handle.frames)
    blocks = []
    if 0 <= declared and declared * handle.channels <= _TRUSTED_SAMPLES:
        blocks.append(handle.read(dtype=dtype, always_2d=True))
    while True:  # after a plausible length: whatever an estimating header (MP3) left out, usually nothing
        block = handle.read(_BLOCK_FRAMES, dtype=dtype, always_2d=True)
        if block.shape[0] == 0:
            break
        blocks.append(block)
    if not blocks:
        return np.zeros((0, handle.channels), dtype=dtype)
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=0)


def _planar(frames: np.ndarray) -> np.ndarray:
    """Interleaved `[frames, channels]` to planar float32 `[channels, frames]`, scaling integers to full scale 1.0.

    Integers are scaled by a power of two, so the values equal libsndfile's own float conversion.
    """
    planar = np.empty((frames.shape[1], frames.shape[0]), dtype=np.float32)
    scale = np.float32(1.0 / -np.iinfo(frames.dtype).min) if frames.dtype.kind == "i" else np.float32(1.0)
    for channel in range(frames.shape[1]):
        np.multiply(frames[:, channel], scale, out=planar[channel], casting="unsafe")
    return planar


def _all_finite(samples: np.ndarray) -> bool:
    """True when no sample is NaN or infinite (a sum first: NaN and inf propagate, overflow is re-checked)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(samples, axis=None)):
            return True
    return bool(np.isfinite(samples).all())


def load_audio(path: str | Path) -> AudioClip:
    """Load an audio file as float32 `[channels, frames]` at its own sample rate (no resampling).

    Returns:
        An AudioClip whose `source` is the path.
    Raises:
        AudioFileError: the file cannot be used (see the module docstring for the causes).
    """
    path = Path(path)
    _check_readable(path)
    with _open(path) as handle:
        _check_header(path, handle)
        rate = int(handle.samplerate)
        dtype = _INTEGER_READS.get(handle.subtype, "float32")
        try:
            frames = _read_frames(handle, dtype)
        except _READ_ERRORS as error:
            raise AudioFileError(path, f"cannot decode the audio: {_describe(error)}") from error
    if frames.shape[0] == 0:
        raise AudioFileError(path, "the file holds no audio (0 frames; truncated or empty)")
    samples = _planar(frames)
    if dtype == "float32" and not _all_finite(samples):
        raise AudioFileError(path, "the audio contains NaN or infinite samples")
    return AudioClip(samples, rate, source=str(path))


def tpdf_dither(shape: tuple[int, ...], lsb: float, seed: int = 0) -> np.ndarray:
    """Triangular (TPDF) dither of +-1 LSB peak: the sum of two independent uniform +-LSB/2 noises, float32."""
    rng = np.random.default_rng(seed)
    noise = rng.random(shape, dtype=np.float32)
    noise -= rng.random(shape, dtype=np.float32)
    noise *= np.float32(lsb)
    return noise


def quantize(samples: np.ndarray, bit_depth: int, dither: bool = True, seed: int = 0) -> np.ndarray:
    """Quantise float samples (full scale 1.0) to integers of `bit_depth` bits, stored in int16 or int32.

    At 16 bits TPDF dither is added before rounding when `dither` is true; values beyond full scale clip.
    24-bit results are returned left-aligned in int32 (the low 8 bits zero), as libsndfile expects.
    """
    scale = float(1 << (bit_depth - 1))
    work = samples.astype(np.float64) * scale
    if dither and bit_depth == 16:
        work += tpdf_dither(samples.shape, 1.0, seed)
    np.rint(work, out=work)
    np.clip(work, -scale, scale - 1.0, out=work)
    if bit_depth == 16:
        return work.astype(np.int16)
    return work.astype(np.int32) << (32 - bit_depth)


def _subtype(path: Path, container: str, bit_depth: int) -> str:
    if container == "OGG":
        return "VORBIS"
    if bit_depth in _PCM_SUBTYPES:
        return _PCM_SUBTYPES[bit_depth]
    if bit_depth == 32 and container in ("WAV", "AIFF"):
        return "FLOAT"
    raise AudioFileError(path, f"cannot write {bit_depth}-bit {container} (use 16 or 24, or 32 for WAV float)")


def save_audio(path: str | Path, clip: AudioClip, *, bit_depth: int = 24, dither: bool = True,
               dither_seed: int = 0) -> Path:
    """Write `clip` to `path` atomically; the format follows the suffix (.wav, .flac, .aif/.aiff, .ogg).

    Args:
        bit_depth: 16 or 24 (integer PCM) or 32 (float, WAV/AIFF only); ignored for OGG/Vorbis.
        dither: add TPDF dither when writing 16-bit.
        dither_seed: seed of the dither noise, so repeated exports are identical.
    Returns:
        The written path.
    Raises:
        AudioFileError: unknown suffix, unsupported depth for the format, or the write failed.
    """
    path = Path(path)
    container = _WRITE_FORMATS.get(path.suffix.lower())
    if container is None:
        raise AudioFileError(path, f"cannot write '{path.suffix}' files (use .wav, .flac, .aiff or .ogg)")
    subtype = _subtype(path, container, bit_depth)
    frames = clip.samples.T
    if subtype in ("PCM_16", "PCM_24"):
        frames = quantize(frames, bit_depth, dither=dither, seed=dither_seed)
    try:
        with atomic_path(path) as tmp, sf.SoundFile(tmp, "w", clip.sample_rate, clip.channels, subtype=subtype,
                                                    format=container) as handle:
            # in blocks: libvorbis overflows its stack when handed minutes of audio in one call
            for start in range(0, frames.shape[0], _BLOCK_FRAMES):
                handle.write(np.ascontiguousarray(frames[start:start + _BLOCK_FRAMES]))
    except _READ_ERRORS as error:
        raise AudioFileError(path, f"cannot write the file: {_describe(error)}") from error
    return path
