"""The studio's long actions as job specs: load a file, separate stems, generate takes, export the mix.

Each job function imports the layer it drives inside its body, so importing this module stays cheap and
a worker process loads only what its job needs. Results are plain picklable values (clips, paths, takes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.jobs.spec import JobContext, JobSpec, job_function

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadAudio(JobSpec):
    """Read an audio file; the result is an `AudioClip`."""

    path: str

    @property
    def title(self) -> str:
        return f"Loading {Path(self.path).name}"


@job_function(LoadAudio)
def run_load_audio(spec: LoadAudio, context: JobContext):  # noqa: ANN201 - returns an AudioClip
    from musicsim_gui.audio.io import load_audio

    context.progress(0.0, f"Reading {Path(spec.path).name}")
    clip = load_audio(spec.path)
    context.progress(1.0, f"Read {clip.duration:.1f} s")
    return clip


@dataclass(frozen=True)
class Separate(JobSpec):
    """Split the reference song into stems.

    The result is `{stem: AudioClip}`, or with `out_dir` set, `SavedStems`: the files written there as
    `<stem>.flac` (minutes of audio then stay out of the pipe from the worker) and the separator that made them.

    Attributes:
        reference: the audio file to separate.
        model: a separator name ("builtin", "dsp" or an installed model).
        backend: "auto" | "onnx" | "torch".
        out_dir: where to write the stems, or None to return them in memory.
        device: "auto" | "cpu" | "cuda" (where the model runs).
    """

    reference: str
    model: str = "builtin"
    backend: str = "auto"
    out_dir: str | None = None
    device: str = "auto"

    @property
    def title(self) -> str:
        return f"Separating {Path(self.reference).name}"


@dataclass(frozen=True)
class SavedStems:
    """A Separate job's stem files: `paths` maps each stem to its file; `separator` names the model and version
    that split the song (`separation.base.separator_label`; it says so when the DSP fallback stood in)."""

    paths: dict[str, str]
    separator: str


@job_function(Separate)
def run_separate(spec: Separate, context: JobContext) -> dict[str, Any] | SavedStems:
    from musicsim_gui.audio.io import load_audio, save_audio
    from musicsim_gui.separation.base import get_separator, separator_label

    context.progress(0.0, f"Reading {Path(spec.reference).name}")
    clip = load_audio(spec.reference)
    context.check(spec.title)
    context.progress(0.05, f"Loading the {spec.model} separator")
    separator = get_separator(spec.model, backend=spec.backend, device=spec.device)
    stems = separator.separate(clip, progress=context.scaled(0.1, 0.95), cancel=context.cancelled)
    if spec.out_dir is None:
        context.progress(1.0, "Stems ready")
        return stems
    paths = {}
    for index, (name, stem) in enumerate(stems.items()):
        context.check(spec.title)
        context.progress(0.95 + 0.05 * index / len(stems), f"Saving the {name} stem")
        paths[name] = str(save_audio(Path(spec.out_dir) / f"{name}.flac", stem))
    context.progress(1.0, "Stems saved")
    return SavedStems(paths, separator_label(separator))


@dataclass(frozen=True)
class Generate(JobSpec):
    """Compose takes for some instruments; the result is a list of core `Take`s whose `path` is absolute.

    Each take is written to `<out_dir>/<instrument>/<take id>.flac` as soon as it exists (pass the project's
    `takes` folder, then make the paths relative with `Project.relative`).

    Attributes:
        reference: the reference song file.
        model: a generator name (see `generation.available_generators()`).
        instruments: which tracks to compose, e.g. ("bass", "drums").
        seeds: one seed per take (extended by counting up when short).
        takes: takes per instrument.
        params: model options as `(name, value)` pairs (kept hashable; recorded in each take).
        keep: when > 0, only the `keep` best takes of each instrument are kept, ranked by the user's
            preference scorer (`evaluation.preference`); all takes are kept when no scorer was trained.
        device: "auto" | "cpu" | "cuda" (where the model runs, for generators that can choose).
        reference_stems: `(instrument, path)` of the reference's separated stems, for generators that match
            their takes to them (a missing or unreadable file is skipped: the take is made without it).
        reference_separator: the separator that made those stems (`separation.base.separator_label`; "" when
            unknown); stems from a rough one are followed only when `params` asks for the reference match.
    """

    reference: str
    out_dir: str
    model: str = "vit-wavegan-lofi"
    instruments: tuple[str, ...] = ("bass", "drums", "piano", "other")
    seeds: tuple[int, ...] = ()
    takes: int = 1
    backend: str = "auto"
    params: tuple[tuple[str, Any], ...] = ()
    keep: int = 0
    device: str = "auto"
    reference_stems: tuple[tuple[str, str], ...] = ()
    reference_separator: str = ""

    @property
    def title(self) -> str:
        return f"Generating {', '.join(self.instruments)}"


@job_function(Generate)
def run_generate(spec: Generate, context: JobContext) -> list[Any]:
    from musicsim_gui.audio.io import load_audio, save_audio
    from musicsim_gui.core.project import Take, new_take_id
    from musicsim_gui.generation.base import GenerationRequest, get_generator
    from musicsim_gui.separation.base import rough_separator

    context.progress(0.0, f"Reading {Path(spec.reference).name}")
    reference = load_audio(spec.reference)
    context.progress(0.05, f"Loading {spec.model}")
    generator = get_generator(spec.model, backend=spec.backend, device=spec.device)
    request = GenerationRequest(reference, tuple(spec.instruments), tuple(spec.seeds), spec.takes,
                                dict(spec.params), _reference_stems(spec.reference_stems) or None,
                                rough_separator(spec.reference_separator))
    generated = generator.generate(request, progress=context.scaled(0.1, 0.95), cancel=context.cancelled)
    if 0 < spec.keep < spec.takes:
        from musicsim_gui.evaluation.preference import default_scorer, keep_best

        scorer = default_scorer()
        if scorer is not None:
            context.progress(0.95, f"Keeping the best {spec.keep} of {spec.takes} takes")
            generated = keep_best(generated, spec.keep, scorer)
    takes = []
    for item in generated:
        take_id = new_take_id()
        path = save_audio(Path(spec.out_dir) / item.instrument / f"{take_id}.flac", item.clip)
        takes.append(Take(take_id, str(path), item.model_id, item.model_version, item.seed, dict(item.params)))
    context.progress(1.0, f"{len(takes)} takes ready")
    return takes


def _reference_stems(paths: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """instrument → the stem clip read from its path (files that are missing or unreadable are left out, logged)."""
    from musicsim_gui.audio.io import load_audio

    stems = {}
    for instrument, path in paths:
        try:
            stems[instrument] = load_audio(path)
        except (MusicSimError, OSError) as error:
            log.warning("reference stem %s left out of the reference match: %s", path, error)
    return stems


@dataclass(frozen=True)
class ExportMix(JobSpec):
    """Render and write the project's mix (and optionally its stems); the result is the list of written paths.

    Attributes:
        project_folder: the project to export (read from disk unless `project` is given).
        path: the mix file to write (.wav or .flac), or None to write only the stems.
        settings: an `audio.mixdown.ExportSettings` (None: defaults).
        stems_dir: when set, each track is also written there.
        project: an in-memory `core.project.Project` to export instead of the saved file (unsaved edits).
        stem_suffix: the stems' format (".wav" or ".flac") when there is no mix path to take it from.
    """

    project_folder: str
    path: str | None
    settings: Any = None
    stems_dir: str | None = None
    project: Any = None
    stem_suffix: str = ".wav"

    @property
    def title(self) -> str:
        return f"Exporting {Path(self.path or self.stems_dir or 'stems').name}"


@job_function(ExportMix)
def run_export_mix(spec: ExportMix, context: JobContext) -> list[str]:
    from musicsim_gui.audio.mixdown import ExportSettings
    from musicsim_gui.audio.project_render import export_project
    from musicsim_gui.core.projectfile import load_project

    if spec.path is None and spec.stems_dir is None:
        raise MusicSimError("Nothing to export: choose the mix, the stems, or both.")
    context.progress(0.0, "Reading the project")
    project = spec.project if spec.project is not None else load_project(Path(spec.project_folder))
    settings = spec.settings if spec.settings is not None else ExportSettings()
    scaled = context.scaled(0.05, 1.0)

    def progress(fraction: float, message: str) -> None:  # cancel takes effect between stems
        context.check(spec.title)
        scaled(fraction, message)

    written = export_project(project, spec.path, settings, spec.stems_dir, progress=progress,
                             stem_suffix=spec.stem_suffix)
    return [str(path) for path in written]
