"""Atomic file writes: write a temporary sibling, fsync it, rename it over the target, fsync the folder.

A crash or kill at any moment leaves either the old file or the new one, never a torn mix of both.
Every file the project writes for the user (project files, takes, exports) goes through here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _apply_default_permissions(tmp: Path, target: Path) -> None:
    """Give the temporary file the target's mode, or what a plain `open()` would (0o666 less the umask).

    `mkstemp` creates files readable by the owner only; a replaced project file must not lose its mode.
    """
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o666 & ~_current_umask()
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to `target`; on success it replaces `target` atomically.

    The caller writes the complete file to the yielded path (with any library that takes a path).
    If the block raises, the temporary file is removed and `target` is untouched.

    Args:
        target: the final path.
        suffix: the temporary file's suffix; defaults to the target's, so format sniffing by extension works.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix or ".tmp",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    _apply_default_permissions(tmp, target)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_directory(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `target` atomically (see `atomic_path`)."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `target` atomically (see `atomic_path`)."""
    atomic_write_bytes(target, text.encode(encoding))
