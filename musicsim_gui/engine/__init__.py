"""Real-time playback: the sounddevice stream, its allocation-free callback, mix snapshots, transport and meters."""
