"""Audio data and offline DSP in NumPy: AudioClip, file I/O, resampling, STFT/mel, waveform peaks, offline mixing and export."""
