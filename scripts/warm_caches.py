"""Compile librosa's numba kernels once at set-up, so the first spectrogram later takes seconds, not ~30 s."""

import numpy as np


def main() -> None:
    import librosa

    signal = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    librosa.feature.melspectrogram(y=signal, sr=22050, n_fft=2048, hop_length=512, n_mels=64)
    librosa.resample(signal, orig_sr=22050, target_sr=16000, res_type="soxr_hq")


if __name__ == "__main__":
    main()
