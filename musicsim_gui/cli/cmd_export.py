"""`musicsim export onnx RUN -o models/NAME`: turn a ViT+WaveGAN training run into an installable model folder;
`musicsim export tone MODEL_DIR --corpus C`: fit a model folder's tone match and store it there;
`musicsim export smoothing MODEL_DIR --seconds other=0.3,bass=0.1`: store a model folder's temporal smoothing;
`musicsim export spectral-floor MODEL_DIR --strengths piano=2`: store its spectral floor subtraction;
`musicsim export low-cut MODEL_DIR --cutoffs drums=30`: store its low cut; `musicsim export band-dynamics
MODEL_DIR --ratios bass=1.3 [--from-hz bass=1600]`: store how far its loops' bands move; `musicsim export harmony MODEL_DIR
--shifts bass=6,piano=6`: store how far its loop copies follow the reference part's chords;
`musicsim export reference-match MODEL_DIR --strengths bass=0.3/0,drums=0.75/0.75 [--contour piano=0.75/0.5]`:
store its reference match; `musicsim export match-tone MODEL_DIR --corpus C`: fit and store the reference
match's final tone (again after every change of the strengths, which drops it); `musicsim export rests
MODEL_DIR --rests drums=40/1`: store where its takes fall silent because the reference's part rests.

The folder gets `encoder.onnx`, `heads.onnx`, `weights.safetensors` (unless `--no-weights`), `MODEL_CARD.md`
and `manifest.json`; the torch-vs-ONNX Runtime parity error is printed and recorded in the manifest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "export", "export a trained model")
    parser = group.add_parser("onnx", help="export a ViT+WaveGAN run folder as an ONNX model folder")
    parser.add_argument("run", help="the training run folder (with checkpoint.safetensors)")
    parser.add_argument("-o", "--output", required=True, help="the model folder to write (e.g. models/NAME)")
    parser.add_argument("--name", default=None, help="registry name (default: the output folder's name)")
    parser.add_argument("--version", default="1.0", help="model version string (default 1.0)")
    parser.add_argument("--no-weights", action="store_true", help="ONNX only, no safetensors (no torch backend)")
    parser.add_argument("--post-filter", type=int, default=0, metavar="TAPS",
                        help="fit a TAPS-tap per-instrument FIR post-filter on the run's training songs (e.g. 511)")
    parser.add_argument("--bandwidth-corpus", metavar="CORPUS", default=None,
                        help="fit the takes' bandwidth extension (the band above the model's Nyquist frequency, "
                             "rebuilt per instrument) on this corpus's full-band training stems")
    parser.add_argument("--tone-corpus", metavar="CORPUS", default=None,
                        help="fit the takes' tone match (a per-instrument equaliser to the training stems' "
                             "spectral shape) on this corpus's training songs, after the export")
    parser.add_argument("--smoothing", metavar="INST=SECONDS,...", default=None,
                        help="temporal smoothing windows per instrument (e.g. other=0.3,bass=0.1), stored before "
                             "the tone match is fitted")
    parser.set_defaults(handler=run)
    tone = group.add_parser("tone", help="fit a ViT+WaveGAN model folder's tone match on a corpus and store it")
    _model_folder_argument(tone)
    tone.add_argument("--corpus", required=True, help="the corpus whose train split the takes are matched to")
    tone.add_argument("--songs", type=int, default=30, help="training songs to fit on (default 30)")
    tone.set_defaults(handler=run_tone)
    _setting_parser(group, "smoothing", "store a ViT+WaveGAN model folder's temporal smoothing windows",
                    run_smoothing, "--seconds", "INST=SECONDS,...",
                    "averaging window per instrument, e.g. other=0.3,bass=0.1 (the list replaces the model's: "
                    "instruments not named are not smoothed; an empty string removes the smoothing)")
    floor = _setting_parser(group, "spectral-floor",
                            "store how strongly a ViT+WaveGAN model folder's takes lose the floor between their "
                            "partials", run_spectral_floor, "--strengths", "INST=STRENGTH,...",
                            "per instrument, how many times the floor is subtracted (0-4), e.g. piano=2 (the list "
                            "replaces the model's: instruments not named keep the floor between their partials; an "
                            "empty string removes the step)")
    floor.add_argument("--width-hz", type=float, default=320.0,
                       help="the width over which the floor is the spectrum's minimum (default 320 Hz)")
    floor.add_argument("--max-hz", default="", metavar="INST=HZ,...",
                       help="per instrument, the frequency above which the subtraction fades out over an octave, "
                            "e.g. bass=1600 (instruments not named: the whole band)")
    floor.add_argument("--fill-from", default="", metavar="INST=HZ,...",
                       help="per instrument, the frequency above which the valleys between partials are filled "
                            "instead (fading in over the octave above), e.g. bass=1500 (instruments not named: "
                            "nowhere)")
    floor.add_argument("--fill-width-hz", type=float, default=200.0,
                       help="the width over which a filled bin's power is spread (default 200 Hz)")
    low_cut = _setting_parser(group, "low-cut", "store the cutoffs below which a ViT+WaveGAN model folder's "
                                                "takes lose their infrasonic rumble",
                              run_low_cut, "--cutoffs", "INST=HZ,...",
                              "per instrument, the high-pass cutoff in Hz (5-300), e.g. drums=30,bass=20 (the list "
                              "replaces the model's: instruments not named are not cut; an empty string removes the "
                              "step)")
    low_cut.add_argument("--order", type=int, default=4,
                         help="Butterworth order of the high-pass, applied forwards and backwards (1-8, default 4)")
    dynamics = _setting_parser(group, "band-dynamics", "store how far a ViT+WaveGAN model folder's loops' bands "
                                                       "move about their mean",
                               run_band_dynamics, "--ratios", "INST=RATIO,...",
                               "per instrument, the ratio (0.25-4) by which each band's movement about its mean is "
                               "scaled, e.g. bass=1.3 (the list replaces the model's: instruments not named are left "
                               "as they are; an empty string removes the step)")
    dynamics.add_argument("--from-hz", default="", metavar="INST=HZ,...",
                          help="per instrument, the lowest band centre that is scaled, e.g. bass=1600 (instruments "
                               "not named: every band)")
    harmony = _setting_parser(group, "harmony", "store how far a ViT+WaveGAN model folder's loop copies may be "
                                                "transposed to follow the reference part's chords",
                              run_harmony, "--shifts", "INST=SEMITONES,...",
                              "per pitched instrument, the largest transposition in semitones (1-6; 6 reaches every "
                              "chord), e.g. bass=6,piano=6 (the list replaces the model's: instruments not named "
                              "play their loop as the heads made it; an empty string removes the step)")
    harmony.add_argument("--change-cost", type=float, default=0.1,
                         help="how much better (in correlation, 0-2) another transposition must fit a copy than "
                              "the previous copy's before the take changes it (default 0.1)")
    match = _setting_parser(group, "reference-match",
                            "store how strongly a ViT+WaveGAN model folder's takes follow the reference's stems",
                            run_reference_match, "--strengths", "INST=MEAN/STD,...",
                            "per instrument, the strength (0-1) of the tone (band mean) and of the band dynamics "
                            "(deviation) match, e.g. bass=0.3/0,drums=0.75/0.75 (the list replaces the model's: "
                            "instruments not named do not follow their stem; an empty string turns the match off)")
    match.add_argument("--contour", default="", metavar="INST=STRENGTH/SECONDS,...",
                       help="per instrument, how strongly (0-1) the take rises and falls with the reference's part "
                            "over the song, and over how many seconds that part's band levels are averaged, e.g. "
                            "piano=0.75/0.5 (instruments not named do not follow it)")
    _setting_parser(group, "rests", "store where a ViT+WaveGAN model folder's takes fall silent because the "
                                    "reference's part rests", run_rests, "--rests", "INST=BELOW_DB/SECONDS,...",
                    "per instrument, how far (dB) under its typical level the reference's part must stay, and for how "
                    "many seconds at least, for the take to rest there too, e.g. drums=40/1 (the list replaces the "
                    "model's: instruments not named play throughout; an empty string removes the step)")
    final = group.add_parser("match-tone", help="fit the final tone of a ViT+WaveGAN model folder's reference "
                                                "match on a corpus and store it")
    _model_folder_argument(final)
    final.add_argument("--corpus", required=True, help="the corpus whose train split the takes are matched to")
    final.add_argument("--songs", type=int, default=30, help="training songs to fit on (default 30)")
    final.add_argument("--instruments", default="", metavar="INST,...",
                       help="the instruments to fit (default: every instrument the match follows); the "
                            "others keep their stored final tone")
    final.add_argument("--separator", default="builtin", help="the separator that splits the mixes (default builtin)")
    final.set_defaults(handler=run_match_tone)


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.training.vit_wavegan.export_run import export_run

    out = Path(args.output)
    manifest = export_run(Path(args.run), out, args.name or out.name, args.version, weights=not args.no_weights,
                          post_filter=args.post_filter,
                          bandwidth_corpus=Path(args.bandwidth_corpus) if args.bandwidth_corpus else None)
    error = manifest.metrics["onnx_parity_max_abs"]
    if error > 1e-3:
        raise MusicSimError(f"{out}: ONNX Runtime differs from torch by {error:.2e} (> 1e-3)")
    if args.smoothing:
        from musicsim_gui.training.vit_wavegan.smoothing_install import install_smoothing

        manifest = install_smoothing(out, _smoothing(args.smoothing, manifest.config["model"]["instruments"]))
    if args.tone_corpus:
        from musicsim_gui.training.vit_wavegan.tone_fit import fit_model_tone, install_tone_match

        manifest = install_tone_match(out, fit_model_tone(out, Path(args.tone_corpus)))
    size = sum((out / name).stat().st_size for name in manifest.files) / 1e6
    print(f"exported {manifest.name} {manifest.version} to {out} ({size:.1f} MB); ONNX parity {error:.2e}")
    return 0


def run_tone(args: argparse.Namespace) -> int:
    from musicsim_gui.training.vit_wavegan.tone_fit import card_line, fit_model_tone, install_tone_match

    folder = Path(args.model)
    match = fit_model_tone(folder, Path(args.corpus), songs=args.songs)
    manifest = install_tone_match(folder, match)
    print(f"{manifest.name} {manifest.version}: {card_line(match)}")
    return 0


def _model_folder_argument(parser: argparse.ArgumentParser) -> None:
    """The positional model folder every ViT+WaveGAN setting command takes."""
    parser.add_argument("model", help="the model folder (e.g. models/vit-wavegan-lofi)")


def _setting_parser(group, name: str, help_text: str, handler, option: str, metavar: str,
                    option_help: str) -> argparse.ArgumentParser:
    """A ViT+WaveGAN setting command `name` on a model folder, whose required `option` lists the setting per
    instrument; the caller adds its further options to the returned parser."""
    parser = group.add_parser(name, help=help_text)
    _model_folder_argument(parser)
    parser.add_argument(option, required=True, metavar=metavar, help=option_help)
    parser.set_defaults(handler=handler)
    return parser


def _setting_for_heads(text: str, instruments: list[str], parse, named, label: str):
    """`parse(text)` → a per-instrument setting whose `named(setting)` instruments are all heads of the model
    (`instruments`); MusicSimError naming the problem otherwise."""
    from musicsim_gui.core.errors import MusicSimError

    try:
        setting = parse(text)
    except ValueError as error:
        raise MusicSimError(str(error)) from error
    unknown = [name for name in named(setting) if name not in instruments]
    if unknown:
        raise MusicSimError(f"{label}: the model has no head for {', '.join(unknown)} "
                            f"(heads: {', '.join(instruments)})")
    return setting


def _smoothing(text: str, instruments: list[str]):
    """`--seconds`/`--smoothing` text → `TemporalSmoothing` for a model with these heads (MusicSimError if not)."""
    from musicsim_gui.generation.vit_wavegan.smoothing import parse_smoothing

    return _setting_for_heads(text, instruments, parse_smoothing, lambda s: s.seconds, "temporal smoothing")


def _store_setting(model: str, text: str, parse, named, label: str, install, describe) -> int:
    """Parse a per-instrument setting (`text`) for the heads of the model folder `model`, store it there with
    `install(folder, setting)` and print its card line `describe(setting)`."""
    from musicsim_gui.runtime.manifest import load_manifest

    folder = Path(model)
    instruments = load_manifest(folder, verify=True).config["model"]["instruments"]
    setting = _setting_for_heads(text, instruments, parse, named, label)
    manifest = install(folder, setting)
    print(f"{manifest.name} {manifest.version}: {describe(setting)}")
    return 0


def run_smoothing(args: argparse.Namespace) -> int:
    from musicsim_gui.generation.vit_wavegan.smoothing import parse_smoothing
    from musicsim_gui.training.vit_wavegan.smoothing_install import card_line, install_smoothing

    return _store_setting(args.model, args.seconds, parse_smoothing, lambda setting: setting.seconds,
                          "temporal smoothing", install_smoothing, card_line)


def run_spectral_floor(args: argparse.Namespace) -> int:
    from musicsim_gui.generation.vit_wavegan.spectral_floor import SpectralFloor, parse_floor
    from musicsim_gui.training.vit_wavegan.spectral_floor_install import card_line, install_spectral_floor

    def parse(text: str) -> SpectralFloor:
        return parse_floor(text, args.width_hz, args.max_hz, args.fill_from, args.fill_width_hz)

    return _store_setting(args.model, args.strengths, parse,
                          lambda setting: setting.strengths, "spectral floor", install_spectral_floor, card_line)


def run_low_cut(args: argparse.Namespace) -> int:
    from musicsim_gui.generation.vit_wavegan.low_cut import parse_low_cut
    from musicsim_gui.training.vit_wavegan.low_cut_install import card_line, install_low_cut

    return _store_setting(args.model, args.cutoffs, lambda text: parse_low_cut(text, args.order),
                          lambda setting: setting.cutoffs_hz, "low cut", install_low_cut, card_line)


def run_band_dynamics(args: argparse.Namespace) -> int:
    from musicsim_gui.generation.vit_wavegan.band_dynamics import parse_band_dynamics
    from musicsim_gui.training.vit_wavegan.band_dynamics_install import card_line, install_band_dynamics

    return _store_setting(args.model, args.ratios, lambda text: parse_band_dynamics(text, args.from_hz),
                          lambda setting: setting.ratios, "band dynamics", install_band_dynamics, card_line)


def run_harmony(args: argparse.Namespace) -> int:
    from musicsim_gui.generation.vit_wavegan.harmony import parse_harmony
    from musicsim_gui.training.vit_wavegan.harmony_install import card_line, install_harmony

    return _store_setting(args.model, args.shifts, lambda text: parse_harmony(text, args.change_cost),
                          lambda setting: setting.shifts, "harmony", install_harmony, card_line)


def run_rests(args: argparse.Namespace) -> int:
    from musicsim_gui.generation.vit_wavegan.rests import parse_rests
    from musicsim_gui.training.vit_wavegan.rests_install import card_line, install_rests

    return _store_setting(args.model, args.rests, parse_rests, lambda setting: setting.settings, "rests",
                          install_rests, card_line)


def run_reference_match(args: argparse.Namespace) -> int:
    from musicsim_gui.generation.vit_wavegan.reference_match import parse_strengths
    from musicsim_gui.runtime.manifest import load_manifest
    from musicsim_gui.training.vit_wavegan.reference_match_install import card_line, install_reference_match

    folder = Path(args.model)
    config = load_manifest(folder, verify=True).config
    match = _setting_for_heads(args.strengths, config["model"]["instruments"],
                               lambda text: parse_strengths(text, args.contour),
                               lambda m: {**m.strengths, **m.contour}, "reference match")
    had_tone = bool((config.get("reference_match") or {}).get("tone"))
    manifest = install_reference_match(folder, match)
    print(f"{manifest.name} {manifest.version}: {card_line(match)}")
    if had_tone:
        print("the final tone fitted for the earlier strengths was dropped; fit it again with "
              f"`musicsim export match-tone {folder} --corpus CORPUS`")
    return 0


def run_match_tone(args: argparse.Namespace) -> int:
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.generation.vit_wavegan.reference_match import ReferenceMatch
    from musicsim_gui.runtime.manifest import load_manifest
    from musicsim_gui.separation.base import get_separator, separator_label
    from musicsim_gui.training.vit_wavegan.reference_match_install import card_line
    from musicsim_gui.training.vit_wavegan.tone_fit import fit_match_tone, install_match_tone

    folder = Path(args.model)
    config = load_manifest(folder, verify=True).config
    data = config.get("reference_match")
    if not data:
        raise MusicSimError(f"{folder}: the model has no reference match (`musicsim export reference-match` first)")
    match = ReferenceMatch.from_dict(data)
    followed = [name for name in config["model"]["instruments"] if match.applies_to(name)]
    instruments = [name.strip() for name in args.instruments.split(",") if name.strip()] or followed
    unknown = [name for name in instruments if name not in followed]
    if unknown:
        raise MusicSimError(f"match tone: the reference match does not follow {', '.join(unknown)} "
                            f"(it follows {', '.join(followed) or 'none'})")
    splitter = get_separator(args.separator, cache=False)
    if getattr(splitter, "fallback_reason", None):  # a tone for another separator's parts would be wrong
        raise MusicSimError(f"match tone: {splitter.fallback_reason}; nothing fitted")
    tone = fit_match_tone(folder, Path(args.corpus), songs=args.songs, instruments=tuple(instruments),
                          separator=splitter)
    manifest = install_match_tone(folder, tone, separator_label(splitter))
    print(f"{manifest.name} {manifest.version}: {card_line(ReferenceMatch.from_dict(manifest.config['reference_match']))}")
    return 0
