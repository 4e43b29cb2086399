"""`musicsim eval generation --models A,B --data CORPUS --out REPORT_DIR`: FAD, MSE, match and HE of generators.

Prints one row per system (each model, shuffled real stems, white and pink noise) with the FAD per instrument
and the match rate; `--out` writes report.md (the MuSiC paper's Table I layout), results.json and a PNG;
`-o` writes the raw result JSON only. The embedding is named beside every number (offline hand-crafted by
default; VGGish with locally stored weights on request).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "eval", "evaluate models")
    parser = group.add_parser("generation", help="FAD/MSE/HE per instrument vs shuffled-real and noise baselines")
    parser.add_argument("--data", required=True, help="corpus root with a test/ split (or the test/ folder)")
    parser.add_argument("--models", default=None,
                        help="comma-separated generator names or model folders; 'all' = every registered one")
    parser.add_argument("--model", action="append", default=None, help="one generator; repeat to compare several")
    parser.add_argument("--label", action="append", default=None, help="a display name per model")
    parser.add_argument("--songs", type=int, default=10, help="test songs to use (default 10)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per song and system (default 20)")
    parser.add_argument("--offset", type=float, default=20.0,
                        help="where the scored span of each song starts, in s (default 20): the real stems from "
                             "there, and each take, made on the song's timeline from 0 s, from there too")
    parser.add_argument("--takes-from-start", action="store_true",
                        help="score each take's first --seconds instead of the real stems' span (the protocol "
                             "before vit-wavegan-lofi 2.4, to compare with its figures)")
    parser.add_argument("--seed", type=int, default=0, help="base seed: noise, and generation seed + song index")
    parser.add_argument("--embedding", choices=("offline", "vggish"), default="offline")
    parser.add_argument("--vggish-weights", default=None, help="released VGGish weights file (local)")
    parser.add_argument("--vggish-pca", default=None, help="VGGish PCA parameters file (local, optional)")
    parser.add_argument("--fad-inf", action="store_true", help="also report FAD∞ (extrapolated to N → ∞)")
    parser.add_argument("--ratings", default=None, help="ratings database for HE (default: the user's)")
    parser.add_argument("--report-name", default="report.md", help="name of the Markdown report in --out")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="extra generation parameter for every model (JSON value, else text), e.g. mode=audio")
    parser.add_argument("--reference-separator", default="builtin",
                        help="separator that splits each test mix for models matching takes to the reference's "
                             "stems, as the studio does (default builtin; 'none': give them no stems)")
    parser.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto")
    parser.add_argument("--out", default=None, help="report folder: report.md, results.json, PNG plots")
    parser.add_argument("-o", "--output", default=None, help="write the raw result as JSON here")
    parser.set_defaults(handler=run)


def _corpus_root(data: Path) -> Path:
    """Accept the corpus root or its test/ folder."""
    return data.parent if data.name == "test" and not (data / "test").is_dir() else data


def parse_params(items: list[str]) -> dict:
    """`["mode=audio", "prompt_seconds=0"]` → `{"mode": "audio", "prompt_seconds": 0}` (JSON values, else text)."""
    import json

    from musicsim_gui.core.errors import MusicSimError

    params = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise MusicSimError(f"--param needs KEY=VALUE, got {item!r}")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def model_names(models: str | None, repeated: list[str] | None) -> list[str]:
    """The generators named by `--models A,B` (or `all`: every registered one) and repeated `--model`."""
    names = [m.strip() for m in (models or "").split(",") if m.strip()] + (repeated or [])
    if "all" in names:
        from musicsim_gui.generation.base import available_generators

        names = [n for n in names if n != "all"] + [n for n in available_generators() if n not in names]
    return names


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.evaluation.embedders import make_embedder
    from musicsim_gui.evaluation.report import write_report
    from musicsim_gui.generation.base import get_generator
    from musicsim_gui.runtime.paths import ratings_db_path
    from musicsim_gui.training.vit_wavegan.evaluate import evaluate

    names = model_names(args.models, args.model)
    if not names:
        raise MusicSimError("give the generators to evaluate with --models A,B,...")
    labels = args.label or [Path(m).name if "/" in m and ":" not in m else m for m in names]
    if len(labels) != len(names):
        raise MusicSimError("give one --label per model")
    embedder = make_embedder(args.embedding, args.vggish_weights, args.vggish_pca)
    generators = {label: get_generator(model, backend=args.backend) for label, model in zip(labels, names, strict=True)}
    try:
        result = evaluate(_corpus_root(Path(args.data)), generators, Path(args.output) if args.output else None,
                          songs=args.songs, seconds=args.seconds, offset=args.offset, log=lambda m: None,
                          embedder=embedder, seed=args.seed, fad_inf=args.fad_inf, params=parse_params(args.param),
                          separator=None if args.reference_separator == "none" else args.reference_separator,
                          aligned=not args.takes_from_start)
    except ValueError as error:
        raise MusicSimError(str(error)) from error
    result["model_names"] = dict(zip(labels, names, strict=True))
    _print_tables(result)
    if args.out:
        command = "musicsim " + shlex.join(corpus_as_placeholder(sys.argv[1:]))
        db = Path(args.ratings) if args.ratings else ratings_db_path()
        report = write_report(result, Path(args.out), command, db, args.report_name)
        print(f"report: {report}")
    return 0


def _print_tables(result: dict) -> None:
    instruments = [k for k in next(iter(result["fad"].values())) if k != "mean"]
    print(f"FAD ({result['songs']} songs × {result['seconds_per_song']:.0f} s; embedding {result['embedding']})")
    print(f"{'system':<24}" + "".join(f"{i:>9}" for i in [*instruments, "mean"]))
    for system, row in result["fad"].items():
        print(f"{system:<24}" + "".join(f"{row[i]:>9.2f}" for i in [*instruments, "mean"]))
    print(f"match rate (own song nearest; chance {1 / result['songs']:.2f})")
    for system, row in result["match"].items():
        print(f"{system:<24}" + "".join(f"{row[i]:>9.2f}" for i in [*instruments, "mean"]))
    print("variety (a second seed's take vs the first, as a share of the distance between songs)")
    for system, row in result.get("variety", {}).items():
        print(f"{system:<24}" + "".join(f"{row[i]:>9.2f}" for i in [*instruments, "mean"]))
    parts = result.get("fad_parts", {})
    for system in (s for s in (*result["models"], "shuffled real") if s in parts):
        print(f"where {system}'s FAD comes from (offset of the means; FAD of each feature group alone)")
        names = list(parts[system]["mean"])
        print(f"{'':<24}" + "".join(f"{n:>13}" for n in names))
        for inst in [*instruments, "mean"]:
            print(f"{inst:<24}" + "".join(f"{parts[system][inst][n]:>13.2f}" for n in names))


def corpus_as_placeholder(argv: list[str]) -> list[str]:
    """The command line with the corpus folder written as CORPUS: a report is read on other machines (a bundled
    model's EVAL.md), where the folder it was scored from means nothing; `results.json` keeps the real path."""
    out, skip = [], False
    for arg in argv:
        if skip:
            out.append("CORPUS")
            skip = False
        elif arg == "--data":
            out.append(arg)
            skip = True
        elif arg.startswith("--data="):
            out.append("--data=CORPUS")
        else:
            out.append(arg)
    return out
