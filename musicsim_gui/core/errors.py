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
