"""The fast MusicGen decoding loop against transformers' `generate()` on tiny random checkpoints.

The loop must give the very tokens `generate()` gives with the same `StepSampler` (greedy and seeded sampling,
with and without guidance, prompts, windows, MusicGen, -melody and stereo). Tokens are compared through the
decoded audio, bit for bit: the codec is deterministic, and one different token changes the audio.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from musicgen_support import DEBUG_RATE as RATE
from musicgen_support import one_thread  # noqa: F401 (autouse fixture)

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError, MusicSimError
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.musicgen.debug import build_debug_model, debug_config
from musicsim_gui.generation.musicgen.decoding import SamplingSettings, StepClock, StepSampler
from musicsim_gui.generation.musicgen.fast_decode import FastDecoder, KVCache, StaticDecoder, resolve_dtype
from musicsim_gui.generation.musicgen.generator import MusicGenGenerator, _decode_window, fast_decoder
from musicsim_gui.generation.musicgen.settings import MusicGenSettings
from musicsim_gui.generation.musicgen.window_inputs import delay_grid, grid_frames
from musicsim_gui.generation.musicgen.windows import Window


@pytest.fixture(scope="module")
def generators(tmp_path_factory):
    root = tmp_path_factory.mktemp("musicgen-fast")
    folders = {"plain": build_debug_model(root / "plain"), "melody": build_debug_model(root / "melody", melody=True),
               "stereo": build_debug_model(root / "stereo", stereo=True)}
    made = {kind: MusicGenGenerator(folder, device="cpu") for kind, folder in folders.items()}
    with torch.no_grad():  # random init barely lets chroma steer a token; make it (and the null chroma) count
        made["melody"].loaded.model.audio_enc_to_dec_proj.weight.mul_(40.0)
    return made


@pytest.fixture(scope="module")
def reference():
    t = np.arange(RATE) / RATE
    wave = 0.5 * np.sin(2 * np.pi * 220.0 * t) + 0.2 * np.sin(2 * np.pi * 330.0 * t)
    return AudioClip(wave[None].astype(np.float32), RATE, source="ref.wav")


def _takes(generator, reference, fast: bool, progress=None, cancel=None, **params) -> np.ndarray:
    base = {"seconds": 0.1, "prompt_seconds": 0.03, "mode": "text+audio", "tempo_bpm": 90.0, "fast_decoding": fast}
    request = GenerationRequest(reference, ("bass", "piano"), (3,), 2, {**base, **params})
    return np.stack([take.clip.samples for take in generator.generate(request, progress, cancel)])


CASES = {
    "greedy, guidance": {"temperature": 0.0},
    "sampled, guidance": {},
    "sampled, top-p, no guidance": {"guidance_scale": 1.0, "top_p": 0.9, "top_k": 0},
    "audio only": {"mode": "audio"},
    "no audio prompt": {"prompt_seconds": 0.0, "temperature": 0.7},
    "windowed continuation": {"seconds": 0.3, "window_seconds": 0.12, "overlap_seconds": 0.04,
                              "crossfade_seconds": 0.01},
}


@pytest.mark.parametrize("kind", ["plain", "melody"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_loop_gives_the_tokens_of_generate(generators, reference, kind, case):
    plain = _takes(generators[kind], reference, False, **CASES[case])
    fast = _takes(generators[kind], reference, True, **CASES[case])
    assert plain.shape == fast.shape and np.isfinite(fast).all()
    np.testing.assert_array_equal(fast, plain)
    assert not np.array_equal(fast[0], fast[1]) or case.startswith("greedy")


class RecordingSampler(StepSampler):
    """A `StepSampler` that also keeps the scores it is given at every step."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[torch.Tensor] = []

    def __call__(self, input_ids, scores):
        self.seen.append(scores.detach().float().clone())
        return super().__call__(input_ids, scores)


def _scores(generator, reference, fast: bool | FastDecoder, texts: list[str | None], guidance: float) -> torch.Tensor:
    """The scores `[steps, rows (x2 with guidance) * K, V]` each decoding step of one window sees (`fast`: our
    loop, or this fast decoder; False: `generate()`)."""
    loaded = generator.loaded
    win = Window(0, 6, 14)
    sources = np.stack([reference.samples[:, :RATE // 2], reference.samples[:, RATE // 2:]])
    sources = np.repeat(sources, loaded.channels, axis=1)
    delay = loaded.codebooks // loaded.channels - 1
    sampler = RecordingSampler([3, 4], loaded.codebooks, SamplingSettings(guidance_scale=guidance),
                               StepClock(win.new_frames + delay))
    decoder = fast if isinstance(fast, FastDecoder) else fast_decoder(loaded, MusicGenSettings()) if fast else None
    _decode_window(loaded, win, sources[..., :win.prompt_frames * loaded.hop], texts, sources, sampler, decoder)
    return torch.stack(sampler.seen)


@pytest.mark.parametrize("kind", ["plain", "melody", "stereo"])
@pytest.mark.parametrize("texts", [["lofi hip hop piano, 90 bpm", None], ["jazz", "dusty warm keys 84 bpm"],
                                   [None, None]])
def test_every_step_sees_the_scores_of_generate(generators, reference, kind, texts):
    """Conditioning (text padding, rows without text, chroma, the null half of guidance) and the cache give
    the scores `generate()` gives at every step, not just the same winning tokens."""
    for guidance in (3.0, 1.0):
        fast = _scores(generators[kind], reference, True, texts, guidance)
        plain = _scores(generators[kind], reference, False, texts, guidance)
        assert fast.shape == plain.shape
        torch.testing.assert_close(fast, plain, atol=2e-6, rtol=1e-5)


def test_stereo_checkpoints_decode_the_same_in_both_loops(generators, reference):
    for params in (CASES["sampled, guidance"], CASES["windowed continuation"]):
        np.testing.assert_array_equal(_takes(generators["stereo"], reference, True, **params),
                                      _takes(generators["stereo"], reference, False, **params))


def test_the_generator_uses_the_fast_loop_by_default(generators, reference):
    generator = generators["plain"]
    _takes(generator, reference, True)
    assert isinstance(generator._fast, FastDecoder)
    assert fast_decoder(generator.loaded, MusicGenSettings(fast_decoding=False)) is None
    settings = MusicGenSettings()
    assert fast_decoder(generator.loaded, settings, generator._fast) is generator._fast
    unknown = dataclasses.replace(generator.loaded, model=generator.loaded.model.text_encoder)
    assert fast_decoder(unknown, settings) is None  # not a MusicGen decoder: generate() decodes


def test_kept_step_runners_serve_later_windows_and_calls(generators, reference):
    """Reused caches (stale slots from the previous window) and reloaded conditions (a new text of the same
    length) decode exactly as `generate()` does; on CUDA this is how captured graphs are replayed."""
    generator = generators["plain"]
    kept = FastDecoder(generator.loaded, keep_runners=True)
    windowed = CASES["windowed continuation"]
    for template in ("lofi hip hop {instrument}, {tempo} bpm", "jazz slow dusty {instrument}, {tempo} bpm"):
        generator._fast = kept  # the generator keeps a fast decoder that fits the settings
        fast = _takes(generator, reference, True, prompt=template, **windowed)
        assert generator._fast is kept
        np.testing.assert_array_equal(fast, _takes(generator, reference, False, prompt=template, **windowed))
    assert len(kept._runners) == FastDecoder.KEPT_RUNNERS
    for texts in (["lofi hip hop piano", "jazz"], ["dusty warm slow keys", "groove"]):  # same shape, new text
        torch.testing.assert_close(_scores(generator, reference, kept, texts, 3.0),
                                   _scores(generator, reference, False, texts, 3.0), atol=2e-6, rtol=1e-5)


def test_a_window_past_the_position_table_grows_it_as_transformers_does(generators, reference):
    """Melody windows put the condition in front of the tokens: a long window needs positions past the
    decoder's table (256); the table grows, and kept runners (captured with the old one) are dropped."""
    generator = generators["melody"]
    kept = FastDecoder(generator.loaded, keep_runners=True)
    counts = []
    for seconds in (0.1, 1.2, 0.1):
        generator._fast = kept
        fast = _takes(generator, reference, True, seconds=seconds, temperature=0.0)
        np.testing.assert_array_equal(fast, _takes(generator, reference, False, seconds=seconds, temperature=0.0))
        counts.append(len(kept._runners))
    assert counts == [1, 1, 2]  # the long window dropped the short one's runner
    assert kept.decoder.table.shape[0] > generator.loaded.model.config.decoder.max_position_embeddings


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def cuda_generator(generators):
    return MusicGenGenerator(generators["plain"].folder, device="cuda")


@needs_cuda
def test_on_cuda_the_graph_loop_in_float32_gives_the_tokens_of_generate(cuda_generator, reference, caplog):
    caplog.set_level("INFO", logger="musicsim_gui.generation.musicgen.fast_decode")
    for params in (CASES["greedy, guidance"], CASES["sampled, guidance"], CASES["windowed continuation"]):
        fast = _takes(cuda_generator, reference, True, dtype="float32", **params)
        np.testing.assert_allclose(fast, _takes(cuda_generator, reference, False, **params), atol=1e-5)
    assert "captured as a CUDA graph" in caplog.text


@needs_cuda
def test_on_cuda_graph_replays_match_eager_steps_in_bf16(cuda_generator, reference):
    params = CASES["windowed continuation"]
    graphs = _takes(cuda_generator, reference, True, **params)
    assert cuda_generator._fast.dtype in (torch.bfloat16, torch.float16) and cuda_generator._fast._runners
    eager = _takes(cuda_generator, reference, True, cuda_graphs=False, **params)
    assert np.isfinite(graphs).all()
    np.testing.assert_allclose(graphs, eager, atol=1e-5)


def _pattern_of_transformers(decoder, prompt: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """transformers' delay pattern for `[rows * K, P]` prompt codes after the start token (-1 = to predict)."""
    ids = torch.cat([torch.full((prompt.shape[0], 1), start), prompt], dim=1)
    return decoder.build_delay_pattern_mask(ids, pad_token_id=start, max_length=length)[1]


@pytest.mark.parametrize("stereo", [False, True])
@pytest.mark.parametrize("known", [0, 3])
def test_the_delay_grid_is_the_pattern_of_transformers(stereo, known):
    from transformers import MusicgenForConditionalGeneration

    config = debug_config(stereo=stereo)
    decoder = MusicgenForConditionalGeneration(config).decoder
    rows, codebooks, channels, frames, start = 2, config.decoder.num_codebooks, config.decoder.audio_channels, 7, 64
    prompt = torch.randint(0, 64, (rows * codebooks, known))
    grid, free = delay_grid(prompt if known else None, rows, codebooks, channels, frames, start, "cpu")
    pattern = _pattern_of_transformers(decoder, prompt, start, grid.shape[-1]).reshape(rows, codebooks, -1)
    assert pattern.shape == grid.shape
    assert torch.equal(free.expand_as(grid), pattern == -1)
    assert torch.equal(grid[pattern != -1], pattern[pattern != -1])
    assert int(free.sum()) == codebooks * (frames - known)
    filled = torch.where(free, torch.randint(0, 64, grid.shape), grid)
    assert torch.equal(grid_frames(filled, channels, frames)[..., :known], prompt.reshape(rows, codebooks, known))


def test_cached_steps_reproduce_a_full_forward_of_transformers(generators):
    """One prefill and single-position steps through the static cache give the logits of the transformers
    decoder run on the whole sequence at once (the cache is written and read at the right positions)."""
    model = generators["plain"].loaded.model
    decoder = StaticDecoder(model, torch.float32)
    rows, codebooks, length = 2, 2, 9
    ids = torch.randint(0, 64, (rows, codebooks, length))
    states = torch.randn(rows, 3, 16)
    with torch.no_grad():
        full = model.decoder(input_ids=ids.reshape(rows * codebooks, length), encoder_hidden_states=states,
                             use_cache=False).logits.reshape(rows, codebooks, length, -1)
        cache = KVCache.allocate(decoder.layers, rows, decoder.heads, length, decoder.head_dim, torch.float32, "cpu")
        cross = decoder.cross_cache(states, torch.ones(rows, 3))
        got = [decoder.logits(decoder.forward(decoder.embed(ids[:, :, :4]), torch.arange(4), cache, cross))]
        for position in range(4, length):
            hidden = decoder.forward(decoder.embed(ids[:, :, position:position + 1]), torch.tensor([position]),
                                     cache, cross)
            got.append(decoder.logits(hidden))
    want = torch.stack([full[:, :, p].reshape(rows * codebooks, -1) for p in range(3, length)])
    torch.testing.assert_close(torch.stack(got), want, atol=1e-5, rtol=1e-5)


def test_progress_counts_every_step_and_cancel_stops_within_one(generators, reference):
    events = []
    params = {"seconds": 0.5, "window_seconds": 0.2, "overlap_seconds": 0.08, "crossfade_seconds": 0.01}
    _takes(generators["melody"], reference, True, lambda f, m: events.append(f), **params)
    steps = [f for f in events if f > 0]
    assert len(steps) == 100 - 6 + 4 * 1 and steps[-1] == 1.0  # new frames plus the codebook delay per window
    seen = []
    with pytest.raises(CancelledError):
        _takes(generators["plain"], reference, True, lambda f, m: seen.append(f),
               cancel=lambda: sum(f > 0 for f in seen) >= 5, seconds=0.2)
    assert sum(f > 0 for f in seen) == 5


def test_a_bf16_decoder_copy_leaves_the_model_in_float32(generators, reference):
    generator = generators["plain"]
    weight = generator.loaded.model.decoder.lm_heads[0].weight
    before = weight.detach().clone()
    audio = _takes(generator, reference, True, dtype="bfloat16", temperature=0.0)
    assert np.isfinite(audio).all() and generator._fast.dtype == torch.bfloat16
    assert weight.dtype == torch.float32 and torch.equal(weight, before)
    assert resolve_dtype("auto", "cpu") == torch.float32


def test_bad_decoding_settings_name_the_problem(generators, reference):
    with pytest.raises(MusicSimError, match="dtype must be one of auto, float32, bfloat16, float16"):
        _takes(generators["plain"], reference, True, dtype="int8")
    with pytest.raises(MusicSimError, match="fast_decoding and cuda_graphs must be true or false"):
        _takes(generators["plain"], reference, "yes")
