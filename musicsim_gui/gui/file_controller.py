"""`FileController`: opening projects and audio files, saving, Save As, and the recent-files list.

An audio file becomes a new project folder under `<user data>/projects/<name>` (numbered when taken); a
folder holding a project file (or the project file itself) is opened as it is. Errors come back as the
`MusicSimError` message, for the window to show as a notice.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from musicsim_gui.core.errors import MusicSimError, ProjectFileError
from musicsim_gui.core.projectfile import PROJECT_FILE
from musicsim_gui.gui.settings_store import add_recent
from musicsim_gui.runtime.paths import user_data_dir

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".aif", ".aiff", ".opus"}


def projects_dir() -> Path:
    return user_data_dir() / "projects"


def free_folder(parent: Path, name: str) -> Path:
    """`parent/name`, or `parent/name-2`, `-3`... whichever does not exist yet."""
    candidate = parent / name
    number = 2
    while candidate.exists():
        candidate = parent / f"{name}-{number}"
        number += 1
    return candidate


def project_folder_of(path: Path) -> Path | None:
    """The project folder `path` names (the folder or its project file), or None if it is not one."""
    if path.is_dir() and (path / PROJECT_FILE).is_file():
        return path
    if path.name == PROJECT_FILE and path.is_file():
        return path.parent
    return None


class FileController:
    """File operations on behalf of the window; `project` is the `ProjectController`."""

    def __init__(self, project, settings) -> None:
        self.project = project
        self.settings = settings

    def open_path(self, path: str | Path) -> None:
        """Open a project folder, a project file or an audio file (as a new project).

        Raises:
            MusicSimError: the path is not something the studio opens, or it cannot be read.
        """
        from musicsim_gui.audio.project_render import new_project
        from musicsim_gui.core.projectfile import load_project

        path = Path(path).expanduser()
        folder = project_folder_of(path)
        if folder is not None:
            project = load_project(folder)
        elif path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
            project = new_project(path, free_folder(projects_dir(), path.stem), title=path.stem)
        elif path.is_dir():
            raise ProjectFileError(f"{path}: this folder holds no MuSiC Studio project ({PROJECT_FILE})")
        else:
            raise MusicSimError(f"{path}: not an audio file or a project folder")
        self.project.set_project(project)
        add_recent(self.settings, project.folder)

    def save(self) -> Path:
        """Save the open project into its folder; returns the project file."""
        from musicsim_gui.core.projectfile import save_project

        written = save_project(self.project.project)
        self.project.undo_stack.setClean()
        return written

    def save_as(self, folder: str | Path) -> Path:
        """Copy the project folder to `folder` (which must not exist or be empty) and continue there."""
        project = self.project.project
        target = Path(folder).expanduser().resolve()
        if target.exists() and any(target.iterdir()):
            raise ProjectFileError(f"{target}: the folder is not empty")
        if target.exists():
            target.rmdir()
        shutil.copytree(project.folder, target)
        project.folder = target
        written = self.save()
        add_recent(self.settings, target)
        return written
