"""The pinned Qt binding keeps Python's reference counts straight when signals are emitted.

PySide6 6.12.0 returned a borrowed reference from `SignalInstance.emit`, so every emit from Python (and
pyqtgraph emits on every view change) released one reference to `True` until the interpreter aborted
with "bool_dealloc". The studio pins a release without that fault; this test keeps it that way.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    changed = Signal(float)


def test_emit_does_not_release_references_to_true():
    emitter = _Emitter()
    received = []
    emitter.changed.connect(received.append)
    before = sys.getrefcount(True)
    for value in range(500):
        emitter.changed.emit(float(value))
    assert len(received) == 500
    assert sys.getrefcount(True) >= before
