"""Converts Spleeter's released TensorFlow checkpoints into a model folder (safetensors + manifest).

Architecture:
1. `open_release(path)` accepts a release folder (`checkpoint`, `model.index`, `model.data-…`) or the
   release `.tar.gz` (unpacked with tarfile's "data" filter into a scratch folder).
2. Spleeter names its variables by Keras layer type and creation order across the whole graph: per
   instrument i, convolutions `conv2d_{7i…7i+6}` (six encoder layers, then the final one), transposed
   convolutions `conv2d_transpose_{6i…6i+5}` and norms `batch_normalization_{12i…12i+11}` (six encoder,
   six decoder); the first of each type has no suffix. `state_dict` maps them onto `SpleeterNet`,
   transposing kernels from TensorFlow's `[kh, kw, in, out]` / `[kh, kw, out, in]` to torch's layout.
3. The variant (2/4/5 stems) follows from the number of U-Nets. The bandwidth (F = 1024 or 1536 bins)
   cannot be read from the weights: it comes from the caller, else from the graph saved next to them
   (`model.meta`: the recorded output shape of the first convolution is `[batch, T/2, F/2, 16]`), else
   from the release name ("…-16kHz").
"""

from __future__ import annotations

import re
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from musicsim_gui.core.errors import ModelError
from musicsim_gui.separation.spleeter.config import SpleeterConfig, preset
from musicsim_gui.separation.spleeter.tfbundle import CheckpointReader, proto_fields, signed64

ENCODER_LAYERS = 6
_CONV = re.compile(r"^conv2d(?:_(\d+))?/kernel$")


def layer_name(kind: str, index: int) -> str:
    """Keras' automatic name for the `index`-th layer of `kind` ("conv2d", "conv2d_transpose", …)."""
    return kind if index == 0 else f"{kind}_{index}"


def _prefix_in(folder: Path) -> Path:
    pointer = folder / "checkpoint"
    if pointer.is_file():
        match = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', pointer.read_text(errors="replace"), re.M)
        if match and (folder / (Path(match.group(1)).name + ".index")).is_file():
            return folder / Path(match.group(1)).name
    indexes = sorted(folder.rglob("*.index"))
    if len(indexes) != 1:
        raise ModelError(f"{folder}: expected one TensorFlow checkpoint (*.index), found {len(indexes)}")
    return indexes[0].with_suffix("")


def open_release(path: str | Path, scratch: Path | None = None) -> tuple[CheckpointReader, str]:
    """A reader for the checkpoint in a release folder or `.tar.gz`, and the release name (e.g. "5stems")."""
    path = Path(path)
    name = path.name.removesuffix(".tar.gz").removesuffix(".tgz")
    if path.is_file():
        if scratch is None:
            raise ModelError(f"{path}: an archive needs a scratch folder to unpack into")
        try:
            with tarfile.open(path, "r:*") as archive:
                archive.extractall(scratch, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise ModelError(f"{path}: not a readable Spleeter release archive ({error})") from error
        folder = scratch
    elif path.is_dir():
        folder = path
    else:
        raise ModelError(f"{path}: no such checkpoint folder or archive")
    return CheckpointReader(_prefix_in(folder)), name


def _shape_dims(attr_value: bytes) -> list[list[int]]:
    """Dimensions of each shape in an `_output_shapes` AttrValue (list → shape → dim → size)."""
    shapes = proto_fields(attr_value).get(1, [b""])[0]
    out = []
    for shape in proto_fields(shapes).get(7, []):  # type: ignore[arg-type]
        dims = proto_fields(shape).get(2, [])  # type: ignore[arg-type]
        out.append([signed64(int(proto_fields(d).get(1, [0])[0])) for d in dims])  # type: ignore[arg-type]
    return out


def meta_bins(prefix: Path) -> int | None:
    """F recorded in the graph file `PREFIX.meta` (from the first convolution's output shape), if any."""
    path = prefix.with_name(prefix.name + ".meta")
    if not path.is_file():
        return None
    try:
        graph = proto_fields(path.read_bytes()).get(2, [b""])[0]
        for node in proto_fields(graph).get(1, []):  # type: ignore[arg-type]
            if b"conv2d/Conv2D" not in node:
                continue
            fields = proto_fields(node)  # type: ignore[arg-type]
            if fields.get(1, [b""])[0] != b"conv2d/Conv2D":
                continue
            for entry in fields.get(5, []):
                attr = proto_fields(entry)  # type: ignore[arg-type]
                if attr.get(1, [b""])[0] == b"_output_shapes":
                    dims = _shape_dims(attr[2][0])  # type: ignore[arg-type]
                    return 2 * dims[0][2] if dims and len(dims[0]) == 4 and dims[0][2] > 0 else None
    except (ValueError, IndexError, KeyError):
        return None
    return None


def infer_config(reader: CheckpointReader, release: str = "", sixteen_khz: bool | None = None,
                 **overrides: object) -> SpleeterConfig:
    """The variant stored in `reader`: stems from the number of U-Nets, bandwidth from `release` or the flag."""
    convs = [n for n in reader.entries if _CONV.match(n)]
    if not convs or len(convs) % (ENCODER_LAYERS + 1):
        raise ModelError(f"{reader.prefix}: not a Spleeter U-Net checkpoint "
                         f"({len(convs)} convolution kernels, expected 7 per instrument)")
    if sixteen_khz is None:
        bins = meta_bins(reader.prefix)
        sixteen_khz = bins == 1536 if bins is not None else "16khz" in release.lower()
    config = preset(len(convs) // (ENCODER_LAYERS + 1), sixteen_khz)
    filters = tuple(int(reader.entries[layer_name("conv2d", i) + "/kernel"].shape[-1]) for i in range(ENCODER_LAYERS))
    return replace(config, filters=filters, **overrides)  # type: ignore[arg-type]


def _norm(reader: CheckpointReader, index: int, target: str, out: dict[str, np.ndarray]) -> None:
    base = layer_name("batch_normalization", index)
    for tf_name, torch_name in (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
                                ("moving_variance", "running_var")):
        out[f"{target}.{torch_name}"] = reader.read_tensor(f"{base}/{tf_name}").astype(np.float32)
    out[f"{target}.num_batches_tracked"] = np.zeros((), dtype=np.int64)


def _conv(reader: CheckpointReader, kind: str, index: int, target: str, out: dict[str, np.ndarray]) -> None:
    base = layer_name(kind, index)
    kernel = reader.read_tensor(f"{base}/kernel").astype(np.float32)
    out[f"{target}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
    out[f"{target}.bias"] = reader.read_tensor(f"{base}/bias").astype(np.float32)


def state_dict(reader: CheckpointReader, config: SpleeterConfig) -> dict[str, np.ndarray]:
    """`SpleeterNet` parameters (NumPy, torch layout) from Spleeter's variables; ModelError if any is missing."""
    out: dict[str, np.ndarray] = {}
    layers = ENCODER_LAYERS
    try:
        for i in range(len(config.instruments)):
            unet = f"unets.{i}"
            for j in range(layers):
                _conv(reader, "conv2d", i * (layers + 1) + j, f"{unet}.encoder.{j}", out)
                _conv(reader, "conv2d_transpose", i * layers + j, f"{unet}.decoder.{j}", out)
                _norm(reader, i * 2 * layers + j, f"{unet}.encoder_norm.{j}", out)
                _norm(reader, i * 2 * layers + layers + j, f"{unet}.decoder_norm.{j}", out)
            _conv(reader, "conv2d", i * (layers + 1) + layers, f"{unet}.final", out)
    except KeyError as error:
        raise ModelError(f"{reader.prefix}: the checkpoint lacks variable {error.args[0]!r}") from error
    return out


def convert_release(path: str | Path, sixteen_khz: bool | None = None,
                    **overrides: object) -> tuple[SpleeterConfig, dict[str, np.ndarray], str]:
    """Read a release folder or archive → (config, torch-layout tensors, release name)."""
    with tempfile.TemporaryDirectory(prefix="spleeter-") as scratch:
        reader, release = open_release(path, Path(scratch))
        config = infer_config(reader, release, sixteen_khz, **overrides)
        return config, state_dict(reader, config), release
