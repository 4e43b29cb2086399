"""The generation interface: requests, takes, the `Generator` protocol and the generator registry.

Architecture:
1. A `GenerationRequest` names a reference clip, the instruments to compose, and one seed per take.
   `Generator.generate(request)` returns one `GeneratedTake` per (instrument, seed), in instrument order then seed
   order. A take carries everything needed to reproduce it: model id and version, seed and parameters.
2. Built-in generators (random-weight debug models) register a factory by name (`register_generator`); model
   families register a folder loader (`register_family`), so every installed model folder whose manifest names
   that family (see `runtime.registry`) is a generator. `get_generator(name)` builds and caches one. A family
   may also say, from a manifest alone, whether its takes follow the reference's separated stems
   (`stem_following_generators`), so the studio offers to separate first only where that helps.
3. `progress(fraction, message)` is called between steps; `cancel()` returning True stops the run with
   `CancelledError` before the next step.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError, ModelError
from musicsim_gui.core.instruments import INSTRUMENTS

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class GenerationRequest:
    """What to compose.

    Attributes:
        reference: the reference song (any rate, any channel count).
        instruments: instrument names from `INSTRUMENTS`, in the order takes are returned.
        seeds: one seed per take; if fewer than `takes_per_instrument`, seeds are extended by counting up
            from the last one (or from 0).
        takes_per_instrument: how many takes each instrument gets.
        params: model-specific options (e.g. `seconds`, `tempo_bpm`, `output_rate`), recorded in each take.
        reference_stems: the reference's own parts by instrument (separated, at the reference's timing), for
            generators that match their takes to them (ViT+WaveGAN's reference match); None when unknown.
        rough_stems: the stems came from a rough separator (the weight-free DSP one, asked for or standing in
            for a model): generators follow them only when `params["reference_match"]` is True, since their
            leakage leads a take further astray than no stem at all (see `separation.base.rough_separator`).
    """

    reference: AudioClip
    instruments: tuple[str, ...]
    seeds: tuple[int, ...] = ()
    takes_per_instrument: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    reference_stems: dict[str, AudioClip] | None = None
    rough_stems: bool = False

    def __post_init__(self) -> None:
        unknown = [name for name in self.instruments if name not in INSTRUMENTS]
        if unknown or not self.instruments:
            raise ValueError(f"instruments must be a non-empty subset of {INSTRUMENTS}, got {self.instruments}")
        if self.takes_per_instrument < 1:
            raise ValueError("takes_per_instrument must be at least 1")

    def follows_stems(self) -> bool:
        """Whether a generator that can follow `reference_stems` should: as `params["reference_match"]` says,
        else unless the stems are rough."""
        chosen = self.params.get("reference_match")
        return bool(chosen) if chosen is not None else not self.rough_stems

    def take_seeds(self) -> tuple[int, ...]:
        """The seeds of the takes each instrument gets (`takes_per_instrument` of them)."""
        seeds = list(self.seeds[: self.takes_per_instrument])
        next_seed = (seeds[-1] + 1) if seeds else 0
        while len(seeds) < self.takes_per_instrument:
            seeds.append(next_seed)
            next_seed += 1
        return tuple(seeds)


@dataclass(frozen=True)
class GeneratedTake:
    """One composed stem: `clip` for `instrument`, reproducible from model id/version, seed and params."""

    instrument: str
    clip: AudioClip
    seed: int
    model_id: str
    model_version: str
    params: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Generator(Protocol):
    """Composes stems similar to a reference song."""

    id: str
    version: str

    def generate(self, request: GenerationRequest, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> list[GeneratedTake]:
        """Return one take per (instrument, seed) of `request`."""
        ...


GeneratorFactory = Callable[[str, str], Generator]
FamilyFactory = Callable[[Path, str], Generator]
_FACTORIES: dict[str, GeneratorFactory] = {}
_DESCRIPTIONS: dict[str, str] = {}
_FAMILIES: dict[str, FamilyFactory] = {}
_FOLLOWS_STEMS: dict[str, Callable[[Any], bool]] = {}
_CACHE: dict[str, Generator] = {}
_PREFIXES: dict[str, GeneratorFactory] = {}
_FAMILY_MODULES = ("musicsim_gui.generation.vit_wavegan", "musicsim_gui.generation.musicgen")


def register_generator(name: str, factory: GeneratorFactory, description: str = "") -> None:
    """Make `get_generator(name, backend)` build its generator with `factory(name, backend)` (built-in models)."""
    _FACTORIES[name] = factory
    _DESCRIPTIONS[name] = description


def register_family(family: str, factory: FamilyFactory,
                    follows_stems: Callable[[Any], bool] | None = None) -> None:
    """Make every installed model folder whose manifest says `family` loadable with `factory(folder, backend)`.
    `follows_stems(manifest)` says whether such a model's takes follow the reference's separated stem of their
    instrument (read from the manifest alone, without loading the model); without it, none do."""
    _FAMILIES[family] = factory
    if follows_stems is not None:
        _FOLLOWS_STEMS[family] = follows_stems


def register_prefix(prefix: str, factory: GeneratorFactory) -> None:
    """Make names `"<prefix>:<spec>"` build with `factory(spec, backend)` (e.g. "musicgen:<folder or repo id>")."""
    _PREFIXES[prefix] = factory


def _load_families() -> None:
    for module in _FAMILY_MODULES:
        importlib.import_module(module)


def _installed(entries: list[Any] | None = None) -> dict[str, tuple[Path, str]]:
    """Installed generation models of a registered family: name → (folder, one-line description), from
    `entries` (the registry's generation models) or a fresh registry scan."""
    from musicsim_gui.runtime.registry import ModelRegistry

    entries = ModelRegistry().list(task="generation") if entries is None else entries
    return {entry.name: (entry.path, f"{entry.manifest.family} {entry.manifest.version}"
                         + (" (bundled)" if entry.bundled else ""))
            for entry in entries if entry.manifest.family in _FAMILIES}


@dataclass(frozen=True)
class GeneratorCatalogue:
    """Every generator name with its one-line description (built-in ones and installed model folders), and
    the installed ones whose takes follow the reference's separated stem of their instrument."""

    descriptions: dict[str, str]
    stem_followers: frozenset[str]


def generator_catalogue() -> GeneratorCatalogue:
    """The `GeneratorCatalogue`, from one scan of the model folders (the scan reads every manifest)."""
    from musicsim_gui.runtime.registry import ModelRegistry

    _load_families()
    entries = ModelRegistry().list(task="generation")
    names = dict(_DESCRIPTIONS)
    names.update({name: description for name, (_, description) in _installed(entries).items()})
    followers = frozenset(entry.name for entry in entries if entry.manifest.family in _FOLLOWS_STEMS
                          and _FOLLOWS_STEMS[entry.manifest.family](entry.manifest))
    return GeneratorCatalogue(dict(sorted(names.items())), followers)


def available_generators() -> dict[str, str]:
    """Generator names and one-line descriptions: built-in ones plus installed model folders."""
    return generator_catalogue().descriptions


def stem_following_generators() -> frozenset[str]:
    """Installed generators whose takes follow the reference's separated stem of their instrument, so a track
    without a stem is worth separating first (see `register_family`)."""
    return generator_catalogue().stem_followers


def _call(factory: Callable[..., Generator], spec: Any, backend: str, device: str) -> Generator:
    """`factory(spec, backend)`, with `device=` too when the factory takes it and a device was chosen."""
    if device != "auto" and "device" in inspect.signature(factory).parameters:
        return factory(spec, backend, device=device)
    return factory(spec, backend)


def _build(name: str, backend: str, device: str = "auto") -> Generator:
    if name in _FACTORIES:
        return _call(_FACTORIES[name], name, backend, device)
    prefix, colon, spec = name.partition(":")
    if colon and prefix in _PREFIXES:
        return _call(_PREFIXES[prefix], spec, backend, device)
    folder = Path(name)
    if not (folder / "manifest.json").is_file():
        installed = _installed()
        if name not in installed:
            known = ", ".join(sorted({*_FACTORIES, *installed})) or "none"
            raise ModelError(f"unknown generator {name!r}; available: {known}")
        folder = installed[name][0]
    from musicsim_gui.runtime.manifest import load_manifest

    family = load_manifest(folder, verify=False).family
    if family not in _FAMILIES:
        raise ModelError(f"{folder}: model family {family!r} is not a generator family this build knows")
    return _call(_FAMILIES[family], folder, backend, device)


def get_generator(name: str = "vit-wavegan-lofi", backend: str = "auto", device: str = "auto") -> Generator:
    """The generator `name` (a built-in name, an installed model name, or a model folder path), cached.

    Args:
        name: e.g. "vit-wavegan-lofi" (bundled), "vit-wavegan-debug" (random weights), or a folder.
        backend: "auto" | "onnx" | "torch".
        device: "auto" | "cpu" | "cuda"; passed to generator families whose factory takes `device`.

    Raises:
        ModelError: unknown name, or the model's files are missing, corrupt or cannot run on `backend`.
    """
    _load_families()
    key = f"{name}@{backend}@{device}"
    if key not in _CACHE:
        _CACHE[key] = _build(name, backend, device)
    return _CACHE[key]


def check_cancel(cancel: CancelFn | None, what: str = "generation") -> None:
    """Raise `CancelledError` if `cancel()` says so."""
    if cancel is not None and cancel():
        raise CancelledError(what)


def report(progress: ProgressFn | None, fraction: float, message: str) -> None:
    """Call `progress` if given."""
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0), message)
