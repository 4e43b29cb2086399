"""Output device discovery through PortAudio: listing, lookup by host API, and re-scanning.

PortAudio reads the device list once when it initialises; `rescan()` re-initialises it so devices that
appeared (or a JACK server that started) since then become visible. Nothing here raises on a machine
without sound hardware: the lists are simply empty.

Some host APIs never return from stopping a stream whose server died (PortAudio's JACK back end waits for
a process thread that is gone). `close_stream` therefore closes on a helper thread with a time limit; if
it hangs, PortAudio is marked unusable for this process, and its exit handler (which would hang the same
way) is dropped so the application can still quit.

Re-initialising is dangerous in two ways, so `rescan()` refuses both:
1. `Pa_Terminate` closes every stream still open in the process, under the feet of its owner; every
   stream opened here is tracked until its close completes, and no re-scan happens while one exists.
2. When the JACK host API is loaded, `Pa_Terminate` aborts the whole process if the JACK server is gone
   or slow to answer (pa_jack.c asserts that `jack_deactivate` succeeded). So with JACK loaded there is
   no re-scan. PortAudio must still terminate at exit (libjack crashes at exit otherwise, once a stream
   was opened), so every stream is closed with a time limit first, leaving `Pa_Terminate` the least to do.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable

try:
    import sounddevice as sd
except OSError as error:  # the PortAudio library itself is missing: no audio, but everything else works
    sd = None
    MISSING_PORTAUDIO = f"PortAudio is not available ({error}); install libportaudio2 to play audio."
else:
    MISSING_PORTAUDIO = ""

CLOSE_TIMEOUT_SECONDS = 1.0
_state = {"wedged": False}
_live_streams: set = set()
"""Streams opened through `open_output_stream` whose close has not completed."""


def open_output_stream(sample_rate: int, blocksize: int, device: int | None, callback: Callable[..., None],
                       finished_callback: Callable[[], None]):  # noqa: ANN201 - a sounddevice.OutputStream
    """Open (not start) a stereo float32 output stream. Raises whatever PortAudio raises."""
    if sd is None:
        raise OSError(MISSING_PORTAUDIO)
    stream = sd.OutputStream(samplerate=sample_rate, blocksize=blocksize, device=device, channels=2,
                             dtype="float32", callback=callback, finished_callback=finished_callback)
    _live_streams.add(stream)
    return stream


def live_streams() -> int:
    """How many streams are open (or still closing) in this process."""
    return len(_live_streams)


def jack_loaded() -> bool:
    """True when PortAudio has initialised its JACK host API (a JACK server was running at start-up)."""
    if sd is None:
        return False
    try:
        return any("jack" in api["name"].lower() for api in sd.query_hostapis())
    except sd.PortAudioError:
        return False


def default_rate(device: int | None) -> int | None:
    """The default sample rate of output `device` (None = default output), or None when unknown."""
    if sd is None:
        return None
    try:
        return int(sd.query_devices(device, "output")["default_samplerate"])
    except Exception:  # no such device (PortAudio raises several types)
        return None


def output_devices() -> list[tuple[int, str]]:
    """Every device that can play sound, as `(index, "name (host API)")`, in PortAudio's order."""
    if sd is None:
        return []
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
    except sd.PortAudioError:
        return []
    return [(int(device["index"]), f"{device['name']} ({hostapis[device['hostapi']]['name']})")
            for device in devices if device["max_output_channels"] > 0]


def default_output_device() -> int | None:
    """The index of PortAudio's default output device, or None when there is none."""
    if sd is None:
        return None
    try:
        index = sd.default.device[1]
        if index is None or index < 0:
            index = sd.query_hostapis(0)["default_output_device"]
    except (sd.PortAudioError, IndexError):
        return None
    return int(index) if index is not None and index >= 0 else None


def hostapi_output_device(hostapi_name: str) -> int | None:
    """The default output device of the first host API whose name contains `hostapi_name` (case-insensitive).

    For example `hostapi_output_device("JACK")` finds a running JACK server's device. None when absent.
    """
    if sd is None:
        return None
    try:
        hostapis = sd.query_hostapis()
    except sd.PortAudioError:
        return None
    for api in hostapis:
        if hostapi_name.lower() in api["name"].lower():
            index = api["default_output_device"]
            if index is not None and index >= 0:
                return int(index)
            outputs = [i for i in api["devices"] if sd.query_devices(i)["max_output_channels"] > 0]
            return outputs[0] if outputs else None
    return None


def describe_device(index: int | None) -> str:
    """A device's name for messages ("default output" for None)."""
    if index is None:
        return "default output"
    if sd is None:
        return f"device {index}"
    try:
        return str(sd.query_devices(index)["name"])
    except (sd.PortAudioError, ValueError):
        return f"device {index}"


def find_output_device(name: str) -> int | None:
    """The index of the output device called `name` (indices can change after a re-scan)."""
    for index, label in output_devices():
        if label == name:
            return index
    return None


def rescan() -> bool:
    """Re-initialise PortAudio so its device list is current; returns whether it did.

    Does nothing while any stream exists, after a close hung, or when the JACK host API is loaded (see the
    module docstring: each of these can crash or hang the process inside `Pa_Terminate`).
    """
    if _state["wedged"] or sd is None or _live_streams or jack_loaded():
        return False
    sd._terminate()
    sd._initialize()
    return True


def close_stream(stream, timeout: float = CLOSE_TIMEOUT_SECONDS) -> bool:  # noqa: ANN001 - an OutputStream
    """Stop and close `stream`, giving up after `timeout` seconds. Returns False if the host API hung."""
    closer = threading.Thread(target=stream.close, kwargs={"ignore_errors": True}, name="close audio stream",
                              daemon=True)
    closer.start()
    closer.join(timeout)
    if not closer.is_alive():
        _live_streams.discard(stream)
        return True
    _state["wedged"] = True
    atexit.unregister(sd._exit_handler)
    return False


def portaudio_wedged() -> bool:
    """True once closing a stream hung: no stream can be opened again in this process."""
    return _state["wedged"]


def release() -> None:
    """Let go of PortAudio (closing its host API connections, e.g. to a JACK server about to stop)."""
    if sd is not None:
        sd._terminate()


def _close_at_exit() -> None:
    """At interpreter exit, before PortAudio terminates: close every stream still open (with a time limit)."""
    for stream in list(_live_streams):
        if not _state["wedged"]:
            close_stream(stream)


if sd is not None:
    atexit.register(_close_at_exit)  # registered after sounddevice's own handler, so it runs first
