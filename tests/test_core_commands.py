"""Edit commands do and undo exactly, and the undo history behaves like a DAW's."""

from __future__ import annotations

import copy

import pytest

from musicsim_gui.core.commands import (
    AddTake,
    ChooseTake,
    DeleteTake,
    RateTake,
    SetBeatGrid,
    SetGain,
    SetListenReference,
    SetMasterGain,
    SetMute,
    SetPan,
    SetSolo,
    UndoHistory,
)
from musicsim_gui.core.project import Project, Take
from musicsim_gui.core.projectfile import project_to_dict


def take(take_id: str, seed: int = 0) -> Take:
    return Take(id=take_id, path=f"takes/bass/{take_id}.flac", model_id="m", model_version="1", seed=seed)


@pytest.fixture
def project(tmp_path) -> Project:
    project = Project(folder=tmp_path, reference_path="ref.wav")
    project.track("bass").takes.extend([take("a", 1), take("b", 2)])
    project.track("bass").chosen_take_id = "a"
    return project


ALL_COMMANDS = [
    lambda: SetGain("bass", -6.0),
    lambda: SetPan("piano", -0.5),
    lambda: SetMute("drums", True),
    lambda: SetSolo("other", True),
    lambda: SetListenReference("bass", True),
    lambda: SetMasterGain(-2.0),
    lambda: SetBeatGrid(92.5, 0.4),
    lambda: ChooseTake("bass", "b"),
    lambda: ChooseTake("bass", None),
    lambda: RateTake("bass", "b", 5),
    lambda: AddTake("bass", take("c", 3)),
    lambda: DeleteTake("bass", "a"),
]


@pytest.mark.parametrize("make_command", ALL_COMMANDS)
def test_each_command_undoes_and_redoes_exactly(project, make_command):
    before = copy.deepcopy(project_to_dict(project))
    history = UndoHistory(project)
    history.push(make_command())
    after = copy.deepcopy(project_to_dict(project))
    assert after != before
    history.undo()
    assert project_to_dict(project) == before
    history.redo()
    assert project_to_dict(project) == after


def test_delete_take_keeps_order_and_choice_on_undo(project):
    history = UndoHistory(project)
    history.push(DeleteTake("bass", "a"))
    assert project.track("bass").chosen_take_id is None
    assert [t.id for t in project.track("bass").takes] == ["b"]
    history.undo()
    assert [t.id for t in project.track("bass").takes] == ["a", "b"]
    assert project.track("bass").chosen_take_id == "a"


def test_fader_drag_merges_into_one_step_but_separate_moves_do_not(project):
    history = UndoHistory(project)
    for db in (-1.0, -2.0, -3.0):
        history.push(SetGain("bass", db), merge=True)
    history.push(SetGain("bass", -9.0))
    history.undo()
    assert project.track("bass").gain_db == -3.0
    history.undo()
    assert project.track("bass").gain_db == 0.0
    assert not history.can_undo


def test_new_command_clears_redo(project):
    history = UndoHistory(project)
    history.push(SetMute("bass", True))
    history.undo()
    assert history.can_redo
    history.push(SetSolo("bass", True))
    assert not history.can_redo


def test_invalid_commands_fail_before_changing_anything(project):
    before = project_to_dict(project)
    history = UndoHistory(project)
    with pytest.raises(KeyError):
        history.push(ChooseTake("bass", "nope"))
    with pytest.raises(ValueError):
        history.push(AddTake("bass", take("a")))
    with pytest.raises(ValueError):
        RateTake("bass", "a", 7)
    with pytest.raises(ValueError):
        SetPan("bass", 2.0)
    assert project_to_dict(project) == before
    assert not history.can_undo
