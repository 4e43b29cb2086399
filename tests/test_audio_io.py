"""Loading and saving real audio files of every supported format, and the loader's behaviour on bad files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.io import MAX_CHANNELS, audio_info, load_audio, quantize, save_audio
from musicsim_gui.core.errors import AudioFileError


def _tone(rate: int, channels: int, seconds: float = 0.25) -> np.ndarray:
    """float32 `[frames, channels]`: a different sine per channel at -6 dBFS."""
    t = np.arange(int(rate * seconds)) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)], axis=1).astype(np.float32)


LOSSLESS = [
    ("WAV", "PCM_U8", ".wav", 2e-2), ("WAV", "PCM_16", ".wav", 1e-4), ("WAV", "PCM_24", ".wav", 1e-6),
    ("WAV", "PCM_32", ".wav", 1e-7), ("WAV", "FLOAT", ".wav", 0.0), ("WAV", "DOUBLE", ".wav", 1e-7),
    ("WAVEX", "PCM_16", ".wav", 1e-4), ("WAVEX", "FLOAT", ".wav", 0.0), ("FLAC", "PCM_16", ".flac", 1e-4),
    ("FLAC", "PCM_24", ".flac", 1e-6), ("AIFF", "PCM_16", ".aiff", 1e-4), ("AIFF", "PCM_24", ".aif", 1e-6),
]


@pytest.mark.parametrize(("container", "subtype", "suffix", "tolerance"), LOSSLESS)
@pytest.mark.parametrize(("rate", "channels"), [(44100, 2), (8000, 1), (96000, 6)])
def test_lossless_formats_load_exactly(tmp_path, container, subtype, suffix, tolerance, rate, channels):
    frames = _tone(rate, channels)
    path = tmp_path / f"tone{suffix}"
    sf.write(path, frames, rate, subtype=subtype, format=container)
    clip = load_audio(path)
    assert clip.samples.dtype == np.float32 and clip.samples.flags.c_contiguous
    assert (clip.channels, clip.frames, clip.sample_rate) == (channels, frames.shape[0], rate)
    assert np.abs(clip.samples - frames.T).max() <= tolerance + 1e-9
    assert clip.source == str(path)
    info = audio_info(path)
    assert (info.format, info.subtype, info.sample_rate, info.channels, info.frames) == (
        container, subtype, rate, channels, frames.shape[0])
    assert info.duration == pytest.approx(0.25, abs=1e-3)


@pytest.mark.parametrize(("container", "subtype", "suffix"), [("OGG", "VORBIS", ".ogg"), ("MP3", "MPEG_LAYER_III", ".mp3")])
def test_lossy_formats_load(tmp_path, container, subtype, suffix):
    rate = 44100
    frames = _tone(rate, 2, seconds=1.0)
    path = tmp_path / f"tone{suffix}"
    sf.write(path, frames, rate, subtype=subtype, format=container)
    clip = load_audio(path)
    assert clip.channels == 2 and clip.sample_rate == rate
    assert abs(clip.frames - rate) < rate * 0.1
    rms = float(np.sqrt(np.mean(clip.samples[:, 4000:30000] ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


def _write_bad(path: Path, kind: str) -> None:
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not audio at all\n" * 20)
    elif kind == "zero_frames":
        sf.write(path, np.zeros((0, 2), np.float32), 44100)
    elif kind == "header_only":
        sf.write(path, _tone(44100, 2), 44100, subtype="PCM_16")
        path.write_bytes(path.read_bytes()[:44])
    elif kind == "nan":
        samples = _tone(8000, 1)
        samples[100] = np.nan
        sf.write(path, samples, 8000, subtype="FLOAT")
    elif kind == "inf":
        sf.write(path, np.full((100, 2), np.inf, np.float32), 8000, subtype="FLOAT")
    elif kind == "too_many_channels":
        sf.write(path, np.zeros((16, 200), np.float32), 8000, subtype="FLOAT")


@pytest.mark.parametrize("kind", ["empty", "text", "zero_frames", "header_only", "nan", "inf", "too_many_channels"])
def test_bad_files_raise_one_error_naming_the_file(tmp_path, kind):
    path = tmp_path / f"bad-{kind}.wav"
    _write_bad(path, kind)
    with pytest.raises(AudioFileError) as caught:
        load_audio(path)
    assert str(path) in str(caught.value) and caught.value.cause
    assert "\n" not in str(caught.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        load_audio(tmp_path / "missing.wav")
    with pytest.raises(AudioFileError, match="not a regular file"):
        audio_info(tmp_path)


def test_channel_limit_is_exact(tmp_path):
    sf.write(tmp_path / "ok.wav", np.zeros((10, MAX_CHANNELS), np.float32), 8000, subtype="FLOAT")
    assert load_audio(tmp_path / "ok.wav").channels == MAX_CHANNELS
    sf.write(tmp_path / "no.wav", np.zeros((10, MAX_CHANNELS + 1), np.float32), 8000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="channels"):
        audio_info(tmp_path / "no.wav")


def test_mp3_without_library_support_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3" + bytes(200))
    formats = {k: v for k, v in sf.available_formats().items() if k != "MP3"}
    monkeypatch.setattr(sf, "available_formats", lambda: formats)
    with pytest.raises(AudioFileError, match="MP3 is not supported"):
        load_audio(path)


def test_truncated_file_keeps_the_audio_present(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, _tone(8000, 2), 8000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[:44 + 4 * 1000 + 2])
    clip = load_audio(path)
    assert clip.frames == 1000 and clip.channels == 2


@pytest.mark.parametrize(("suffix", "bit_depth", "subtype", "tolerance"), [
    (".wav", 16, "PCM_16", 2.0 / 32768), (".wav", 24, "PCM_24", 1e-6), (".wav", 32, "FLOAT", 0.0),
    (".flac", 16, "PCM_16", 2.0 / 32768), (".flac", 24, "PCM_24", 1e-6), (".aiff", 24, "PCM_24", 1e-6)])
def test_save_round_trip(tmp_path, suffix, bit_depth, subtype, tolerance):
    clip = AudioClip(_tone(48000, 2).T, 48000)
    path = save_audio(tmp_path / f"out{suffix}", clip, bit_depth=bit_depth)
    assert sf.info(path).subtype == subtype
    back = load_audio(path)
    assert back.sample_rate == 48000 and back.samples.shape == clip.samples.shape
    assert np.abs(back.samples - clip.samples).max() <= tolerance + 1e-9
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_save_long_ogg_in_blocks(tmp_path):
    clip = AudioClip(_tone(44100, 2, seconds=100.0).T, 44100)
    back = load_audio(save_audio(tmp_path / "long.ogg", clip))
    assert back.channels == 2 and abs(back.frames - clip.frames) < 4096
    assert np.sqrt(np.mean(back.samples[:, 44100:88200] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


def test_save_rejects_unknown_suffix_and_depth(tmp_path):
    clip = AudioClip(np.zeros((1, 10), np.float32), 8000)
    with pytest.raises(AudioFileError, match="cannot write '.xyz'"):
        save_audio(tmp_path / "a.xyz", clip)
    with pytest.raises(AudioFileError, match="32-bit FLAC"):
        save_audio(tmp_path / "a.flac", clip, bit_depth=32)
    assert list(tmp_path.iterdir()) == []


def test_quantize_clips_and_rounds():
    values = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0], np.float32)
    assert quantize(values, 16, dither=False).tolist() == [-32768, -32768, 0, 16384, 32767, 32767]
    assert (quantize(values, 24, dither=False) >> 8).tolist() == [-(1 << 23), -(1 << 23), 0, 1 << 22,
                                                                  (1 << 23) - 1, (1 << 23) - 1]


def test_tpdf_dither_error_has_expected_rms_and_no_dc():
    t = np.arange(200_000) / 48000
    signal = (0.3 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)
    error = quantize(signal, 16, dither=True).astype(np.float64) - signal.astype(np.float64) * 32768
    # rounding after +-1 LSB triangular dither: total error variance 1/6 + 1/12 = 1/4 LSB^2
    assert np.sqrt(np.mean(error ** 2)) == pytest.approx(0.5, rel=0.03)
    assert abs(error.mean()) < 0.01
    assert np.abs(error).max() <= 1.5
    plain = quantize(signal, 16, dither=False).astype(np.float64) - signal.astype(np.float64) * 32768
    assert np.sqrt(np.mean(plain ** 2)) == pytest.approx(np.sqrt(1 / 12), rel=0.05)


def _valid_files() -> list[bytes]:
    """Small valid files of several formats, the seeds of the fuzzed inputs."""
    kinds = [("WAV", "PCM_16", ".wav", 8000), ("WAVEX", "FLOAT", ".wav", 8000), ("FLAC", "PCM_16", ".flac", 8000),
             ("OGG", "VORBIS", ".ogg", 8000), ("MP3", "MPEG_LAYER_III", ".mp3", 44100), ("AIFF", "PCM_24", ".aiff", 8000)]
    seeds = []
    with tempfile.TemporaryDirectory() as folder:
        for container, subtype, suffix, rate in kinds:
            path = Path(folder) / f"seed{suffix}"
            sf.write(path, _tone(rate, 2, seconds=0.1), rate, subtype=subtype, format=container)
            seeds.append(path.read_bytes())
    return seeds


VALID_FILES = _valid_files()


def _mutations():
    random_bytes = st.binary(min_size=0, max_size=512)
    seed = st.sampled_from(VALID_FILES)
    truncated = st.tuples(seed, st.floats(0, 1)).map(lambda pair: pair[0][:int(len(pair[0]) * pair[1])])
    edits = st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255), st.booleans()), min_size=1, max_size=8)
    corrupted = st.tuples(seed, edits).map(lambda pair: _patched(*pair))
    prefixed = st.tuples(seed, random_bytes).map(lambda pair: pair[0][:12] + pair[1])
    return st.one_of(random_bytes, truncated, corrupted, prefixed)


def _patched(data: bytes, edits) -> bytes:
    """Overwrite bytes at relative positions, in the first 64 bytes (the header) or anywhere."""
    buffer = bytearray(data)
    for where, value, in_header in edits:
        limit = (min(64, len(buffer)) if in_header else len(buffer)) - 1
        buffer[int(where * limit)] = value
    return bytes(buffer)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_mutations(), suffix=st.sampled_from([".wav", ".flac", ".mp3", ".ogg", ".aiff", ".bin"]))
def test_fuzzed_files_load_or_raise_audio_file_error(data, suffix):
    fd, name = tempfile.mkstemp(suffix=suffix)
    try:
        os.write(fd, data)
        os.close(fd)
        try:
            clip = load_audio(name)
        except AudioFileError as error:
            assert name in str(error)
        else:
            assert clip.frames > 0 and 0 < clip.channels <= MAX_CHANNELS
            assert np.isfinite(clip.samples).all()
    finally:
        os.unlink(name)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_samples_equal_libsndfile_float_conversion(tmp_path, subtype):
    frames = np.random.default_rng(0).uniform(-1, 1, (5000, 3)).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, frames, 8000, subtype=subtype)
    np.testing.assert_array_equal(load_audio(path).samples, sf.read(path, dtype="float32")[0].T)


def test_undecodable_mp3_names_the_cause(tmp_path):
    path = tmp_path / "head.mp3"
    sf.write(path, _tone(44100, 1, seconds=1.0), 44100, format="MP3", subtype="MPEG_LAYER_III")
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(AudioFileError, match="corrupt or truncated|holds no audio"):
        load_audio(path)


def test_odd_but_readable_wav_headers(tmp_path):
    import struct

    frames = _tone(8000, 2)
    path = tmp_path / "plain.wav"
    sf.write(path, frames, 8000, subtype="PCM_16")
    data = path.read_bytes()
    at = data.find(b"data")
    streaming = bytearray(data)  # sizes left at 0xFFFFFFFF by a writer that could not seek back
    streaming[4:8] = streaming[at + 4:at + 8] = struct.pack("<I", 0xFFFFFFFF)
    listed = bytearray(data[:at] + b"LIST" + struct.pack("<I", 12) + b"INFOISFT" + bytes(4) + data[at:])
    listed[4:8] = struct.pack("<I", len(listed) - 8)
    for name, content in (("streaming.wav", streaming), ("listed.wav", listed)):
        (tmp_path / name).write_bytes(bytes(content))
        clip = load_audio(tmp_path / name)
        assert clip.frames == frames.shape[0]
        np.testing.assert_allclose(clip.samples, frames.T, atol=1.5 / 32768)
