"""The demo project: a project folder made once from the bundled demo song in `resources/demo/`.

The demo folder holds a reference mix, its four stems and, optionally, takes:
`reference.*` (or `mix.*`), `<instrument>.*` or `stems/<instrument>.*`, and `takes/<instrument>/*.*`;
an optional `demo.json` may give `title` and `tempo_bpm`. The project is created under
`<user data>/projects/demo` the first time and reused afterwards.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.core.project import Project, Take, new_take_id
from musicsim_gui.runtime.paths import user_data_dir

AUDIO = (".wav", ".flac", ".ogg", ".mp3", ".aiff")
DEMO_SOURCE = Path(__file__).resolve().parents[2] / "resources" / "demo"


def _audio_in(folder: Path, stems: tuple[str, ...]) -> Path | None:
    for stem in stems:
        for suffix in AUDIO:
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def find_demo_files(source: Path) -> tuple[Path, dict[str, Path], dict[str, list[Path]], dict]:
    """(reference, stems by instrument, takes by instrument, metadata) found in a demo folder.

    Raises:
        FileNotFoundError: the folder has no reference audio.
    """
    reference = _audio_in(source, ("reference", "mix", "demo"))
    if reference is None:
        raise FileNotFoundError(f"{source}: no demo reference (reference.wav or reference.flac)")
    stems = {}
    for name in INSTRUMENTS:
        stem = _audio_in(source / "stems", (name,)) or _audio_in(source, (name,))
        if stem is not None:
            stems[name] = stem
    takes = {name: sorted(p for p in (source / "takes" / name).glob("*") if p.suffix.lower() in AUDIO)
             for name in INSTRUMENTS}
    meta_file = source / "demo.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    return reference, stems, takes, meta


def _take_meta(path: Path, meta: dict) -> dict:
    info = meta.get("takes", {}).get(path.name, {}) if isinstance(meta.get("takes"), dict) else {}
    return {"model_id": str(info.get("model_id", "demo")), "model_version": str(info.get("model_version", "1")),
            "seed": int(info.get("seed", 0)), "params": dict(info.get("params", {}))}


def add_takes(project: Project, takes: dict[str, list[Path]], meta: dict) -> None:
    """Copy take files into the project and record them; the first take of a track becomes the chosen one."""
    for name, files in takes.items():
        track = project.track(name)
        for path in files:
            take_id = new_take_id()
            target = project.new_take_path(name, take_id, path.suffix)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            track.takes.append(Take(id=take_id, path=project.relative(target), **_take_meta(path, meta)))
        if track.takes and track.chosen_take_id is None:
            track.chosen_take_id = track.takes[0].id


def demo_project(source: Path | None = None, folder: Path | None = None) -> Project:
    """Open the demo project, creating it from `source` the first time.

    Tracks with a stem but no take listen to their reference stem, so the demo plays the full song at once.
    """
    from musicsim_gui.audio.project_render import new_project
    from musicsim_gui.core.projectfile import PROJECT_FILE, load_project, save_project

    folder = folder or user_data_dir() / "projects" / "demo"
    if (folder / PROJECT_FILE).is_file():
        return load_project(folder)
    reference, stems, takes, meta = find_demo_files(source or DEMO_SOURCE)
    project = new_project(reference, folder, stems={k: str(v) for k, v in stems.items()},
                          title=str(meta.get("title", "Demo song")), tempo_bpm=meta.get("tempo_bpm"))
    add_takes(project, takes, meta)
    for track in project.tracks.values():
        track.listen_reference = bool(track.reference_stem) and not track.takes
    save_project(project)
    return project
