"""Tiny random-weight MusicGen and MusicGen-melody checkpoints, built in code and saved in the Hugging Face layout.

They have the real architecture (T5 text encoder, EnCodec codec, MusicGen decoder with the delay pattern) at toy
sizes: an 8 kHz codec at 200 frames per second with 2 codebooks of 64 entries, a 2-layer decoder, and a
word-level tokenizer made locally. Tests, the CLI smoke test and the benchmark load them through the same
code path as real checkpoints.
"""

from __future__ import annotations

from pathlib import Path

DEBUG_WORDS = ("lofi", "hip", "hop", "bass", "drums", "piano", "other", "bpm", "major", "minor", "jazz", "slow",
               "fast", "warm", "dusty", "keys", "groove", "c", "d", "e", "f", "g", "a", "b")
"""The debug tokenizer's vocabulary besides special tokens and digits."""


def _debug_tokenizer():
    """A T5-style fast tokenizer (`<pad>`=0, `</s>`=1, `<unk>`=2, words, digits) with an `</s>` suffix."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in (*DEBUG_WORDS, *"0123456789", ",", "#"):
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                  pre_tokenizers.Digits(individual_digits=True),
                                                  pre_tokenizers.Punctuation()])
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=64)


def debug_config(melody: bool = False, stereo: bool = False):
    """The tiny `MusicgenConfig` (or `MusicgenMelodyConfig`): 8 kHz, 200 frames/s, 2 codebooks (4 if stereo)."""
    from transformers import EncodecConfig, T5Config

    text = T5Config(vocab_size=48, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_heads=2,
                    relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    codec = EncodecConfig(sampling_rate=8000, audio_channels=1, target_bandwidths=[2.4], num_filters=4,
                          hidden_size=8, codebook_size=64, codebook_dim=8, upsampling_ratios=[8, 5],
                          num_residual_layers=1, num_lstm_layers=1, kernel_size=3, last_kernel_size=3,
                          residual_kernel_size=3, compress=2, normalize=False, chunk_length_s=None,
                          overlap=None, use_causal_conv=True)
    codebooks = 4 if stereo else 2
    decoder = dict(vocab_size=64, max_position_embeddings=256, num_hidden_layers=2, ffn_dim=32,
                   num_attention_heads=2, hidden_size=16, num_codebooks=codebooks, audio_channels=2 if stereo else 1,
                   pad_token_id=64, bos_token_id=64, dropout=0.0)
    if melody:
        from transformers import MusicgenMelodyConfig, MusicgenMelodyDecoderConfig

        return MusicgenMelodyConfig(text_encoder=text, audio_encoder=codec, chroma_length=20,
                                    decoder=MusicgenMelodyDecoderConfig(**decoder))
    from transformers import MusicgenConfig, MusicgenDecoderConfig

    return MusicgenConfig(text_encoder=text, audio_encoder=codec, decoder=MusicgenDecoderConfig(**decoder))


def _fit_codebooks(codec, sample_rate: int) -> None:
    """Fill the codec's residual codebooks with encoder frames of test signals (a fresh EnCodec has all-zero
    codebooks, which would turn every sound into the same codes): layer k's entries are residuals left by
    layers < k, drawn from noise, sines and DC offsets, so different sounds get different codes."""
    import torch

    generator = torch.Generator().manual_seed(0)
    t = torch.arange(sample_rate // 4) / sample_rate
    hz = 55.0 * 2.0 ** (torch.arange(24) / 4.0)
    signals = torch.cat([0.5 * torch.sin(2 * torch.pi * hz[:, None] * t),
                         0.3 * torch.randn(16, t.numel(), generator=generator),
                         torch.linspace(-0.5, 0.5, 8)[:, None].expand(8, t.numel())])
    with torch.no_grad():
        frames = codec.encoder(signals[:, None]).transpose(1, 2).reshape(-1, codec.config.codebook_dim)
        for layer in codec.quantizer.layers:
            book = layer.codebook
            pick = torch.randperm(frames.shape[0], generator=generator)[: book.embed.shape[0]]
            book.embed.copy_(frames[pick])
            book.embed_avg.copy_(frames[pick])
            book.cluster_size.fill_(1.0)
            frames = frames - book.embed[book.quantize(frames)]


def build_debug_model(folder: str | Path, melody: bool = False, seed: int = 0, stereo: bool = False) -> Path:
    """Save a tiny random MusicGen (or MusicGen-melody; `stereo`: 2-channel) checkpoint with its tokenizer.

    The melody variant also gets a `preprocessor_config.json` with chroma settings scaled to the 8 kHz codec
    (n_fft 512, hop 128: 62.5 chroma frames per second).
    """
    import json

    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = debug_config(melody=melody, stereo=stereo)
    if melody:
        from transformers import MusicgenMelodyForConditionalGeneration as ModelClass
    else:
        from transformers import MusicgenForConditionalGeneration as ModelClass
    model = ModelClass(config).eval()
    _fit_codebooks(model.audio_encoder, config.audio_encoder.sampling_rate)
    model.generation_config.max_length = 256
    model.generation_config.do_sample = True
    model.generation_config.guidance_scale = 3.0
    model.save_pretrained(folder)
    _debug_tokenizer().save_pretrained(folder)
    if melody:
        features = {"feature_extractor_type": "MusicgenMelodyFeatureExtractor", "sampling_rate": 8000,
                    "n_fft": 512, "hop_length": 128, "num_chroma": 12, "chunk_length": 30, "feature_size": 12}
        (folder / "preprocessor_config.json").write_text(json.dumps(features, indent=2) + "\n")
    return folder
