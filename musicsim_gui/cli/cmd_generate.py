"""`musicsim generate REF -o DIR`: compose takes of instrument stems similar to a reference song.

Writes one audio file per take (`<instrument>_take<k>_seed<seed>.flac`) and a `takes.json` listing each take's
file, seed, model and parameters, all atomically; with `--spectrogram PNG`, also a mel spectrogram of the
reference above the first take of every instrument.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from musicsim_gui.cli.musicgen_options import (
    add_musicgen_options,
    generator_name,
    musicgen_params,
    progress_printer,
)
from musicsim_gui.core.instruments import INSTRUMENTS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("generate", help="compose instrument takes similar to a reference song")
    parser.add_argument("reference", help="the reference song (any audio file)")
    parser.add_argument("-o", "--output", required=True, help="folder for the take files and takes.json")
    parser.add_argument("--model", default="vit-wavegan-lofi",
                        help="generator name, or a model folder (default vit-wavegan-lofi; see `musicsim models`)")
    parser.add_argument("--instruments", default=",".join(INSTRUMENTS),
                        help=f"comma-separated subset of {','.join(INSTRUMENTS)} (default: all)")
    parser.add_argument("--takes", type=int, default=1, help="takes per instrument (default 1)")
    parser.add_argument("--keep", type=int, default=None,
                        help="keep only the best K takes per instrument, ranked by the preference scorer trained "
                             "from your ratings (studio: Ratings > Train taste model; or `musicsim ratings "
                             "train-scorer`), e.g. --takes 8 --keep 2")
    parser.add_argument("--scorer", default=None, help="preference scorer JSON (default: the user's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first take; later takes count up")
    parser.add_argument("--seconds", type=float, default=None, help="take length (default: the reference's)")
    parser.add_argument("--tempo", type=float, default=None, help="tempo in BPM (default: estimated)")
    parser.add_argument("--first-downbeat", type=float, default=None,
                        help="ViT+WaveGAN takes: seconds where their bars and phrases start (default: the "
                             "reference's first downbeat, estimated; 0: the take's first sample)")
    parser.add_argument("--arrangement", choices=("phrase", "loop"), default=None,
                        help="ViT+WaveGAN takes: 'phrase' (loop variations in 4-bar phrases, the default) or "
                             "'loop' (one loop repeated)")
    parser.add_argument("--no-smoothing", action="store_true",
                        help="ViT+WaveGAN takes: keep the heads' raw texture (no temporal smoothing, no spectral floor "
                             "subtraction)")
    parser.add_argument("--stems", default=None,
                        help="ViT+WaveGAN takes: folder with the reference's stems (bass/drums/piano/other.<ext>, "
                             "as `musicsim separate` writes them), matched in tone, dynamics and chords; default: the "
                             "reference is separated (--separator) when the model matches takes to it")
    parser.add_argument("--separator", default="builtin",
                        help="separator for the reference's stems when --stems is not given (default builtin); "
                             "stems from the rough DSP separator are not followed unless --follow-rough-stems")
    parser.add_argument("--follow-rough-stems", action="store_true",
                        help="ViT+WaveGAN takes: follow the reference's stems even when the DSP separator made them "
                             "(takes come out further from real parts than with no stems at all)")
    parser.add_argument("--no-reference-match", action="store_true",
                        help="ViT+WaveGAN takes: ignore the reference's stems (the model's own tone and key only)")
    parser.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto", help="model runtime")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="compute device")
    parser.add_argument("--format", choices=("flac", "wav"), default="flac", help="take file format")
    parser.add_argument("--spectrogram", default=None, help="also write a mel spectrogram PNG here")
    add_musicgen_options(parser)
    parser.set_defaults(handler=run)


def _instruments(text: str) -> tuple[str, ...]:
    from musicsim_gui.core.errors import MusicSimError

    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in INSTRUMENTS]
    if unknown or not names:
        raise MusicSimError(f"unknown instrument(s) {', '.join(unknown) or '(none given)'}; "
                            f"choose from {', '.join(INSTRUMENTS)}")
    return names


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.audio.io import load_audio, save_audio
    from musicsim_gui.core.atomic import atomic_write_text
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.generation.base import GenerationRequest, get_generator

    if args.takes < 1:
        raise MusicSimError("--takes must be at least 1")
    instruments = _instruments(args.instruments)
    reference = load_audio(args.reference)
    generator = get_generator(generator_name(args), backend=args.backend, device=args.device)
    seeds = tuple(range(args.seed, args.seed + args.takes))
    params = {key: value for key, value in (("seconds", args.seconds), ("tempo_bpm", args.tempo),
                                            ("arrangement", args.arrangement)) if value}
    if args.no_smoothing:
        params["smoothing"] = False
    if args.first_downbeat is not None:
        params["first_downbeat"] = args.first_downbeat
    if args.no_reference_match:
        params["reference_match"] = False
    params.update(musicgen_params(args))
    request = GenerationRequest(reference, instruments, seeds, args.takes, params,
                                _reference_stems(args, generator, reference, instruments))
    started = time.perf_counter()
    takes = generator.generate(request, progress=progress_printer(args))
    if args.keep is not None:
        takes = _keep_best(takes, args)
    elapsed = time.perf_counter() - started
    out = Path(args.output)
    records = []
    for take in takes:
        index = seeds.index(take.seed) + 1
        name = f"{take.instrument}_take{index}_seed{take.seed}.{args.format}"
        save_audio(out / name, take.clip, bit_depth=24)
        records.append({"instrument": take.instrument, "file": name, "seed": take.seed, "model_id": take.model_id,
                        "model_version": take.model_version, "params": take.params,
                        "duration_s": round(take.clip.duration, 3), "sample_rate": take.clip.sample_rate})
    summary = {"reference": str(Path(args.reference).resolve()), "reference_hash": reference.content_hash(),
               "model": generator.id, "version": generator.version, "generate_seconds": round(elapsed, 3),
               "takes": records}
    atomic_write_text(out / "takes.json", json.dumps(summary, indent=2) + "\n")
    if args.spectrogram:
        _spectrogram(args.spectrogram, reference, takes)
    for record in records:
        print(out / record["file"])
    print(f"{len(takes)} takes in {elapsed:.2f} s -> {out / 'takes.json'}")
    return 0


def _reference_stems(args: argparse.Namespace, generator, reference, instruments: tuple[str, ...]):
    """The reference's stems for a generator that matches takes to them (None otherwise or when turned off)."""
    from musicsim_gui.audio.io import load_audio
    from musicsim_gui.cli.cmd_project import find_stems
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.separation.base import get_separator, rough_separator, separator_label
    from musicsim_gui.training.vit_wavegan.reference_stems import separate_reference, wants_reference_stems

    if args.no_reference_match or not wants_reference_stems(generator):
        return None
    if args.stems:
        found = {name: path for name, path in find_stems(Path(args.stems)).items() if name in instruments}
        if not found:
            raise MusicSimError(f"{args.stems}: no stems here for {', '.join(instruments)} "
                                "(audio files named after the instrument, e.g. bass.wav)")
        return {name: load_audio(path) for name, path in found.items()}
    separator = get_separator(args.separator, backend=args.backend, device=args.device)
    label = separator_label(separator)
    if rough_separator(label) and not args.follow_rough_stems:
        print(f"not following the reference's stems: {label} would make them, and takes "
              "follow rough stems worse than none (--follow-rough-stems follows them anyway)")
        return None
    print(f"separating the reference with {label} (for the reference match; --no-reference-match skips it)")
    return separate_reference(reference, separator)


def _keep_best(takes: list, args: argparse.Namespace) -> list:
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.evaluation.preference import default_scorer, keep_best

    if not 1 <= args.keep <= args.takes:
        raise MusicSimError(f"--keep must be between 1 and --takes ({args.takes})")
    scorer = default_scorer(args.scorer)
    if scorer is None:
        raise MusicSimError("--keep needs a preference scorer: rate takes in the studio, then choose "
                            "Ratings > Train taste model (or run `musicsim ratings train-scorer`)")
    return keep_best(takes, args.keep, scorer)


def _spectrogram(path: str, reference, takes) -> None:
    from musicsim_gui.audio.figures import save_spectrogram_png

    firsts = {}
    for take in takes:
        firsts.setdefault(take.instrument, take)
    clips = [reference, *(take.clip for take in firsts.values())]
    titles = [f"reference: {Path(reference.source).name}",
              *(f"{take.instrument} (seed {take.seed}, {take.model_id})" for take in firsts.values())]
    save_spectrogram_png(clips, path, titles=titles)
