"""`musicsim ratings show|export|train-scorer`: the user's judgements of takes, and learning from them.

`show` prints the blind-test "fooled" rates per model and instrument (share of trials where the listener took
the generated clip for the real one, 95 % Wilson interval, trial count) and how many ratings and preferences
are stored; `export` writes every judgement as JSONL; `train-scorer` fits the preference scorer that reranks
best-of-N takes (`musicsim generate --takes N --keep K`). All read the ratings database in the user data
folder (`$MUSICSIM_DATA_DIR/ratings.sqlite` when set), or `--db FILE`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "ratings", "show, export and learn from ratings and blind tests")
    show = group.add_parser("show", help="fooled rates per model and instrument, and rating counts")
    _db_option(show)
    show.set_defaults(handler=run_show)
    export = group.add_parser("export", help="write every judgement as one JSON record per line")
    export.add_argument("-o", "--output", required=True, help="the JSONL file to write")
    _db_option(export)
    export.set_defaults(handler=run_export)
    train = group.add_parser("train-scorer", help="fit the preference scorer used to keep the best takes")
    train.add_argument("-o", "--output", default=None, help="scorer JSON (default: <user data>/preference_scorer"
                                                             ".json, the one `generate --keep` uses)")
    train.add_argument("--l2", type=float, default=1.0, help="L2 regularisation strength (default 1.0)")
    _db_option(train)
    train.set_defaults(handler=run_train)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, help="ratings database (default: <user data>/ratings.sqlite)")


def _open(args: argparse.Namespace):
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.core.ratings import RatingStore
    from musicsim_gui.runtime.paths import ratings_db_path

    path = Path(args.db) if args.db else ratings_db_path()
    if not path.is_file():
        raise MusicSimError(f"{path}: no ratings database yet (rate a take in the studio first)")
    return RatingStore(path)


def fooled_table(rates) -> list[str]:
    """Text rows of the fooled-rate table for `FooledRate` records."""
    rows = [f"{'model':<24} {'version':<10} {'instrument':<10} {'fooled':>7} {'95% CI':>15} {'trials':>7}"]
    for r in rates:
        rows.append(f"{r.model_id:<24} {r.model_version:<10} {r.instrument:<10} {100 * r.rate:6.1f}% "
                    f"[{100 * r.low:5.1f}, {100 * r.high:5.1f}] {r.trials:7d}")
    return rows


def run_show(args: argparse.Namespace) -> int:
    with _open(args) as store:
        rates = store.fooled_rates()
        latest = store.latest_ratings()
        rated = sum(1 for stars in latest.values() if stars is not None)
        preferences = len(store.preferences())
    print(f"ratings: {rated} rated takes; preferences: {preferences}")
    if rates:
        print("blind tests (fooled = listener took the generated clip for the real one):")
        for row in fooled_table(rates):
            print("  " + row)
    else:
        print("blind tests: none yet")
    return 0


def run_export(args: argparse.Namespace) -> int:
    with _open(args) as store:
        count = store.export_jsonl(args.output)
    print(f"{count} judgements -> {args.output}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from musicsim_gui.evaluation.preference import summary, train_scorer_file
    from musicsim_gui.runtime.paths import ratings_db_path, scorer_path

    out = Path(args.output) if args.output else scorer_path()
    report = train_scorer_file(Path(args.db) if args.db else ratings_db_path(), out, l2=args.l2)
    print(f"{summary(report)} -> {out}")
    return 0
