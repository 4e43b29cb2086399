"""What a MusicGen take is made from: the user's settings, read from `GenerationRequest.params`.

Every setting a take depends on is echoed back by `MusicGenSettings.to_params()` and stored with the take, so
a take can be reproduced from its model id, version, seed and params. The generator replaces the decoding
choices there by what it actually used (`decoder`, the resolved `dtype`), so "auto" never reaches a take.

Modes:
- "audio": continue an audio prompt (the instrument's stem when `stem_paths` names one, else the reference);
  melody models also follow the source's chroma. No text.
- "text+audio": the same, plus a text prompt per instrument, by default from `DEFAULT_TEMPLATE`.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass, field
from typing import Any

MODES = ("audio", "text+audio")
DTYPES = ("auto", "float32", "bfloat16", "float16")
"""Decoder compute dtypes of the fast decoding loop; "auto" = float32 on the CPU, bf16 on CUDA (fp16 without bf16)."""
DECODERS = ("fast", "generate")
"""Torch decoding loops: "fast" = our own (`fast_decode`), "generate" = transformers' `generate()`. A take made by
the ONNX backend records "onnx", which leaves the choice to the backend when the take is made again."""
DEFAULT_TEMPLATE = "lofi hip hop {instrument}, {tempo} bpm, {key}"


def fill_template(template: str, instrument: str, tempo_bpm: float | None = None, key: str | None = None) -> str:
    """Fill `{instrument}`, `{tempo}` and `{key}`; comma-separated parts naming an unknown value are left out.

    >>> fill_template(DEFAULT_TEMPLATE, "piano", 84.0)
    'lofi hip hop piano, 84 bpm'
    """
    values = {"instrument": instrument, "tempo": None if tempo_bpm is None else f"{tempo_bpm:.0f}", "key": key}
    parts = []
    for part in template.split(","):
        names = {name for _, name, _, _ in string.Formatter().parse(part) if name}
        if all(values.get(name) for name in names):
            parts.append(part.strip().format(**values))
    return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class MusicGenSettings:
    """Generation settings (durations in seconds).

    Attributes:
        mode: "audio" or "text+audio".
        seconds: take length, including the audio prompt it starts with (the take lines up with the song).
        prompt_seconds: how much of the source starts the take as audio prompt (0 = none).
        template / prompts: the text template and per-instrument overrides (text+audio mode).
        tempo_bpm / key: values for the template.
        temperature / top_k / top_p / guidance_scale: sampling (see `decoding.SamplingSettings`).
        window_seconds: longest decoding window (None = the model's limit); overlap_seconds: audio prompt of
            each later window (None = 40% of the window); crossfade_seconds: the join's crossfade.
        stem_paths: instrument → separated stem file used as that instrument's source.
        fast_decoding: decode with our own loop (`fast_decode`: static KV cache, CUDA graphs) instead of
            transformers' `generate()`; both give the same tokens in float32. Params may spell it
            `decoder` ("fast" or "generate", see `DECODERS`).
        dtype: the fast loop's decoder dtype (one of `DTYPES`); `generate()` decodes with the model's float32
            weights, so it takes only "auto" or "float32". cuda_graphs: replay the fast loop's CUDA step as a graph.
    """

    mode: str = "text+audio"
    seconds: float = 10.0
    prompt_seconds: float = 2.0
    template: str = DEFAULT_TEMPLATE
    prompts: dict[str, str] = field(default_factory=dict)
    tempo_bpm: float | None = None
    key: str | None = None
    temperature: float = 1.0
    top_k: int = 250
    top_p: float = 0.0
    guidance_scale: float = 3.0
    window_seconds: float | None = None
    overlap_seconds: float | None = None
    crossfade_seconds: float = 0.25
    stem_paths: dict[str, str] = field(default_factory=dict)
    fast_decoding: bool = True
    dtype: str = "auto"
    cuda_graphs: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.seconds <= 0 or self.prompt_seconds < 0 or self.prompt_seconds >= self.seconds:
            raise ValueError(f"need 0 <= prompt_seconds ({self.prompt_seconds}) < seconds ({self.seconds})")
        if self.top_k < 0 or not 0.0 <= self.top_p <= 1.0 or self.temperature < 0:
            raise ValueError("top_k must be >= 0, top_p in [0, 1] and temperature >= 0")
        if not isinstance(self.fast_decoding, bool) or not isinstance(self.cuda_graphs, bool):
            raise ValueError("fast_decoding and cuda_graphs must be true or false")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if not self.fast_decoding and self.dtype not in ("auto", "float32"):
            raise ValueError(f"dtype {self.dtype} needs the fast decoder: transformers' generate() decodes with "
                             "the model's float32 weights (choose dtype auto or float32, or the fast decoder)")

    @classmethod
    def from_params(cls, params: dict[str, Any], default_seconds: float) -> MusicGenSettings:
        """Settings from request params (unknown keys are ignored); `seconds` defaults to `default_seconds`."""
        known = {name: params[name] for name in cls.__dataclass_fields__ if params.get(name) is not None}
        for name in ("prompts", "stem_paths"):  # hashable job specs carry mappings as (key, value) pairs
            if name in known:
                known[name] = dict(known[name])
        known.setdefault("seconds", default_seconds)
        decoder = params.get("decoder")
        if decoder is not None and decoder != "onnx":  # an ONNX take was decoded by the backend the caller picks
            known["fast_decoding"] = _fast_decoding(decoder, known.get("fast_decoding"))
        if "prompt" in params and params["prompt"]:
            known["template"] = str(params["prompt"])
        return cls(**known)

    def text_for(self, instrument: str) -> str | None:
        """The text prompt of `instrument`, or None in audio mode."""
        if self.mode == "audio":
            return None
        template = self.prompts.get(instrument, self.template)
        return fill_template(template, instrument, self.tempo_bpm, self.key)

    def to_params(self, instrument: str) -> dict[str, Any]:
        """JSON-ready settings of one instrument's takes (with the filled text prompt)."""
        data = asdict(self)
        data.pop("prompts")
        data["stem_paths"] = {k: v for k, v in self.stem_paths.items() if k == instrument}
        data["prompt"] = self.text_for(instrument)
        data["decoder"] = "fast" if self.fast_decoding else "generate"
        return data


def _fast_decoding(decoder: str, fast_decoding: bool | None) -> bool:
    """`fast_decoding` from a `decoder` param ("fast" or "generate"), checked against a `fast_decoding` given too."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got {decoder!r}")
    fast = decoder == "fast"
    if fast_decoding is not None and fast_decoding != fast:
        raise ValueError(f"decoder {decoder!r} contradicts fast_decoding={fast_decoding}")
    return fast
