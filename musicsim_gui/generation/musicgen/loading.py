"""Finding and loading MusicGen checkpoints in the Hugging Face layout, offline.

A checkpoint is a folder with `config.json` (model_type `musicgen` or `musicgen_melody`), safetensors (or
`pytorch_model.bin`, read with `weights_only`) weights and a tokenizer (`tokenizer.json` or `spiece.model`).
`resolve_model_folder` accepts a folder, an installed model name, or a hub repo id already in the standard
Hugging Face cache (`HF_HOME` / `HF_HUB_CACHE`); nothing is ever downloaded here (`musicsim models pull` does
that). Every problem becomes a `ModelError` naming the folder and what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musicsim_gui.core.errors import ModelError
from musicsim_gui.runtime.hf_models import read_config_json

KINDS = {"musicgen": "MusicgenForConditionalGeneration", "musicgen_melody": "MusicgenMelodyForConditionalGeneration"}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "spiece.model")
MUSICGEN_LICENSE = "CC-BY-NC-4.0"
"""The license of Meta's released MusicGen weights (non-commercial use)."""


@dataclass
class MusicGenModel:
    """A loaded checkpoint and what generation needs to know about it.

    Attributes:
        model: the transformers model (eval mode) on `device`.
        tokenizer: its text tokenizer.
        folder: where it was loaded from.
        kind: "musicgen" or "musicgen_melody".
        sample_rate: codec rate in Hz; frame_rate: codec frames per second; hop: samples per frame.
        codebooks: decoder codebook rows per sample (doubled for stereo); channels: 1 or 2.
        max_frames: the longest decoding window in codec frames.
        chroma: (sample_rate, n_fft, hop_length, num_chroma) of the melody features, or None.
        version: a short content id of the configuration.
        runner: the decoder step on ONNX Runtime (`onnx_decoder.OnnxDecoderStep`) when decoding through ONNX.
    """

    model: Any
    tokenizer: Any
    folder: Path
    kind: str
    sample_rate: int
    frame_rate: int
    hop: int
    codebooks: int
    channels: int
    max_frames: int
    chroma: tuple[int, int, int, int] | None
    version: str
    device: str
    runner: Any = None

    @property
    def is_melody(self) -> bool:
        return self.kind == "musicgen_melody"

    def unload(self) -> None:
        """Drop the weights (and free cached GPU memory)."""
        import torch

        self.model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _hub_cached(repo_id: str) -> Path | None:
    """The local snapshot folder of `repo_id` in the Hugging Face cache, or None if it is not cached."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return None
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, ValueError, OSError):
        return None


def resolve_model_folder(spec: str | Path) -> Path:
    """The checkpoint folder for `spec`: a folder path, an installed model name, or a cached hub repo id."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    text = str(spec)
    from musicsim_gui.runtime.registry import ModelRegistry

    for entry in ModelRegistry().list(task="generation"):
        if entry.name == text and entry.manifest.family == "musicgen":
            return entry.path
    if text.count("/") == 1 and not text.startswith((".", "/", "~")):
        cached = _hub_cached(text)
        if cached is not None:
            return cached
        raise ModelError(f"{text}: not in the local Hugging Face cache; download it with "
                         f"`musicsim models pull {text}` (needs a connection) or pass a model folder")
    raise ModelError(f"{text}: no such MusicGen model folder, installed model or cached hub repo")


def display_name(folder: Path) -> str:
    """A checkpoint's name: `owner/name` for a Hugging Face cache snapshot, else the folder's name."""
    repo = folder.parent.parent.name
    if folder.parent.name == "snapshots" and repo.startswith("models--"):
        return repo.removeprefix("models--").replace("--", "/")
    return folder.name


def read_config(folder: Path) -> dict:
    """`config.json` of a checkpoint folder, checked to be a MusicGen model with weights and a tokenizer."""
    config = read_config_json(folder, "MusicGen model")
    if not isinstance(config, dict) or config.get("model_type") not in KINDS:
        kind = config.get("model_type") if isinstance(config, dict) else None
        raise ModelError(f"{folder}: model_type {kind!r} is not musicgen or musicgen_melody")
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        raise ModelError(f"{folder}: no weights ({' or '.join(WEIGHT_FILES[::2])})")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelError(f"{folder}: no tokenizer ({' or '.join(TOKENIZER_FILES)})")
    return config


def _chroma_settings(folder: Path, sample_rate: int, num_chroma: int) -> tuple[int, int, int, int]:
    """(sample_rate, n_fft, hop_length, num_chroma) from `preprocessor_config.json`, else the released defaults."""
    try:
        values = json.loads((folder / "preprocessor_config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        values = {}
    return (int(values.get("sampling_rate", sample_rate)), int(values.get("n_fft", 16384)),
            int(values.get("hop_length", 4096)), int(values.get("num_chroma", num_chroma)))


def model_version(folder: Path, config: dict) -> str:
    """The checkpoint's version: its manifest's when installed, else `<model_type>-<sha256(config.json)[:10]>`."""
    from musicsim_gui.runtime.manifest import MANIFEST_FILE, file_sha256, load_manifest

    if (folder / MANIFEST_FILE).is_file():
        return load_manifest(folder, verify=False).version
    return f"{config['model_type']}-{file_sha256(folder / 'config.json')[:10]}"


def pick_device(device: str = "auto") -> str:
    """"cuda" when asked for (or "auto" and available), else "cpu"."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError("CUDA was requested but no CUDA device is available")
    return device


def _quiet_transformers():
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def load_musicgen(spec: str | Path, device: str = "auto") -> MusicGenModel:
    """Load a MusicGen or MusicGen-melody checkpoint offline (`spec` as in `resolve_model_folder`).

    Weights stay float32 (on the CPU and on CUDA); `device` is "auto", "cpu" or "cuda[:N]".
    """
    folder = resolve_model_folder(spec)
    config = read_config(folder)
    device = pick_device(device)
    import torch
    import transformers

    _quiet_transformers()
    model_class = getattr(transformers, KINDS[config["model_type"]])
    try:
        model = model_class.from_pretrained(folder, local_files_only=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except Exception as error:  # transformers raises OSError, ValueError, RuntimeError, safetensors errors...
        raise ModelError(f"{folder}: cannot load the MusicGen checkpoint ({type(error).__name__}: {error})") from error
    model.to(torch.device(device)).eval()
    return describe_model(model, tokenizer, folder, device, model_version(folder, config))


def describe_model(model, tokenizer, folder: Path, device: str, version: str) -> MusicGenModel:
    """Wrap an in-memory MusicGen model: codec rate, frames, codebooks, window limit and melody settings.

    `folder` is only read for `preprocessor_config.json` (melody chroma settings; defaults if absent).
    """
    kind = model.config.model_type
    codec = model.config.audio_encoder
    decoder = model.config.decoder
    hop = int(codec.hop_length)
    delay = int(decoder.num_codebooks) // int(decoder.audio_channels) - 1
    limit = int(getattr(model.generation_config, "max_length", None) or decoder.max_position_embeddings)
    max_frames = min(int(decoder.max_position_embeddings), limit) - 1 - delay
    chroma = None
    if kind == "musicgen_melody":
        chroma = _chroma_settings(folder, int(codec.sampling_rate), int(model.config.num_chroma))
    return MusicGenModel(model=model, tokenizer=tokenizer, folder=Path(folder), kind=kind,
                         sample_rate=int(codec.sampling_rate), frame_rate=int(codec.frame_rate), hop=hop,
                         codebooks=int(decoder.num_codebooks), channels=int(decoder.audio_channels),
                         max_frames=max_frames, chroma=chroma, version=version,
                         device=device)
