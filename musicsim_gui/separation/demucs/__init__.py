"""Demucs' published separators (htdemucs, htdemucs_ft, htdemucs_6s, …) run from their checkpoint files.

The network code is the `demucs` package's own (an optional dependency); this package loads checkpoints
safely (`checkpoint`), installs them as model folders (`install`) and runs them behind the `Separator`
interface with Demucs' chunking, overlap and shifts (`separator`).
"""
