"""The project model and its file: round trips, schema validation, versioning and clear errors."""

from __future__ import annotations

import json

import pytest

from musicsim_gui.core.errors import ProjectFileError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.core.project import Project, Take, Track
from musicsim_gui.core.projectfile import PROJECT_FILE, load_project, project_to_dict, save_project


def make_project(folder) -> Project:
    project = Project(folder=folder, reference_path="reference/song.flac", reference_hash="ab" * 32,
                      tempo_bpm=82.0, title="Song", first_downbeat_seconds=0.35)
    bass = project.track("bass")
    bass.takes.append(Take(id="t1", path="takes/bass/t1.flac", model_id="vit-wavegan-lofi", model_version="1",
                           seed=7, params={"temperature": 0.8}, rating=4))
    bass.takes.append(Take(id="t2", path="takes/bass/t2.flac", model_id="vit-wavegan-lofi", model_version="1",
                           seed=8))
    bass.chosen_take_id = "t1"
    bass.gain_db = -3.5
    bass.pan = 0.25
    project.track("drums").solo = True
    project.track("piano").reference_stem = "stems/piano.flac"
    project.track("piano").reference_stem_separator = "separation-builtin 2.7"
    project.track("piano").listen_reference = True
    project.master_gain_db = -1.0
    return project


def test_round_trip_keeps_everything(tmp_path):
    project = make_project(tmp_path)
    save_project(project)
    loaded = load_project(tmp_path)
    assert project_to_dict(loaded) == project_to_dict(project)
    assert list(loaded.tracks) == list(INSTRUMENTS)
    assert loaded.track("bass").chosen_take.seed == 7
    assert loaded.take_audio_path(loaded.track("bass").takes[0]) == tmp_path.resolve() / "takes/bass/t1.flac"


def test_files_without_a_first_downbeat_count_bars_from_the_start(tmp_path):
    save_project(make_project(tmp_path))
    data = json.loads((tmp_path / PROJECT_FILE).read_text())
    assert data["reference"].pop("first_downbeat_s") == 0.35
    (tmp_path / PROJECT_FILE).write_text(json.dumps(data))
    assert load_project(tmp_path).first_downbeat_seconds == 0.0


def test_files_without_a_stems_separator_leave_it_unknown(tmp_path):
    save_project(make_project(tmp_path))
    data = json.loads((tmp_path / PROJECT_FILE).read_text())
    assert data["tracks"]["piano"].pop("reference_stem_separator") == "separation-builtin 2.7"
    (tmp_path / PROJECT_FILE).write_text(json.dumps(data))
    assert load_project(tmp_path).track("piano").reference_stem_separator == ""


def test_save_keeps_previous_version_as_backup(tmp_path):
    project = make_project(tmp_path)
    save_project(project)
    project.master_gain_db = -6.0
    save_project(project)
    backup = json.loads((tmp_path / (PROJECT_FILE + ".bak")).read_text())
    assert backup["master_gain_db"] == -1.0
    assert load_project(tmp_path).master_gain_db == -6.0


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["tracks"]["bass"]["takes"][0].update(rating=9), "tracks.bass.takes.0.rating"),
    (lambda d: d["tracks"]["bass"].update(pan="left"), "tracks.bass.pan"),
    (lambda d: d["tracks"].update(vocals={"takes": []}), "tracks"),
    (lambda d: d["reference"].pop("path"), "reference"),
    (lambda d: d.update(version=99), "newer MuSiC Studio"),
    (lambda d: d.update(format="something-else"), "not a MuSiC Studio project"),
    (lambda d: d["tracks"]["bass"].update(chosen_take_id="missing"), "chosen_take_id"),
])
def test_invalid_documents_name_the_file_and_the_field(tmp_path, mutate, expected):
    save_project(make_project(tmp_path))
    path = tmp_path / PROJECT_FILE
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectFileError) as caught:
        load_project(tmp_path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]"])
def test_damaged_files_raise_project_file_error(tmp_path, content):
    (tmp_path / PROJECT_FILE).write_bytes(content)
    with pytest.raises(ProjectFileError, match="project"):
        load_project(tmp_path)


def test_missing_project_names_the_path(tmp_path):
    with pytest.raises(ProjectFileError, match="no project file"):
        load_project(tmp_path / "nowhere")


def test_track_rejects_unknown_instruments_and_bad_ratings():
    with pytest.raises(ValueError, match="unknown instrument"):
        Track(instrument="vocals")
    with pytest.raises(ValueError, match="rating"):
        Take(id="x", path="x.flac", model_id="m", model_version="1", seed=0, rating=6)


def test_paths_outside_the_folder_stay_absolute(tmp_path):
    project = Project(folder=tmp_path / "p", reference_path="")
    outside = tmp_path / "elsewhere.wav"
    assert project.relative(outside) == str(outside.resolve())
    assert project.relative(tmp_path / "p" / "takes" / "a.flac") == "takes/a.flac"
    assert project.new_take_path("drums", "abc") == tmp_path / "p" / "takes" / "drums" / "abc.flac"


def test_saved_files_get_normal_permissions(tmp_path):
    import os
    import stat

    save_project(make_project(tmp_path))
    mode = stat.S_IMODE(os.stat(tmp_path / PROJECT_FILE).st_mode)
    mask = os.umask(0)
    os.umask(mask)
    assert mode == 0o666 & ~mask
