"""VGGish audio embeddings (Hershey et al. 2017), the embedding behind published FAD numbers.

Architecture:
1. Front end in NumPy, as the released model expects it: mono 16 kHz audio, 25 ms periodic-Hann frames with
   a 10 ms hop (no centring, 512-point FFT, magnitude), 64 mel bands from 125 to 7500 Hz on the HTK mel
   scale (triangles in mel space, DC bin zeroed), `log(mel + 0.01)`, cut into non-overlapping examples of
   96 frames (0.96 s): `[examples, 96, 64]`.
2. The network in torch: four VGG blocks (64, 128, 256+256, 512+512 channels of 3x3 convolutions, each
   block ending in 2x2 max pooling), then three fully connected layers 12288 -> 4096 -> 4096 -> 128. The
   convolution output is flattened in height-width-channel order, as the original TensorFlow graph did,
   so released weights give the released embeddings.
3. Optional PCA/whitening post-processing with the released `pca_eigen_vectors` and `pca_means` (without
   the 8-bit quantisation, which only served storage).
4. Weights are never downloaded: `load_vggish(weights, pca=None)` reads a local state dict in the layout of
   the widely used PyTorch port (`features.N.*`, `embeddings.N.*`) from a `.pth` file (through
   `torch.load(weights_only=True)`) or a `.safetensors` file, and PCA parameters from `.npz` or `.pth`.
   A missing or mismatched file is a ModelError naming it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import ModelError

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 400
HOP_SAMPLES = 160
FFT_SIZE = 512
MEL_BANDS = 64
MEL_LOW_HZ = 125.0
MEL_HIGH_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96
EMBEDDING_SIZE = 128
_VGG_PLAN = (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool")


def htk_mel(hz: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


@lru_cache(maxsize=4)
def vggish_mel_matrix(bins: int = FFT_SIZE // 2 + 1) -> np.ndarray:
    """Mel weights `[bins, 64]`: triangles evenly spaced on the HTK mel scale, unnormalised, DC bin zeroed."""
    bin_mels = htk_mel(np.linspace(0.0, SAMPLE_RATE / 2.0, bins))
    edges = np.linspace(htk_mel(MEL_LOW_HZ), htk_mel(MEL_HIGH_HZ), MEL_BANDS + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mels[:, None] - lower) / (centre - lower)
    falling = (upper - bin_mels[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def log_mel_examples(clip: AudioClip) -> np.ndarray:
    """VGGish input examples `[examples, 96, 64]` (float32) from any clip; empty when shorter than 0.96 s."""
    from musicsim_gui.audio.dsp import resample, to_mono

    mono = resample(to_mono(clip), SAMPLE_RATE).samples[0].astype(np.float64)
    frame_count = 1 + (mono.shape[0] - WINDOW_SAMPLES) // HOP_SAMPLES if mono.shape[0] >= WINDOW_SAMPLES else 0
    if frame_count < EXAMPLE_FRAMES:
        return np.zeros((0, EXAMPLE_FRAMES, MEL_BANDS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(mono, WINDOW_SAMPLES)[::HOP_SAMPLES][:frame_count]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(WINDOW_SAMPLES) / WINDOW_SAMPLES)
    magnitude = np.abs(np.fft.rfft(frames * window, n=FFT_SIZE))
    log_mel = np.log(magnitude @ vggish_mel_matrix() + LOG_OFFSET)
    examples = log_mel.shape[0] // EXAMPLE_FRAMES
    return log_mel[:examples * EXAMPLE_FRAMES].reshape(examples, EXAMPLE_FRAMES, MEL_BANDS).astype(np.float32)


def build_vggish():
    """The VGGish network (random weights) as a torch module: `[B, 1, 96, 64]` -> `[B, 128]`."""
    import torch
    from torch import nn

    class VGGish(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            channels = 1
            for step in _VGG_PLAN:
                if step == "pool":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(channels, int(step), 3, padding=1), nn.ReLU(inplace=True)]
                    channels = int(step)
            self.features = nn.Sequential(*layers)
            self.embeddings = nn.Sequential(nn.Linear(512 * 6 * 4, 4096), nn.ReLU(True), nn.Linear(4096, 4096),
                                            nn.ReLU(True), nn.Linear(4096, EMBEDDING_SIZE), nn.ReLU(True))

        def forward(self, examples: torch.Tensor) -> torch.Tensor:
            features = self.features(examples)                    # [B, 512, 6, 4]
            flat = features.permute(0, 2, 3, 1).reshape(features.shape[0], -1)  # height, width, channel order
            return self.embeddings(flat)

    return VGGish().eval()


def _read_tensors(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ModelError(f"{path}: VGGish file not found (download the released weights and give their path)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.numpy import load_file

            return dict(load_file(str(path)))
        if path.suffix == ".npz":
            with np.load(path) as archive:
                return {key: archive[key] for key in archive.files}
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
        return {key: np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
                for key, value in state.items()}
    except ModelError:
        raise
    except Exception as error:  # noqa: BLE001 - any parse failure of a user-supplied file is reported as such
        raise ModelError(f"{path}: not a readable VGGish weights file ({error})") from None


class VGGishEmbedder:
    """Embeds clips into 128-d VGGish vectors (one per 0.96 s example), optionally PCA-whitened."""

    name = "vggish"

    def __init__(self, module, pca: tuple[np.ndarray, np.ndarray] | None = None, device: str = "cpu") -> None:
        self.module = module.to(device)
        self.device = device
        self.pca = pca

    def embed_examples(self, examples: np.ndarray, batch: int = 64) -> np.ndarray:
        """`[N, 96, 64]` log-mel examples -> `[N, 128]` float32 embeddings."""
        import torch

        outputs = []
        with torch.inference_mode():
            for start in range(0, examples.shape[0], batch):
                chunk = torch.from_numpy(np.ascontiguousarray(examples[start:start + batch]))[:, None].to(self.device)
                outputs.append(self.module(chunk).float().cpu().numpy())
        embedded = np.concatenate(outputs) if outputs else np.zeros((0, EMBEDDING_SIZE), np.float32)
        if self.pca is not None:
            vectors, means = self.pca
            embedded = ((embedded - means[None, :]) @ vectors.T).astype(np.float32)
        return embedded

    def embed(self, clip: AudioClip) -> np.ndarray:
        """`[examples, 128]` embeddings of a clip (0.96 s each)."""
        return self.embed_examples(log_mel_examples(clip))


def load_vggish(weights: str | os.PathLike[str], pca: str | os.PathLike[str] | None = None,
                device: str = "cpu") -> VGGishEmbedder:
    """Load released VGGish weights (and optionally PCA parameters) from local files."""
    import torch

    path = Path(weights)
    tensors = _read_tensors(path)
    module = build_vggish()
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    wrong = sorted(k for k in expected if k in tensors and tuple(tensors[k].shape) != tuple(expected[k].shape))
    if missing or wrong:
        detail = f"missing {missing[:3]}" if missing else f"wrong shapes for {wrong[:3]}"
        raise ModelError(f"{path}: not VGGish weights ({detail})")
    module.load_state_dict({k: torch.from_numpy(np.array(tensors[k], dtype=np.float32)) for k in expected})
    pca_params = None
    if pca is not None:
        params = _read_tensors(Path(pca))
        try:
            vectors = np.asarray(params["pca_eigen_vectors"], dtype=np.float32)
            means = np.asarray(params["pca_means"], dtype=np.float32).reshape(-1)
        except KeyError:
            raise ModelError(f"{pca}: PCA file lacks pca_eigen_vectors/pca_means") from None
        if vectors.shape != (EMBEDDING_SIZE, EMBEDDING_SIZE) or means.shape != (EMBEDDING_SIZE,):
            raise ModelError(f"{pca}: PCA parameters have the wrong shapes {vectors.shape}, {means.shape}")
        pca_params = (vectors, means)
    return VGGishEmbedder(module, pca_params, device)
