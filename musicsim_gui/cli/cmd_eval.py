"""`musicsim eval separation`: score separators on corpus songs (SDR / SI-SDR table and bar chart).

`eval` is a command group (see `cli/groups.py`): other modules add `eval generation` and the like.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "eval", "evaluate models (separation quality, ...)")
    parser = group.add_parser("separation", help="per-stem SDR and SI-SDR of separators on corpus songs")
    parser.add_argument("--model", action="append", default=None,
                        help="separator to score: a name or a model folder (repeatable; default: builtin and dsp)")
    parser.add_argument("--data", required=True, help="a corpus split folder, e.g. CORPUS/test")
    parser.add_argument("--out", default="eval-separation", help="folder for the table, chart and JSON")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="score this many seconds from the middle of each song (0 = whole songs)")
    parser.add_argument("--max-songs", type=int, default=None, help="use at most this many songs")
    parser.add_argument("--no-oracle", action="store_true", help="skip the ideal-ratio-mask reference")
    parser.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"), help="model runtime")
    parser.add_argument("--record", default=None, metavar="MODEL_DIR",
                        help="write the first --model's figures into this model folder (manifest metrics, "
                             "MODEL_CARD.md with the table, eval_sdr.png)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from musicsim_gui.core.atomic import atomic_write_text
    from musicsim_gui.evaluation.separation import corpus_songs, evaluate, report_markdown, save_bar_chart
    from musicsim_gui.separation.base import get_separator

    names = args.model or ["builtin", "dsp"]
    separators = {}
    for name in names:
        separator = get_separator(name, backend=args.backend, cache=False)
        if separator.fallback_reason:
            print(f"musicsim: note: {separator.fallback_reason}", file=sys.stderr)
        separators[name if not separator.fallback_reason else f"{name}→dsp"] = separator
    if args.record:
        _check_record_target(args.record, names[0], separators)
    songs = corpus_songs(args.data)[: args.max_songs]
    result = evaluate(separators, songs, seconds=args.seconds or None, oracle=not args.no_oracle,
                      log=lambda text: print(text, file=sys.stderr))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = report_markdown(result, f"Separation quality on {args.data}")
    atomic_write_text(out / "separation.md", table)
    atomic_write_text(out / "separation.json", result.to_json())
    save_bar_chart(result, out / "separation_sdr.png")
    print(table)
    print(f"wrote {out / 'separation.md'}, {out / 'separation.json'}, {out / 'separation_sdr.png'}")
    if args.record:
        from musicsim_gui.training.separation.model_card import record_test_evaluation

        key = names[0]
        manifest = record_test_evaluation(args.record, result, key, args.seconds or None)
        print(f"recorded {key}'s figures in {args.record} (test SDR {manifest.metrics['test_sdr_mean_db']} dB mean)")
    return 0


def _check_record_target(folder: str, name: str, separators: dict) -> None:
    """Refuse `--record` before any song is separated when the figures would land in the wrong folder: the first
    --model must have loaded as itself (no DSP fallback) and be the model that `folder` holds."""
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.runtime.manifest import load_manifest

    if name not in separators:
        raise MusicSimError(f"--record {folder}: {name!r} did not load (it fell back to DSP), so there are no "
                            "figures of it to record")
    manifest = load_manifest(Path(folder), verify=True)
    if separators[name].id != manifest.name:
        raise MusicSimError(f"--record {folder}: that folder holds {manifest.name!r}, but the first --model is "
                            f"{name!r} ({separators[name].id}); its figures belong in its own folder")
