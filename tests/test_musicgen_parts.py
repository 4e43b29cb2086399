"""MusicGen building blocks without a model: chroma against librosa, window planning and joins, prompts, sampling."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from musicsim_gui.core.errors import CancelledError
from musicsim_gui.generation.musicgen.chroma import chroma, chroma_filterbank, melody_conditioning
from musicsim_gui.generation.musicgen.decoding import SamplingSettings, StepClock, StepSampler, filter_logits
from musicsim_gui.generation.musicgen.settings import DEFAULT_TEMPLATE, MusicGenSettings, fill_template
from musicsim_gui.generation.musicgen.windows import crossfade_join, plan_windows


@pytest.mark.parametrize(("rate", "n_fft"), [(32000, 16384), (8000, 512), (22050, 2048)])
def test_chroma_filterbank_matches_librosa(rate, n_fft):
    ours = chroma_filterbank(rate, n_fft)
    theirs = librosa.filters.chroma(sr=rate, n_fft=n_fft, tuning=0.0)
    assert ours.shape == theirs.shape == (12, 1 + n_fft // 2)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_chroma_matches_librosa_chroma_stft():
    rate = 8000
    t = np.arange(2 * rate) / rate
    noise = 0.1 * np.random.default_rng(0).standard_normal(t.size)
    wave = (np.sin(2 * np.pi * 261.63 * t) + 0.5 * np.sin(2 * np.pi * 392.0 * t) + noise).astype(np.float32)
    theirs = librosa.feature.chroma_stft(y=wave, sr=rate, n_fft=512, hop_length=128, tuning=0.0, norm=np.inf,
                                         pad_mode="reflect")
    ours = chroma(torch.from_numpy(wave), rate, 512, 128).numpy().T
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_melody_conditioning_is_one_hot_on_the_played_pitch_class():
    rate = 8000
    t = np.arange(rate) / rate
    g_major = torch.from_numpy(np.sin(2 * np.pi * 392.0 * t).astype(np.float32))[None]  # G4
    features = melody_conditioning(g_major, rate, 512, 128)
    assert features.shape == (1, 1 + rate // 128, 12)
    assert torch.all(features.sum(-1) == 1)
    assert torch.all(features[0, 2:-2].argmax(-1) == 7)  # C=0 ... G=7


def test_windows_cover_the_take_exactly():
    plan = plan_windows(total_frames=1000, prompt_frames=100, window_frames=300, overlap_frames=120)
    assert plan[0].start_frame == 0 and plan[0].prompt_frames == 100
    assert plan[-1].end_frame == 1000
    for before, after in zip(plan, plan[1:], strict=False):
        assert after.start_frame == before.end_frame - after.prompt_frames
        assert after.prompt_frames + after.new_frames <= 300
    assert plan_windows(50, 10, 300, 120) == plan[:0] + [plan_windows(50, 10, 300, 120)[0]]
    with pytest.raises(ValueError):
        plan_windows(100, 300, 300, 10)
    with pytest.raises(ValueError):
        plan_windows(10, 10, 300, 10)


def test_crossfade_join_of_a_resynthesised_overlap_is_seamless():
    rate, hz = 8000, 440.0
    whole = np.sin(2 * np.pi * hz * np.arange(rate) / rate).astype(np.float32)[None]
    head, overlap = whole[:, :5000], 1200
    window = whole[:, 5000 - overlap:] * np.float32(0.98)  # re-synthesis of the overlap: slightly different
    joined = crossfade_join(head, window, overlap, fade=400)
    assert joined.shape == whole.shape
    assert np.abs(joined - whole).max() < 0.03
    assert np.abs(np.diff(joined[0])).max() < 2 * np.abs(np.diff(whole[0])).max()


def test_template_leaves_out_unknown_values():
    assert fill_template(DEFAULT_TEMPLATE, "piano", 84.0, "a minor") == "lofi hip hop piano, 84 bpm, a minor"
    assert fill_template(DEFAULT_TEMPLATE, "bass") == "lofi hip hop bass"
    settings = MusicGenSettings.from_params({"prompt": "dusty {instrument} groove", "mode": "text+audio"}, 5.0)
    assert settings.text_for("drums") == "dusty drums groove" and settings.seconds == 5.0
    assert MusicGenSettings(mode="audio").text_for("drums") is None
    with pytest.raises(ValueError):
        MusicGenSettings(seconds=2.0, prompt_seconds=3.0)


def test_top_k_and_top_p_keep_the_right_tokens():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept_k = torch.isfinite(filter_logits(logits, SamplingSettings(top_k=2))).tolist()
    kept_p = torch.isfinite(filter_logits(logits, SamplingSettings(top_k=0, top_p=0.7))).tolist()
    assert kept_k == [[True, True, False, False]]
    assert kept_p == [[True, True, False, False]]


def test_sampler_guides_reproduces_and_cancels():
    scores = torch.randn(2 * 2 * 3, 16, generator=torch.Generator().manual_seed(1))  # CFG-doubled, 2 takes × 3 rows

    def run(seeds):
        sampler = StepSampler(seeds, 3, SamplingSettings(top_k=0), StepClock(4))
        out = sampler(torch.zeros(12, 1, dtype=torch.long), scores)
        return out.argmax(-1)

    assert torch.equal(run([5, 6]), run([5, 6]))
    assert torch.equal(run([5, 6])[:3], run([5, 9])[:3])  # a take's draw depends only on its own seed
    events: list[float] = []
    sampler = StepSampler([1], 3, SamplingSettings(), StepClock(10),
                          progress=lambda f, m: events.append(f), cancel=lambda: len(events) >= 2)
    sampler(None, scores[:3])
    sampler(None, scores[:3])
    with pytest.raises(CancelledError):
        sampler(None, scores[:3])
    assert events == [0.1, 0.2]


def test_onnx_decoder_step_matches_the_transformers_decoder(tmp_path):
    from transformers import MusicgenForConditionalGeneration

    from musicsim_gui.generation.musicgen.debug import debug_config
    from musicsim_gui.generation.musicgen.onnx_decoder import (
        OnnxDecoderStep,
        cross_cache,
        decoder_step,
        empty_past,
        export_decoder_step,
    )

    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(debug_config()).eval()
    rows, codebooks, length, cond = 3, 2, 6, 5
    ids = torch.randint(0, 64, (rows, codebooks, length))
    states, mask = torch.randn(rows, cond, 16), torch.ones(rows, cond)
    mask[2], mask[1, 3:] = 0, 0  # a null condition and a padded one
    with torch.no_grad():
        reference = model.decoder(input_ids=ids.reshape(rows * codebooks, length), encoder_hidden_states=states,
                                  encoder_attention_mask=mask).logits.reshape(rows, codebooks, length, -1)
        cross, bias = cross_cache(model, states, mask)
        logits, _ = decoder_step(model)(ids, empty_past(model, rows), cross, bias)
    np.testing.assert_allclose(logits.numpy(), reference.numpy(), atol=1e-5)
    runner = OnnxDecoderStep(export_decoder_step(model, tmp_path / "step.onnx", {"name": "debug"}), device="cpu")
    prefill, past = runner.run(ids[:, :, :4].numpy(), empty_past(model, rows).numpy(), cross.numpy(), bias.numpy())
    np.testing.assert_allclose(prefill, reference[:, :, :4].numpy(), atol=1e-4)
    for position in (4, 5):  # cached steps
        step, past = runner.run(ids[:, :, position:position + 1].numpy(), past, cross.numpy(), bias.numpy())
        np.testing.assert_allclose(step[:, :, 0], reference[:, :, position].numpy(), atol=1e-4)
    assert past.shape[4] == length and runner.backend.metadata()["part"] == "decoder_step"
