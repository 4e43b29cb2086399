"""Export a trained separator to a model folder: ONNX graph, safetensors weights, manifest and model card.

The ONNX graph is the network only (magnitude `[B, F, T]`, and `partner` alike for a stereo-cue network →
masks `[B, S, F, T]`, batch and frames dynamic; a song-context network is exported song-wide, → band logits
`[B, S, K, T]` and song offsets `[B, S, K]`, so the separator can give every chunk the whole song's context,
`masknet.py` item 9); its `metadata_props` repeat the manifest's identity and STFT settings. `onnx_parity`
runs the exported file and the torch module on the same input and returns the max abs difference of the
outputs. `reexport_folder` writes a model folder's network again in the current graph form, keeping the rest.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.core.atomic import atomic_path, atomic_write_text
from musicsim_gui.runtime.manifest import Manifest, file_sha256, write_manifest
from musicsim_gui.runtime.onnx_files import finish_onnx_file
from musicsim_gui.separation.builtin import CHUNK_SECONDS, ONNX_FILE, SONG_WIDE_OUTPUTS, WEIGHTS_FILE
from musicsim_gui.separation.masknet_config import FAMILY, MaskNetConfig, band_index, input_names
from musicsim_gui.training.separation.checkpoint import save_weights
from musicsim_gui.training.separation.metrics import read_rows
from musicsim_gui.training.separation.model_card import loss_schedule, merge_losses, model_card

LICENSE = "MIT (weights trained by the project on its own synthetic corpus)"


def graph_outputs(config: MaskNetConfig, song_wide: bool) -> dict[str, dict[str, Any]]:
    """The manifest's `outputs` of the graph of a network with `config`, song-wide or not."""
    stems, bands = len(config.stems), int(band_index(config).max()) + 1
    if song_wide:
        return {SONG_WIDE_OUTPUTS[0]: {"shape": ["batch", stems, bands, "frames"], "dtype": "float32"},
                SONG_WIDE_OUTPUTS[1]: {"shape": ["batch", stems, bands], "dtype": "float32"}}
    return {"masks": {"shape": ["batch", stems, config.bins, "frames"], "dtype": "float32"}}


def export_onnx(model: Any, config: MaskNetConfig, path: Path, metadata: dict[str, str],
                output_names: tuple[str, ...] = ("masks",)) -> Path:
    """Write `model` as ONNX (opset 18, torch.export exporter) to `path` atomically, plus `metadata` props."""
    import logging

    import torch

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # optional-operator notices, not problems
    model = model.eval()
    names = input_names(config)
    examples = tuple(torch.rand(2, config.bins, 64) for _ in names)
    batch, frames = torch.export.Dim("batch", min=1, max=256), torch.export.Dim("frames", min=16, max=1 << 20)
    dynamic = {name: {0: batch, 2: frames} for name in names}
    with atomic_path(path) as tmp:
        torch.onnx.export(model, examples, str(tmp), input_names=list(names), output_names=list(output_names),
                          dynamic_shapes=dynamic, opset_version=18, dynamo=True, external_data=False,
                          verbose=False)
        finish_onnx_file(tmp, metadata)
    return path


def onnx_parity(model: Any, onnx_path: Path, config: MaskNetConfig, frames: int = 300, seed: int = 0) -> float:
    """Max abs difference between ONNX Runtime and torch outputs (masks, or a song-wide graph's band logits
    and song offsets) on a random magnitude `[2, F, frames]`."""
    import onnxruntime as ort
    import torch

    rng = np.random.default_rng(seed)
    inputs = {name: (rng.random((2, config.bins, frames)) ** 4 * 10).astype(np.float32) for name in input_names(config)}
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ours = session.run(None, inputs)
    with torch.inference_mode():
        reference = model.eval()(*(torch.from_numpy(a) for a in inputs.values()))
    reference = reference if isinstance(reference, tuple) else (reference,)
    return max(float(np.abs(a - b.numpy()).max()) for a, b in zip(ours, reference, strict=True))


def export_model(model: Any, config: MaskNetConfig, out_dir: str | Path, *, name: str = "separation-builtin",
                 version: str = "1.0", metrics: dict[str, Any] | None = None, provenance: str = "",
                 training: dict[str, Any] | None = None, mask_power: float = 1.0,
                 wiener: bool = True, torch_weights: bool = True, history: list[dict[str, str]] | None = None,
                 chunk_seconds: float = CHUNK_SECONDS, extra_config: dict[str, Any] | None = None) -> Manifest:
    """Write `model.onnx`, `weights.safetensors` (unless not `torch_weights`: the torch backend then reads the
    weights back from the graph), `manifest.json` and `MODEL_CARD.md` into `out_dir`. `mask_power` and
    `wiener` are the post-filters the separator applies and `chunk_seconds` how much of a song it separates at
    once (see `separation.builtin`); `history` is the list of version notes (`{"version", "text"}`, oldest
    first) the card shows and later exports carry on; `extra_config` (e.g. stem priors) joins the manifest's
    config. A song-context network is exported song-wide (module docstring)."""
    from musicsim_gui.separation.masknet import build_masknet

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    identity = {"family": FAMILY, "name": name, "version": version, "sample_rate": config.sample_rate,
                "n_fft": config.n_fft, "hop": config.hop, "stems": ",".join(config.stems)}
    if config.song_context:  # the same parameters in the song-wide form
        song_wide_model = build_masknet(config, song_wide=True)
        song_wide_model.load_state_dict(model.state_dict())
        model = song_wide_model
    outputs = graph_outputs(config, config.song_context)
    export_onnx(model, config, out_dir / ONNX_FILE, identity, tuple(outputs))
    files = [ONNX_FILE]
    if torch_weights:
        save_weights(out_dir / WEIGHTS_FILE, model, {k: str(v) for k, v in identity.items()})
        files.append(WEIGHTS_FILE)
    elif (out_dir / WEIGHTS_FILE).exists():
        (out_dir / WEIGHTS_FILE).unlink()  # weights of an earlier version must not sit beside the new graph
    metrics = dict(metrics or {})
    metrics["onnx_parity_max_abs"] = onnx_parity(model, out_dir / ONNX_FILE, config)
    params = sum(p.numel() for p in model.parameters())
    manifest = Manifest(
        family=FAMILY, task="separation", name=name, version=version, sample_rate=config.sample_rate,
        channels=1, instruments=config.stems,
        inputs={name: {"shape": ["batch", config.bins, "frames"], "dtype": "float32"} for name in input_names(config)},
        outputs=outputs,
        files={f: file_sha256(out_dir / f) for f in files},
        license=LICENSE,
        provenance=provenance or f"exported {datetime.date.today().isoformat()} by musicsim train separator",
        metrics=metrics, config=dict(config.to_dict(), parameters=params, training=training or {}, mask_power=mask_power,
                    wiener=wiener, chunk_seconds=float(chunk_seconds), **(extra_config or {}),
                    **({"history": list(history)} if history else {})))
    write_manifest(out_dir, manifest)
    atomic_write_text(out_dir / "MODEL_CARD.md", model_card(manifest))
    return manifest


def export_run(run_dir: str | Path, out_dir: str | Path, *, weights: str = "best.safetensors",
               metrics: dict[str, Any] | None = None, version: str = "1.0", mask_power: float = 1.0,
               wiener: bool = True, torch_weights: bool = True, note: str | None = None,
               chunk_seconds: float = CHUNK_SECONDS) -> Manifest:
    """Export the best (or named) weights of a training run folder into a model folder.

    The version notes (`history`) of the model folder the run started from (`init_from`) are carried on, and
    `note`, when given, is added as this version's."""
    import json

    from musicsim_gui.core.errors import ModelError
    from musicsim_gui.separation.builtin import load_torch_masknet

    run_dir = Path(run_dir)
    try:
        settings = json.loads((run_dir / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ModelError(f"{run_dir / 'config.json'}: not a training run folder ({error})") from error
    config = MaskNetConfig.from_dict(settings["model"])
    model = load_torch_masknet(run_dir / weights, config)
    rows = read_rows(run_dir)
    run_steps = _weights_step(run_dir / weights) or _run_steps(run_dir, rows)
    train_songs = _train_songs(rows, run_steps, Path(settings["corpus"]))
    parent = _parent_config(settings.get("init_from"))
    training = {"corpus": _corpus_text(train_songs, parent.get("training", {})),
                "train_songs": train_songs,
                "batch": settings["batch"],
                "segment_seconds": settings.get("segment_seconds", 3.0),
                "remix": settings.get("augmentation", {}).get("remix", 0.5),
                "augmentation": settings.get("augmentation", {}),
                "train_added_only": bool(settings.get("train_added_only", False)),
                "prior_steps": settings.get("prior_steps", 0),
                "loss": settings.get("loss", "l1"),
                "average_decay": settings.get("average_decay", 0.0),
                "precision": settings.get("precision", "fp32"),
                "steps": settings.get("prior_steps", 0) + run_steps}
    earlier_losses = loss_schedule(parent.get("training", {})) if parent else []
    training["losses"] = merge_losses(earlier_losses + [{"loss": training["loss"], "steps": run_steps}])
    history = list(parent.get("history") or []) + ([{"version": version, "text": note}] if note else [])
    return export_model(model, config, out_dir, version=version, metrics=metrics, training=training,
                        mask_power=mask_power, wiener=wiener, torch_weights=torch_weights, history=history,
                        chunk_seconds=chunk_seconds,
                        provenance=f"trained by `musicsim train separator` (run {run_dir.name})")


def _weights_step(path: Path) -> int:
    """The training step a weights file was saved at (`best.safetensors` records it); 0 when it says none."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return int((handle.metadata() or {}).get("step", 0))
    except (OSError, ValueError):
        return 0


def _train_songs(rows: list[dict[str, float]], step: int, corpus: Path) -> int:
    """How many train songs the run had drawn from by `step` (its metrics log them, and the sampler picks up
    songs added to the corpus while it trains); the corpus's present count for a run without that column."""
    seen = [row["train_songs"] for row in rows if "train_songs" in row and row["step"] <= step]
    if seen:
        return int(max(seen))
    return sum(1 for _ in (corpus / "train").glob("*/mix.flac")) if (corpus / "train").is_dir() else 0


def _corpus_text(train_songs: int, parent_training: dict[str, Any]) -> str:
    """The card's description of the training data: the run's train songs and, for a run that started from a
    model folder, how many songs that model's last run had (its `train_songs`, or for a folder exported before
    that field existed, the count its description names), since the weights carry what they learnt there. Only
    the last run is named, and the sentence says so: earlier runs are in the model's version history."""
    import re

    text = "the project's synthetic multi-stem corpus"
    if not train_songs:
        return text
    earlier = parent_training.get("train_songs")
    if not earlier:
        named = re.search(r"\((\d+) train songs", parent_training.get("corpus", ""))
        earlier = int(named[1]) if named else 0
    if earlier:
        return f"{text} ({train_songs} train songs; the last run of the weights it started from had {earlier})"
    return f"{text} ({train_songs} train songs)"


def _run_steps(run_dir: Path, rows: list[dict[str, float]]) -> int:
    """Steps the run trained: its checkpoint's count, or else the last validated step of its metrics."""
    from musicsim_gui.training.separation.checkpoint import CHECKPOINT, checkpoint_state

    if (run_dir / CHECKPOINT).exists():
        return int(checkpoint_state(run_dir).get("step", 0))
    return int(rows[-1]["step"]) if rows else 0


def _parent_config(init_from: str | None) -> dict[str, Any]:
    """The manifest config of the model folder a run started from (its version notes, its training); empty for
    a weights file or a fresh run."""
    if not init_from or not (Path(init_from) / "manifest.json").is_file():
        return {}
    from musicsim_gui.runtime.manifest import load_manifest

    return dict(load_manifest(Path(init_from)).config)


def reexport_folder(model_dir: str | Path, out_dir: str | Path | None = None, *, version: str | None = None,
                    note: str | None = None) -> Manifest:
    """Write the network of the built-in separator folder `model_dir` again, in the graph form `export_model`
    writes now (song-wide for a song-context network), into `out_dir` (default: in place). The weights (from
    `weights.safetensors`, or read back from the graph), post-filters, stem priors, training record and history
    stay; with `version`, it becomes that version and `note` joins its history. Test figures are dropped (the
    stems of songs longer than a chunk change: re-run `musicsim eval separation --record`)."""
    from musicsim_gui.core.errors import ModelError
    from musicsim_gui.runtime.manifest import load_manifest
    from musicsim_gui.separation.builtin import folder_network

    model_dir = Path(model_dir)
    manifest = load_manifest(model_dir, verify=True)
    if manifest.family != FAMILY:
        raise ModelError(f"{model_dir}: a {manifest.family!r} model, not a built-in separator")
    config = MaskNetConfig.from_dict(manifest.config)
    model = folder_network(model_dir, manifest)
    stored = dict(manifest.config)
    written = set(config.to_dict()) | {"parameters", "training", "mask_power", "wiener", "chunk_seconds", "history"}
    history = list(stored.get("history") or []) + ([{"version": version, "text": note}] if note and version else [])
    metrics = {k: v for k, v in manifest.metrics.items() if not k.startswith("test_") and k != "onnx_parity_max_abs"}
    return export_model(model, config, out_dir or model_dir, name=manifest.name, version=version or manifest.version,
                        metrics=metrics, provenance=manifest.provenance, training=stored.get("training"),
                        mask_power=float(stored.get("mask_power", 1.0)), wiener=bool(stored.get("wiener", True)),
                        torch_weights=WEIGHTS_FILE in manifest.files, history=history,
                        chunk_seconds=float(stored.get("chunk_seconds", CHUNK_SECONDS)),
                        extra_config={k: v for k, v in stored.items() if k not in written})
