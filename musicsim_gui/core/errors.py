"""The project's error hierarchy: every error a user can cause carries a message that names the problem.

The CLI prints `MusicSimError` messages as one line on stderr (exit code 2); the studio shows them as a
notice. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class MusicSimError(Exception):
    """An error caused by input, environment or a cancelled action, with a message fit for the user."""


class CancelledError(MusicSimError):
    """The user (or a newer request) cancelled a running job."""

    def __init__(self, what: str = "the job") -> None:
        super().__init__(f"Cancelled {what}.")


class ProjectFileError(MusicSimError):
    """A project file is missing, unreadable, of an unknown version or does not match its schema."""


class AudioFileError(MusicSimError):
    """An audio file cannot be read or written: the message names the file and the cause."""

    def __init__(self, path: object, cause: str) -> None:
        self.path = str(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")

    def __reduce__(self) -> tuple:
        """Rebuilt from its path and cause, so the error crosses from a worker process intact."""
        return type(self), (self.path, self.cause)


class ModelError(MusicSimError):
    """A model is missing, corrupt, of the wrong kind, or cannot run on the chosen backend or device."""
