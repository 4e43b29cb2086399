"""`musicsim finetune vit-wavegan --from-ratings`: a new model version whose heads lean toward highly rated takes.

Reads the ratings database (stars given to takes of the chosen model version), fine-tunes the heads
(`training.vit_wavegan.finetune`) and writes `<model>-ft<k>` into the user model folder, where the studio and
`musicsim generate --model` find it; the original model stays available for A/B blind tests.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "finetune", "fine-tune a generator from your ratings")
    parser = group.add_parser("vit-wavegan", help="fine-tune ViT+WaveGAN heads toward highly rated takes")
    parser.add_argument("--from-ratings", action="store_true", required=True,
                        help="learn from the star ratings in the ratings database (the only source for now)")
    parser.add_argument("--model", default="vit-wavegan-lofi", help="installed model name or folder to start from")
    parser.add_argument("--db", default=None, help="ratings database (default: <user data>/ratings.sqlite)")
    parser.add_argument("-o", "--output", default=None, help="folder to write the new model into "
                                                             "(default: the user model folder)")
    parser.add_argument("--steps", type=int, default=40, help="optimisation steps (default 40)")
    parser.add_argument("--l2", type=float, default=1.0, help="weight of the drift penalty to the parent (default 1)")
    parser.set_defaults(handler=run)


def _parent(name: str) -> Path:
    from musicsim_gui.runtime.registry import ModelRegistry

    folder = Path(name)
    return folder if (folder / "manifest.json").is_file() else ModelRegistry().get(name).path


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.core.ratings import RatingStore
    from musicsim_gui.runtime.manifest import load_manifest
    from musicsim_gui.runtime.paths import ratings_db_path, user_models_dir
    from musicsim_gui.training.vit_wavegan.finetune import (
        FinetuneSettings,
        examples_from_store,
        finetune_folder,
    )

    parent = _parent(args.model)
    manifest = load_manifest(parent, verify=False)
    if manifest.family != "vit-wavegan":
        raise MusicSimError(f"{parent}: a {manifest.family} model, not ViT+WaveGAN")
    db = Path(args.db) if args.db else ratings_db_path()
    if not db.is_file():
        raise MusicSimError(f"{db}: no ratings database yet (rate takes in the studio first)")
    with RatingStore(db) as store:
        examples = examples_from_store(store, manifest.name, manifest.version)
    if len(examples) < 2:
        raise MusicSimError(f"{len(examples)} rated take(s) of {manifest.name} {manifest.version} with a readable "
                            "reference; rate at least two differently")
    out = Path(args.output) if args.output else user_models_dir()
    out.mkdir(parents=True, exist_ok=True)

    def progress(fraction: float, message: str) -> None:
        if int(fraction * args.steps) % 10 == 0 or fraction >= 1.0:
            print(f"{100 * fraction:5.1f}%  {message}", flush=True)

    folder = finetune_folder(parent, examples, out, FinetuneSettings(steps=args.steps, l2=args.l2), progress)
    new = load_manifest(folder, verify=True)
    print(f"{new.name} {new.version} (from {manifest.name} {manifest.version}, {len(examples)} ratings) -> {folder}")
    return 0
