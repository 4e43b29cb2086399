"""Output device discovery through PortAudio: listing, lookup by host API, and re-scanning.

PortAudio reads the device list once when it initialises; `rescan()` re-initialises it so devices that
appeared (or a JACK server that started) since then become visible. Nothing here raises on a machine
without sound hardware: the lists are simply empty.

Some host APIs never return from stopping a stream whose server died (PortAudio's JACK back end waits for
a process thread that is gone). `close_stream` therefore closes on a helper thread with a time limit; if
it hangs, PortAudio is marked unusable for this process, and its exit handler (which would hang the same
way) is dropped so the application can still quit.
"""

from __future__ import annotations

import atexit
import threading

import sounddevice as sd

CLOSE_TIMEOUT_SECONDS = 1.0
_state = {"wedged": False}


def output_devices() -> list[tuple[int, str]]:
    """Every device that can play sound, as `(index, "name (host API)")`, in PortAudio's order."""
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
    except sd.PortAudioError:
        return []
    return [(int(device["index"]), f"{device['name']} ({hostapis[device['hostapi']]['name']})")
            for device in devices if device["max_output_channels"] > 0]


def default_output_device() -> int | None:
    """The index of PortAudio's default output device, or None when there is none."""
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


def rescan() -> None:
    """Re-initialise PortAudio so its device list is current. Only call while no stream is open."""
    if _state["wedged"]:
        return
    sd._terminate()
    sd._initialize()


def close_stream(stream: sd.OutputStream, timeout: float = CLOSE_TIMEOUT_SECONDS) -> bool:
    """Stop and close `stream`, giving up after `timeout` seconds. Returns False if the host API hung."""
    closer = threading.Thread(target=stream.close, kwargs={"ignore_errors": True}, name="close audio stream",
                              daemon=True)
    closer.start()
    closer.join(timeout)
    if not closer.is_alive():
        return True
    _state["wedged"] = True
    atexit.unregister(sd._exit_handler)
    return False


def portaudio_wedged() -> bool:
    """True once closing a stream hung: no stream can be opened again in this process."""
    return _state["wedged"]


def release() -> None:
    """Let go of PortAudio (closing its host API connections, e.g. to a JACK server about to stop)."""
    sd._terminate()
