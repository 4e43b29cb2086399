"""The MusicGen decoder as one ONNX graph with an explicit key/value cache, and its ONNX Runtime runner.

Architecture:
1. `DecoderStep` re-expresses the transformers decoder (same weights, shared, not copied) with the cache as
   plain tensors, so the exported graph is a pure function:
   `(input_ids [N, K, Q], past [L, 2, N, H, P, Dh], cross [L, 2, N, H, S, Dh], cross_bias [N, 1, 1, S])
   -> (logits [N, K, Q, V], present [L, 2, N, H, P + Q, Dh])`.
   N rows (takes, doubled for guidance), K codebooks, Q new positions (Q > 1 = prefill), P cached positions,
   L layers, H heads; `cross_bias` is 0 where the condition is visible and -1e9 where it is masked.
2. `cross_cache` computes the cross-attention keys/values once per window from the text (and chroma) states;
   they do not change while decoding, so they stay outside the step graph.
3. `export_decoder_step` writes the graph (opset 17, dynamic N/Q/P/S) with ONNX metadata naming the model;
   `OnnxDecoderStep` runs it through `runtime.backend.OnnxBackend`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

OPSET = 17
MASKED = -1.0e9
INPUTS = ("input_ids", "past", "cross", "cross_bias")
OUTPUTS = ("logits", "present")


def _decoder_parts(model):
    """(decoder stack, lm heads) of a MusicGen or MusicGen-melody conditional-generation model."""
    causal_lm = model.decoder
    return causal_lm.model.decoder, causal_lm.lm_heads


def _step_module():
    import torch

    class DecoderStep(torch.nn.Module):
        """One decoder call with the cache as tensors (see the module doc); shares `model`'s weights."""

        def __init__(self, model) -> None:
            super().__init__()
            decoder, heads = _decoder_parts(model)
            self.embed = decoder.embed_tokens
            self.register_buffer("table", decoder.embed_positions.weights.detach().clone(), persistent=False)
            self.layers = decoder.layers
            self.norm = decoder.layer_norm
            self.heads = heads
            self.scale = float(decoder.embed_scale)
            self.num_heads = decoder.config.num_attention_heads

        def _split(self, x: torch.Tensor) -> torch.Tensor:
            """[N, T, D] -> [N, H, T, Dh]."""
            return x.reshape(x.shape[0], x.shape[1], self.num_heads, -1).transpose(1, 2)

        def _attend(self, attn, q_in, keys, values, bias) -> torch.Tensor:
            q = self._split(attn.q_proj(q_in)) * attn.scaling
            weights = torch.softmax(q @ keys.transpose(-1, -2) + bias, dim=-1)
            out = (weights @ values).transpose(1, 2).reshape(q_in.shape)
            return attn.out_proj(out)

        def forward(self, input_ids, past, cross, cross_bias):
            past_len = past.shape[4]
            new = input_ids.shape[2]
            x = sum(self.embed[k](input_ids[:, k]) for k in range(len(self.embed))) * self.scale
            x = x + self.table[past_len:past_len + new].unsqueeze(0)
            rows = torch.arange(new).unsqueeze(1) + past_len
            cols = torch.arange(past_len + new).unsqueeze(0)
            causal = torch.where(cols <= rows, 0.0, MASKED).to(x.dtype)
            present = []
            for index, layer in enumerate(self.layers):
                h = layer.self_attn_layer_norm(x)
                keys = torch.cat([past[index, 0], self._split(layer.self_attn.k_proj(h))], dim=2)
                values = torch.cat([past[index, 1], self._split(layer.self_attn.v_proj(h))], dim=2)
                present.append(torch.stack([keys, values]))
                x = x + self._attend(layer.self_attn, h, keys, values, causal)
                h = layer.encoder_attn_layer_norm(x)
                x = x + self._attend(layer.encoder_attn, h, cross[index, 0], cross[index, 1], cross_bias)
                h = layer.final_layer_norm(x)
                x = x + layer.fc2(layer.activation_fn(layer.fc1(h)))
            x = self.norm(x)
            logits = torch.stack([head(x) for head in self.heads], dim=1)
            return logits, torch.stack(present)

    return DecoderStep


def decoder_step(model):
    """A `DecoderStep` module (eval mode) sharing `model`'s decoder weights."""
    return _step_module()(model).eval()


def cross_cache(model, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-attention keys/values `[L, 2, N, H, S, Dh]` and the bias `[N, 1, 1, S]` for condition `states`.

    Args:
        model: the MusicGen model.
        states: condition states `[N, S, D]` in the decoder's width (text states already projected; melody
            models: chroma and text states concatenated, as the model builds them).
        mask: `[N, S]`, 1 where the condition is present (masked positions are also zeroed, as the model does).
    """
    import torch

    decoder, _ = _decoder_parts(model)
    heads = decoder.config.num_attention_heads
    states = states * mask[..., None].to(states.dtype)
    caches = []
    with torch.no_grad():
        for layer in decoder.layers:
            k = layer.encoder_attn.k_proj(states)
            v = layer.encoder_attn.v_proj(states)
            caches.append(torch.stack([t.reshape(*t.shape[:2], heads, -1).transpose(1, 2) for t in (k, v)]))
    bias = torch.where(mask.bool(), 0.0, MASKED).to(states.dtype)[:, None, None, :]
    return torch.stack(caches), bias


def empty_past(model, rows: int) -> torch.Tensor:
    """A zero-length self-attention cache `[L, 2, rows, H, 0, Dh]`."""
    import torch

    config = model.decoder.config
    head_dim = config.hidden_size // config.num_attention_heads
    return torch.zeros(config.num_hidden_layers, 2, rows, config.num_attention_heads, 0, head_dim)


def export_decoder_step(model, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Export the decoder step of `model` to `path` (atomically) with ONNX `metadata_props`."""
    import torch

    from musicsim_gui.core.atomic import atomic_path
    from musicsim_gui.runtime.onnx_files import finish_onnx_file

    step = decoder_step(model)
    config = model.decoder.config
    rows, past_len, cond = 2, 3, 4
    ids = torch.zeros(rows, config.num_codebooks, 1, dtype=torch.long)
    past = torch.zeros(config.num_hidden_layers, 2, rows, config.num_attention_heads, past_len,
                       config.hidden_size // config.num_attention_heads)
    cross, bias = cross_cache(model, torch.randn(rows, cond, config.hidden_size), torch.ones(rows, cond))
    axes = {"input_ids": {0: "rows", 2: "new"}, "past": {2: "rows", 4: "past"}, "cross": {2: "rows", 4: "cond"},
            "cross_bias": {0: "rows", 3: "cond"}, "logits": {0: "rows", 2: "new"}, "present": {2: "rows", 4: "total"}}
    path = Path(path)
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter handles this plain-tensor graph exactly (parity is tested); it warns that
        # it is the legacy path, and the tracer warns about shape arithmetic that the dynamic axes cover
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="The feature will be removed", category=DeprecationWarning)
        torch.onnx.export(step, (ids, past, cross, bias), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=list(INPUTS), output_names=list(OUTPUTS), dynamic_axes=axes,
                          do_constant_folding=True)
        finish_onnx_file(tmp, {"family": "musicgen", "part": "decoder_step", **(metadata or {})})
    return path


class OnnxDecoderStep:
    """The exported decoder step on ONNX Runtime: `run(input_ids, past, cross, bias) -> (logits, present)` (NumPy)."""

    def __init__(self, path: str | Path, device: str = "auto") -> None:
        from musicsim_gui.runtime.backend import OnnxBackend

        self.backend = OnnxBackend(path, device=device)
        self.name = self.backend.name

    def run(self, input_ids: np.ndarray, past: np.ndarray, cross: np.ndarray,
            bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.backend.run({"input_ids": input_ids.astype(np.int64), "past": past.astype(np.float32),
                                "cross": cross.astype(np.float32), "cross_bias": bias.astype(np.float32)})
        return out["logits"], out["present"]
