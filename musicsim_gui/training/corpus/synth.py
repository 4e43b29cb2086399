"""Render one stem's voices to audio with FluidSynth and a General MIDI SoundFont, offline.

Architecture:
1. A fresh `fluidsynth.Synth` per stem (no audio driver), so every render starts from silence and the
   output depends only on the notes: the same song always renders to the same samples.
2. Our own scheduler: note-on/off events are sorted by sample frame; the synth renders float32 stereo
   straight into a preallocated [2, T] buffer up to each event (`fluid_synth_write_float` via ctypes),
   then the event is applied. No real-time clock is involved, so rendering runs as fast as the CPU allows.
3. The per-song room (reverb size, damping, level) is identical for every stem, and reverb/chorus sends
   are per voice MIDI controllers, so each stem carries its own reverb tail.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

import numpy as np

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.training.corpus.song import Voice

SOUNDFONT_ENV = "MUSICSIM_SOUNDFONT"
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
DRUM_CHANNEL = 9


def soundfont_path() -> Path:
    """The GM SoundFont to render with: `$MUSICSIM_SOUNDFONT`, else Debian's FluidR3_GM.sf2."""
    path = Path(os.environ.get(SOUNDFONT_ENV, DEFAULT_SOUNDFONT))
    if not path.is_file():
        raise MusicSimError(f"{path}: General MIDI SoundFont not found; install fluid-soundfont-gm "
                            f"(scripts/setup-system.sh) or set {SOUNDFONT_ENV}")
    return path


@functools.cache
def _fluidsynth():
    try:
        import fluidsynth
    except (ImportError, OSError) as error:  # pyfluidsynth raises ImportError when libfluidsynth is missing
        raise MusicSimError(f"FluidSynth is not available ({error}); install libfluidsynth3 and pyfluidsynth") \
            from error
    write = fluidsynth._fl.fluid_synth_write_float
    write.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                      ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    write.restype = ctypes.c_int
    return fluidsynth, write


def check_renderer() -> None:
    """Raise MusicSimError (naming what is missing) unless FluidSynth and the SoundFont are available."""
    soundfont_path()
    _fluidsynth()


def _channels(voices: list[Voice]) -> list[int]:
    melodic = iter(channel for channel in range(16) if channel != DRUM_CHANNEL)
    return [DRUM_CHANNEL if voice.is_drum else next(melodic) for voice in voices]


def _events(voices: list[Voice], channels: list[int], sample_rate: int, frames: int) -> list[tuple[int, int, int, int, int]]:
    """(frame, kind, channel, pitch, velocity) with kind 0 = note-off, 1 = note-on; sorted."""
    events = []
    for voice, channel in zip(voices, channels, strict=True):
        for note in voice.notes:
            on = min(frames - 1, int(round(note.start * sample_rate)))
            off = min(frames - 1, max(on + 1, int(round(note.end * sample_rate))))
            events.append((on, 1, channel, note.pitch, note.velocity))
            events.append((off, 0, channel, note.pitch, 0))
    events.sort()
    return events


def render_voices(voices: list[Voice], seconds: float, sample_rate: int = 44100,
                  room: tuple[float, float, float, float] = (0.5, 0.4, 0.8, 0.5)) -> np.ndarray:
    """Render `voices` for `seconds`; returns float32 [2, T]. `room` = reverb (size, damping, width, level)."""
    fluidsynth, write = _fluidsynth()
    frames = int(round(seconds * sample_rate))
    out = np.zeros((2, frames), dtype=np.float32)
    synth = fluidsynth.Synth(gain=0.4, samplerate=float(sample_rate))
    try:
        synth.set_reverb(*room)
        font = synth.sfload(str(soundfont_path()))
        if font < 0:
            raise MusicSimError(f"{soundfont_path()}: FluidSynth cannot load this SoundFont")
        channels = _channels(voices)
        for voice, channel in zip(voices, channels, strict=True):
            synth.program_select(channel, font, 128 if voice.is_drum else 0, voice.program)
            for control, value in ((7, voice.volume), (10, voice.pan), (91, voice.reverb), (93, voice.chorus)):
                synth.cc(channel, control, int(np.clip(value, 0, 127)))
        left, right = out.ctypes.data, out.ctypes.data + frames * 4
        position = 0
        for frame, kind, channel, pitch, velocity in _events(voices, channels, sample_rate, frames):
            if frame > position:
                write(synth.synth, frame - position, left, position, 1, right, position, 1)
                position = frame
            if kind:
                synth.noteon(channel, pitch, velocity)
            else:
                synth.noteoff(channel, pitch)
        if frames > position:
            write(synth.synth, frames - position, left, position, 1, right, position, 1)
    finally:
        synth.delete()
    return out
