"""Windowed continuation: how a take longer than one decoding window is split, and how windows are joined.

A MusicGen decoder attends to at most one window of codec frames (30 s for the released models). A longer take
is generated window by window: each later window is prompted with the last `overlap` frames of the audio made
so far, and its decoded audio (which starts with a codec re-synthesis of that overlap) is joined to what exists
by a short raised-cosine crossfade ending where the new material starts (its gains sum to one: the two
sides carry the same music, so an equal-power fade would swell by up to 3 dB). The joined take has exactly the
requested length, with no gap and no repeated material.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    """One decoding call: `prompt_frames` of audio prompt, then `new_frames` generated frames.

    `start_frame` is where the window's prompt starts on the take's timeline (codec frames).
    """

    start_frame: int
    prompt_frames: int
    new_frames: int

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.prompt_frames + self.new_frames


def plan_windows(total_frames: int, prompt_frames: int, window_frames: int, overlap_frames: int) -> list[Window]:
    """Split a take of `total_frames` codec frames (the first `prompt_frames` given as audio) into windows.

    Raises:
        ValueError: the prompt or the overlap leaves no room for new frames in a window, or the take is not
            longer than its prompt.
    """
    if prompt_frames >= window_frames or overlap_frames >= window_frames:
        raise ValueError(f"the prompt ({prompt_frames} frames) and the overlap ({overlap_frames} frames) must be "
                         f"shorter than the decoding window ({window_frames} frames)")
    if total_frames <= prompt_frames:
        raise ValueError(f"the take ({total_frames} frames) must be longer than its audio prompt "
                         f"({prompt_frames} frames)")
    windows = [Window(0, prompt_frames, min(total_frames, window_frames) - prompt_frames)]
    while windows[-1].end_frame < total_frames:
        made = windows[-1].end_frame
        prompt = min(overlap_frames, made)
        windows.append(Window(made - prompt, prompt, min(total_frames - made, window_frames - prompt)))
    return windows


def crossfade_join(head: np.ndarray, window_audio: np.ndarray, overlap: int, fade: int) -> np.ndarray:
    """Append a window's audio to `head`.

    Args:
        head: the take so far, `[..., T]` samples.
        window_audio: the new window's audio `[..., overlap + N]`; its first `overlap` samples re-synthesise the
            last `overlap` samples of `head`.
        overlap: samples the two share.
        fade: crossfade length in samples (≤ overlap), ending at the end of `head`.

    Returns:
        `[..., T + N]`: `head` up to the fade, a raised-cosine crossfade over `fade` samples, then the new audio.
    """
    fade = int(min(fade, overlap))
    if fade <= 0:
        return np.concatenate([head, window_audio[..., overlap:]], axis=-1)
    t = (np.arange(fade, dtype=np.float64) + 0.5) / fade
    fade_in = (np.sin(0.5 * np.pi * t) ** 2).astype(head.dtype)
    fade_out = 1 - fade_in
    mixed = head[..., -fade:] * fade_out + window_audio[..., overlap - fade:overlap] * fade_in
    return np.concatenate([head[..., :-fade], mixed, window_audio[..., overlap:]], axis=-1)
