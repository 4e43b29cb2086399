"""Project audio: creating a project from a reference file, and rendering or exporting a project's mix.

Architecture:
1. `project_sources` turns the project model into what the mixing kernel consumes: one AudioClip and one
   ChannelStrip per track, in instrument order. A track sounds its chosen take, or its reference stem when
   its A/B switch says so; a track with neither is silent.
2. `render_project` and `export_project` go through `audio.mixdown.render_mix`, which calls the same
   `mix_block` kernel as the real-time engine, so an export equals what was heard.
3. Clips are cached by (path, modification time, size), so re-rendering after a fader move does not reread
   every file.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.mixkernel import ChannelStrip
from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.core.errors import AudioFileError, ProjectFileError
from musicsim_gui.core.project import Project, Track
from musicsim_gui.core.projectfile import PROJECT_FILE, save_project

_CLIP_CACHE: dict[tuple[str, int, int], AudioClip] = {}
_CLIP_CACHE_LIMIT = 32


def load_cached(path: Path) -> AudioClip:
    """Load an audio file, reusing the decoded clip while the file is unchanged."""
    from musicsim_gui.audio.io import load_audio

    try:
        stat = path.stat()
    except OSError:
        raise AudioFileError(path, "the file is missing") from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    clip = _CLIP_CACHE.get(key)
    if clip is None:
        clip = load_audio(path)
        if len(_CLIP_CACHE) >= _CLIP_CACHE_LIMIT:
            _CLIP_CACHE.pop(next(iter(_CLIP_CACHE)))
        _CLIP_CACHE[key] = clip
    return clip


def track_audio_path(project: Project, track: Track) -> Path | None:
    """The file a track sounds: its reference stem when listening to the reference, else its chosen take."""
    if track.listen_reference:
        return project.resolve(track.reference_stem) if track.reference_stem else None
    take = track.chosen_take
    return project.take_audio_path(take) if take is not None else None


def project_sources(project: Project) -> tuple[list[AudioClip], list[ChannelStrip]]:
    """One clip and one channel strip per track (silent tracks get an empty clip), in instrument order."""
    clips: list[AudioClip] = []
    strips: list[ChannelStrip] = []
    for track in project.tracks.values():
        path = track_audio_path(project, track)
        clip = load_cached(path) if path is not None else None
        clips.append(clip if clip is not None else AudioClip(_silence(), 44100, "silence"))
        strips.append(ChannelStrip(gain_db=track.gain_db, pan=track.pan, mute=track.mute, solo=track.solo))
    return clips, strips


def _silence():
    import numpy as np

    return np.zeros((1, 0), dtype=np.float32)


def render_project(project: Project, sample_rate: int | None = None) -> AudioClip:
    """The project's stereo mix as heard (chosen takes, channel strips, master gain)."""
    from musicsim_gui.audio.mixdown import render_mix

    clips, strips = project_sources(project)
    rate = sample_rate or _project_rate(clips)
    return render_mix(clips, strips, master_gain_db=project.master_gain_db, sample_rate=rate)


def _project_rate(clips: list[AudioClip]) -> int:
    rates = [clip.sample_rate for clip in clips if clip.frames > 0]
    return max(rates) if rates else 44100


def export_project(project: Project, path: str | os.PathLike[str] | None, settings,
                   stems_dir: str | os.PathLike[str] | None = None,
                   progress: Callable[[float, str], None] | None = None, stem_suffix: str = ".wav") -> list[Path]:
    """Export the mix to `path` and, optionally, each audible track to `stems_dir/<instrument>.<ext>`.

    With `path` None only the stems are written (`stem_suffix` then picks their format; otherwise the mix
    file's suffix does); the mix is still rendered, for the normalisation gain.

    Stems are rendered through the same kernel with only that track unmuted and soloing ignored, at the
    track's own gain and pan and the master gain, so the stems sum to the mix when nothing is muted.

    Returns:
        The files written.
    """
    from musicsim_gui.audio.mixdown import export_clip, render_mix

    report = progress or (lambda fraction, message: None)
    clips, strips = project_sources(project)
    rate = settings.sample_rate or _project_rate(clips)
    report(0.0, "Rendering the mix")
    mix = render_mix(clips, strips, project.master_gain_db, rate)
    gain = normalization_gain(mix, settings)
    plain = dataclasses.replace(settings, normalize=None)
    written = [] if path is None else [export_clip(_scaled(mix, gain), Path(path), plain)]
    if stems_dir is not None:
        suffix = (stem_suffix if path is None else Path(path).suffix) or ".wav"
        names = list(project.tracks)
        for index, name in enumerate(names):
            report((index + 1) / (len(names) + 1), f"Rendering the {name} stem")
            if clips[index].frames == 0:
                continue
            solo_strips = [ChannelStrip(s.gain_db, s.pan, mute=(i != index)) for i, s in enumerate(strips)]
            stem = render_mix(clips, solo_strips, project.master_gain_db, rate)
            written.append(export_clip(_scaled(stem, gain), Path(stems_dir) / f"{name}{suffix}", plain))
    report(1.0, "Export finished")
    return written


def normalization_gain(mix: AudioClip, settings) -> float:
    """The linear gain that brings the mix to the export's peak or loudness target (1.0 when none).

    Stems get the mix's gain rather than their own normalisation, so exported stems still sum to the mix.
    """
    from musicsim_gui.audio.loudness import integrated_loudness, peak_dbfs

    if settings.normalize == "peak":
        peak = peak_dbfs(mix)
        return 1.0 if peak == float("-inf") else 10.0 ** ((settings.peak_dbfs - peak) / 20.0)
    if settings.normalize == "lufs":
        loudness = integrated_loudness(mix)
        return 1.0 if loudness == float("-inf") else 10.0 ** ((settings.lufs - loudness) / 20.0)
    return 1.0


def _scaled(clip: AudioClip, gain: float) -> AudioClip:
    return clip if gain == 1.0 else AudioClip(clip.samples * gain, clip.sample_rate, clip.source)


def new_project(reference: str | os.PathLike[str], folder: str | os.PathLike[str],
                stems: dict[str, str | os.PathLike[str]] | None = None, title: str = "",
                tempo_bpm: float | None = None, first_downbeat_seconds: float = 0.0) -> Project:
    """Create a project folder for a reference song and save it.

    The reference (and any given reference stems) are copied into the folder (`reference/`, `stems/`), so
    the project stays whole when the original file moves. The reference is decoded once to check it is
    readable and to record its content hash.

    Raises:
        AudioFileError: the reference or a stem cannot be read.
        ProjectFileError: the folder already holds a project.
    """
    folder = Path(folder).resolve()
    if (folder / PROJECT_FILE).exists():
        raise ProjectFileError(f"{folder}: a project already exists here")
    reference = Path(reference)
    clip = load_cached(reference)
    project = Project(folder=folder, reference_path="", reference_hash=clip.content_hash(),
                      tempo_bpm=tempo_bpm, title=title or reference.stem,
                      first_downbeat_seconds=first_downbeat_seconds)
    project.reference_path = project.relative(_copy_into(reference, folder / "reference" / reference.name))
    for name, stem in (stems or {}).items():
        stem = Path(stem)
        load_cached(stem)
        track = project.track(name)
        track.reference_stem = project.relative(_copy_into(stem, project.stem_path(name, stem.suffix)))
    save_project(project)
    return project


def _copy_into(source: Path, target: Path) -> Path:
    if source.resolve() != target.resolve():
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    return target
