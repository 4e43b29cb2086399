"""MusicGen and MusicGen-melody (Hugging Face layout) as a generator family: audio and text+audio conditioning.

`MusicGenGenerator(spec)` takes a checkpoint folder, an installed model name or a cached hub repo id;
`debug.build_debug_model(folder)` writes a tiny random checkpoint for tests and smoke runs.
"""
