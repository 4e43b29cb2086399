"""Our own MusicGen decoding loop over the torch decoder: a preallocated static key/value cache, the codebook
delay pattern, classifier-free guidance and seeded per-take sampling, one decoder call per step.

`generate()` rebuilds inputs, masks and a growing cache in Python at every step. This loop fixes every shape for
a window, so a step is the same few kernels each time (on CUDA: one graph replay). It gives the tokens
`generate(do_sample=False, logits_processor=[StepSampler])` gives (tested on the debug checkpoints).

Architecture:
1. `window_inputs.condition_window` builds the decoder's condition as `generate` does. MusicGen attends to text
   states (T5, projected to the decoder width, zeroed where masked) through cross-attention; their keys/values
   are computed once per window (`cross_cache`). MusicGen-melody puts chroma and text states in front of its own
   sequence, so they are prefilled into the self-attention cache. With guidance the batch is doubled: the
   conditional rows first, then the same rows with the null condition.
2. `StaticDecoder` runs the decoder layers (the model's weights; on CUDA a bf16/fp16 copy) with the
   self-attention cache preallocated as `[L, N, H, M, Dh]` (M = the window's positions). A call writes its keys
   and values at their slots in place and attends to all M slots under the mask `slot <= position`.
3. `window_inputs.delay_grid` lays codec frames out in the delay pattern: codebook k of frame f sits at position
   `1 + f + k // channels`; position 0 and every cell outside a codebook's frames hold the start token; audio
   prompt frames are placed and kept. Positions `0 .. prompt` run as one prefill call, then one step per
   position; `StepSampler` picks the tokens (progress, ETA and cancel per step) and only free cells take them.
4. `StepRunner` holds the one-position step at a fixed shape; on CUDA it captures it as a CUDA graph and falls
   back to eager steps with a log line when capture fails. `FastDecoder` keeps captured runners for the latest
   window shapes, so later windows and calls replay their graphs.

transformers' own `StaticCache` does work with this decoder in transformers 5.23 (`generate(cache_implementation=
"static")` gives the same tokens; `bench/bench_musicgen.py --static` times it), but it is filled through the
transformers decoder's `forward`, whose per-call Python (mask building, output recording, cache bookkeeping) is
what this loop removes; here the cache is two plain tensors written by slot, which a CUDA graph can replay.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from musicsim_gui.generation.musicgen.settings import DTYPES
from musicsim_gui.generation.musicgen.window_inputs import (
    Condition,
    condition_window,
    delay_grid,
    grid_frames,
    start_token,
)

if TYPE_CHECKING:
    import torch

    from musicsim_gui.generation.musicgen.decoding import StepSampler
    from musicsim_gui.generation.musicgen.loading import MusicGenModel

log = logging.getLogger(__name__)


def resolve_dtype(name: str, device: str) -> torch.dtype:
    """The decoder's compute dtype: "auto" is float32 on the CPU and bf16 on CUDA (fp16 where bf16 is missing)."""
    import torch

    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    if name != "auto":
        return getattr(torch, name)
    if not str(device).startswith("cuda"):
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def supports(model: Any) -> bool:
    """Whether `model` has the decoder layout this loop runs (the transformers MusicGen/-melody decoder)."""
    causal_lm = getattr(model, "decoder", None)
    decoder = getattr(getattr(causal_lm, "model", None), "decoder", None)
    if decoder is None or not hasattr(causal_lm, "lm_heads"):
        return False
    layer = decoder.layers[0]
    return all(hasattr(decoder, name) for name in ("embed_tokens", "embed_positions", "layer_norm")) and all(
        hasattr(layer, name) for name in ("self_attn", "self_attn_layer_norm", "fc1", "fc2", "final_layer_norm"))


@dataclass
class KVCache:
    """Keys and values `[L, N, H, M, Dh]`; `slots` = `arange(M)` (for the causal mask) on the same device."""

    keys: torch.Tensor
    values: torch.Tensor
    slots: torch.Tensor

    @classmethod
    def allocate(cls, layers: int, rows: int, heads: int, length: int, head_dim: int, dtype, device) -> KVCache:
        import torch

        shape = (layers, rows, heads, length, head_dim)
        return cls(torch.zeros(shape, dtype=dtype, device=device), torch.zeros(shape, dtype=dtype, device=device),
                   torch.arange(length, device=device))


@dataclass
class CrossCache:
    """Cross-attention keys and values `[L, N, H, S, Dh]` of the condition, and its additive mask `[N, 1, 1, S]`."""

    keys: torch.Tensor
    values: torch.Tensor
    bias: torch.Tensor


def _weights_module():
    import torch

    class DecoderWeights(torch.nn.Module):
        """The decoder's token embeddings, layers, final norm and heads (shared with the model, not copied)."""

        def __init__(self, model) -> None:
            super().__init__()
            decoder = model.decoder.model.decoder
            self.embed = decoder.embed_tokens
            self.layers = decoder.layers
            self.norm = decoder.layer_norm
            self.heads = model.decoder.lm_heads
            self.positions = decoder.embed_positions

    return DecoderWeights


class StaticDecoder:
    """The MusicGen(-melody) decoder as plain tensor code over a `KVCache` (see the module doc).

    Args:
        model: the transformers conditional-generation model.
        dtype: compute dtype; the weights are copied once (in that dtype) when it differs from the model's.
    """

    def __init__(self, model, dtype) -> None:
        weights = _weights_module()(model)
        param = next(model.decoder.parameters())
        if param.dtype != dtype:
            import torch

            memo = {id(p): torch.nn.Parameter(p.detach().to(dtype), requires_grad=False) for p in weights.parameters()}
            memo.update({id(b): b.detach().to(dtype) for b in weights.buffers()})
            weights = copy.deepcopy(weights, memo)
        self.weights = weights.eval()
        config = model.decoder.config
        self.dtype, self.device = dtype, param.device
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.heads
        self.layers = config.num_hidden_layers
        self.table = weights.positions.weights.to(dtype)

    def position_table(self, length: int) -> bool:
        """Make sure the sinusoidal position table covers `length` positions; True when it had to grow (a new
        tensor: graphs captured with the old one must not be replayed)."""
        if self.table.shape[0] >= length:
            return False
        table = self.weights.positions.get_embedding(length, self.table.shape[1])
        self.table = table.to(self.table.device, self.dtype)
        return True

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings `[N, Q, D]` of `ids [N, K, Q]` (the sum over codebooks)."""
        return sum(self.weights.embed[k](ids[:, k]) for k in range(ids.shape[1]))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """[N, T, D] -> [N, H, T, Dh]."""
        return x.view(x.shape[0], x.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def _attend(self, attn, h: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, bias) -> torch.Tensor:
        from torch.nn.functional import scaled_dot_product_attention

        out = scaled_dot_product_attention(self._split(attn.q_proj(h)), keys, values, attn_mask=bias,
                                           scale=attn.scaling)
        return attn.out_proj(out.transpose(1, 2).reshape(h.shape))

    def forward(self, embeds: torch.Tensor, slots: torch.Tensor, cache: KVCache,
                cross: CrossCache | None) -> torch.Tensor:
        """Run `embeds [N, Q, D]` at cache `slots [Q]` (written in place); the last position's hidden `[N, D]`."""
        import torch

        x = embeds + self.table.index_select(0, slots)[None]
        visible = cache.slots[None, :] <= slots[:, None]
        causal = torch.where(visible, 0.0, float("-inf")).to(self.dtype)
        for index, layer in enumerate(self.weights.layers):
            h = layer.self_attn_layer_norm(x)
            keys, values = cache.keys[index], cache.values[index]
            keys.index_copy_(2, slots, self._split(layer.self_attn.k_proj(h)))
            values.index_copy_(2, slots, self._split(layer.self_attn.v_proj(h)))
            x = x + self._attend(layer.self_attn, h, keys, values, causal)
            if cross is not None:
                h = layer.encoder_attn_layer_norm(x)
                x = x + self._attend(layer.encoder_attn, h, cross.keys[index], cross.values[index], cross.bias)
            x = x + layer.fc2(layer.activation_fn(layer.fc1(layer.final_layer_norm(x))))
        return self.weights.norm(x[:, -1])

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Float32 scores `[N * K, V]` of the last position (rows ordered as `generate()` orders them)."""
        import torch

        scores = torch.stack([head(hidden) for head in self.weights.heads], dim=1)
        return scores.reshape(-1, scores.shape[-1]).float()

    def cross_cache(self, states: torch.Tensor, mask: torch.Tensor) -> CrossCache:
        """Cross-attention keys/values of condition `states [N, S, D]` (already zeroed where `mask [N, S]` is 0)."""
        import torch

        keys, values = [], []
        for layer in self.weights.layers:
            keys.append(self._split(layer.encoder_attn.k_proj(states)))
            values.append(self._split(layer.encoder_attn.v_proj(states)))
        bias = torch.where(mask.bool(), 0.0, torch.finfo(self.dtype).min).to(self.dtype)[:, None, None, :]
        return CrossCache(torch.stack(keys), torch.stack(values), bias)


class StepRunner:
    """The one-position decoder step at a fixed shape: `step(ids [N, K], slot) -> scores [N * K, V]`.

    On CUDA (with `graphs`) the step is captured as a CUDA graph on its first call and replayed after; the input
    buffers, the cache and the cross-attention tensors are filled in place and the scores tensor is reused by
    every replay. A runner can serve later windows of the same shape (`use_cross` loads their condition): a
    stale cache slot is never read, since every slot up to the current position is written first.
    """

    def __init__(self, decoder: StaticDecoder, cache: KVCache, rows: int, codebooks: int, graphs: bool) -> None:
        import torch

        self.decoder, self.cache = decoder, cache
        self.cross: CrossCache | None = None
        self.ids = torch.zeros((rows, codebooks, 1), dtype=torch.long, device=decoder.device)
        self.slot = torch.zeros(1, dtype=torch.long, device=decoder.device)
        self.wants_graph = graphs and decoder.device.type == "cuda"
        self.graph = None
        self.scores = None

    def use_cross(self, cross: CrossCache | None) -> None:
        """Attend to `cross` from now on (copied into the tensors a captured graph reads)."""
        if self.cross is None or cross is None:
            self.cross = cross
            return
        for mine, new in zip((self.cross.keys, self.cross.values, self.cross.bias), (cross.keys, cross.values,
                                                                                      cross.bias), strict=True):
            mine.copy_(new)

    def _eager(self) -> torch.Tensor:
        decoder = self.decoder
        return decoder.logits(decoder.forward(decoder.embed(self.ids), self.slot, self.cache, self.cross))

    def step(self, ids: torch.Tensor, slot: int) -> torch.Tensor:
        self.ids.copy_(ids[..., None])
        self.slot.fill_(slot)
        if self.wants_graph:
            self._capture()
        if self.graph is None:
            return self._eager()
        self.graph.replay()
        return self.scores

    def _capture(self) -> None:
        """Record the step as a CUDA graph (warm-up on a side stream first); on failure decode eagerly. The
        warm-up writes the current slot with the current inputs, as the replay does, so it changes nothing."""
        import time

        import torch

        self.wants_graph = False
        started = time.perf_counter()
        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self._eager()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                scores = self._eager()
        except RuntimeError as error:
            log.warning("MusicGen: CUDA graph capture failed (%s); decoding without graphs", error)
            return
        self.graph, self.scores = graph, scores
        log.info("MusicGen: decoder step captured as a CUDA graph in %.2f s", time.perf_counter() - started)


class FastDecoder:
    """Decodes MusicGen windows with this module's loop for one loaded checkpoint.

    Args:
        loaded: the checkpoint (torch weights on its device).
        dtype: "auto", "float32", "bfloat16" or "float16" (see `resolve_dtype`).
        graphs: capture the CUDA step as a CUDA graph (ignored on the CPU).
        keep_runners: keep step runners (with their caches) for the `KEPT_RUNNERS` latest window shapes, so later
            windows and calls reuse them; None = only where graphs are captured (a new capture per window
            would cost more than it saves; on the CPU a kept cache only holds memory).
    """

    KEPT_RUNNERS = 2

    def __init__(self, loaded: MusicGenModel, dtype: str = "auto", graphs: bool = True,
                 keep_runners: bool | None = None) -> None:
        self.dtype = resolve_dtype(dtype, loaded.device)
        self.model = loaded.model
        self.decoder = StaticDecoder(loaded.model, self.dtype)
        self.graphs = graphs
        self.keep_runners = keep_runners
        self._runners: dict[tuple, StepRunner] = {}

    def _runner(self, rows: int, codebooks: int, length: int, cross: CrossCache | None) -> StepRunner:
        """A step runner for `rows` and a cache of `length` slots: a kept one of that shape, else a new one."""
        decoder = self.decoder
        key = (rows, length, None if cross is None else tuple(cross.keys.shape))
        runner = self._runners.pop(key, None)
        if runner is None:
            cache = KVCache.allocate(decoder.layers, rows, decoder.heads, length, decoder.head_dim, self.dtype,
                                     decoder.device)
            runner = StepRunner(decoder, cache, rows, codebooks, self.graphs)
        runner.use_cross(cross)
        keep = self.keep_runners
        if keep or (keep is None and (runner.wants_graph or runner.graph is not None)):
            self._runners[key] = runner
            while len(self._runners) > self.KEPT_RUNNERS:
                self._runners.pop(next(iter(self._runners)))
        return runner

    def window_codes(self, loaded: MusicGenModel, texts: list[str | None], prompt: torch.Tensor | None,
                     chroma: torch.Tensor | None, new_frames: int, sampler: StepSampler) -> torch.Tensor:
        """Codec codes `[rows, K, P + new_frames]` of one window.

        Args:
            texts: one text per row (None = no text).
            prompt: audio-prompt codes `[rows * K, P]` (as `conditioning.encode_prompt` gives them) or None.
            chroma: melody features `[rows, frames, 12]` (MusicGen-melody), else None.
            sampler: the job's step sampler (its guidance scale, seeds, progress and cancel).
        """
        import torch

        condition = condition_window(loaded, texts, sampler.settings.guidance_scale, chroma)
        with torch.no_grad():
            return self._decode(loaded, condition, len(texts), prompt, new_frames, sampler)

    def _decode(self, loaded: MusicGenModel, condition: Condition, rows: int, prompt: torch.Tensor | None,
                new_frames: int, sampler: StepSampler) -> torch.Tensor:
        import torch

        decoder, copies, codebooks = self.decoder, condition.copies, loaded.codebooks
        known = 0 if prompt is None else prompt.shape[-1]
        frames = known + new_frames
        grid, free = delay_grid(prompt, rows, codebooks, loaded.channels, frames, start_token(loaded.model),
                                decoder.device)
        prefix = 0 if condition.prefix is None else condition.prefix.shape[1]
        length = prefix + grid.shape[-1] - 1  # the last position is chosen, never fed
        if decoder.position_table(length):
            self._runners.clear()
        cross = None
        if condition.states is not None:
            cross = decoder.cross_cache(condition.states.to(self.dtype), condition.mask)
        runner = self._runner(rows * copies, codebooks, length, cross)
        first = known + 1  # positions 0 .. known are all given: one prefill call
        embeds = decoder.embed(grid[:, :, :first].repeat(copies, 1, 1))
        if condition.prefix is not None:
            embeds = torch.cat([condition.prefix.to(self.dtype), embeds], dim=1)
        scores = decoder.logits(decoder.forward(embeds, torch.arange(prefix + first, device=decoder.device),
                                                runner.cache, runner.cross))
        for position in range(first, grid.shape[-1]):
            chosen = sampler(None, scores)[:rows * codebooks].argmax(-1).reshape(rows, codebooks)
            grid[:, :, position] = torch.where(free[:, position], chosen, grid[:, :, position])
            if position + 1 < grid.shape[-1]:
                scores = runner.step(grid[:, :, position].repeat(copies, 1), prefix + position)
        return grid_frames(grid, loaded.channels, frames)
