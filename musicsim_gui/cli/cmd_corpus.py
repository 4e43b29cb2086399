"""`musicsim corpus make|stats|demo|pack-soundfont|unpack-soundfont`: make the corpus, describe it, carry its font.

`make` renders songs into `DIR/<split>/<song_id>/` in worker processes with a progress bar and resumes a
half-made corpus; `stats` measures variety and per-stem loudness, brightness and onset rate; `demo`
renders the bundled demo song; `pack-soundfont` cuts the GM SoundFont down to the presets the corpus plays,
packed losslessly, and `unpack-soundfont` turns the pack back into an SF2 that renders the same songs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("corpus", help="make or describe the synthetic multi-stem LoFi corpus")
    actions = parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    make = actions.add_parser("make", help="render songs with bass/drums/piano/other stems (resumable)")
    make.add_argument("--songs", type=int, required=True, help="number of songs (of --split, or in total)")
    make.add_argument("--out", required=True, help="the corpus folder")
    make.add_argument("--split", default="all", choices=["all", "train", "valid", "test"],
                      help="which split to fill; 'all' makes 10%% test, 5%% valid, the rest train")
    make.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    make.add_argument("--seed-offset", type=int, default=0, help="skip this many seeds of each split")
    make.add_argument("--duration", type=float, default=None,
                      help="song length in seconds (default: drawn from 60..150 s per song)")
    make.add_argument("--bit-depth", type=int, default=16, choices=[16, 24], help="FLAC bit depth (default 16)")
    make.add_argument("--no-lofi", action="store_true", help="skip the LoFi chain (clean GM renders)")
    make.set_defaults(handler=run_make)
    stats = actions.add_parser("stats", help="variety and per-stem statistics of a corpus as a markdown table")
    stats.add_argument("corpus", help="the corpus folder")
    stats.add_argument("--split", default=None, choices=["train", "valid", "test"], help="only this split")
    stats.add_argument("--limit", type=int, default=100, help="songs to analyse (default 100)")
    stats.add_argument("-o", "--output", default=None, help="write the markdown here (default: stdout)")
    stats.set_defaults(handler=run_stats)
    demo = actions.add_parser("demo", help="render the bundled demo song (reference, stems, MIDI, meta)")
    demo.add_argument("--out", required=True, help="the demo folder (the repository's is resources/demo)")
    demo.add_argument("--seed", type=int, default=None, help="song seed (default: the demo seed)")
    demo.add_argument("--duration", type=float, default=None, help="length in seconds (default 90)")
    demo.set_defaults(handler=run_demo)
    pack = actions.add_parser("pack-soundfont", help="the presets the corpus plays, cut from the GM SoundFont and "
                                                     "packed losslessly (FLAC), to render the corpus elsewhere")
    pack.add_argument("--out", required=True, help="the pack (or, with --sf2, a plain SF2 subset)")
    pack.add_argument("--source", default=None,
                      help="the SF2 to cut from (default: $MUSICSIM_SOUNDFONT, else Debian's FluidR3_GM.sf2)")
    pack.add_argument("--sf2", action="store_true", help="write a plain SF2 subset instead of a pack")
    pack.set_defaults(handler=run_pack_soundfont)
    unpack = actions.add_parser("unpack-soundfont", help="turn a pack from pack-soundfont back into an SF2 "
                                                         "(render with MUSICSIM_SOUNDFONT=that file)")
    unpack.add_argument("pack", help="the pack")
    unpack.add_argument("--out", required=True, help="the SF2 to write")
    unpack.set_defaults(handler=run_unpack_soundfont)


def run_make(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.training.corpus.driver import CorpusRequest, make_corpus, split_counts

    if args.songs < 0 or args.workers < 1:
        raise MusicSimError("--songs must be ≥ 0 and --workers ≥ 1")
    songs = split_counts(args.songs) if args.split == "all" else {args.split: args.songs}
    request = CorpusRequest(root=Path(args.out), songs=songs, seed_offset=args.seed_offset,
                            duration_s=args.duration, bit_depth=args.bit_depth, lofi=not args.no_lofi,
                            workers=args.workers)
    bar = tqdm(total=0, unit="song", file=sys.stderr, disable=None)

    def progress(done: int, total: int, message: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message[-40:])
        bar.refresh()

    report = make_corpus(request, progress)
    bar.close()
    print(f"made {len(report.made)} songs ({report.audio_seconds:.0f} s of audio) in {report.wall_seconds:.0f} s "
          f"= {report.realtime_factor:.1f}x real time; {len(report.skipped)} already complete; "
          f"{len(report.failed)} failed")
    for song, error in report.failed.items():
        print(f"failed {song}: {error}", file=sys.stderr)
    return 1 if report.failed else 0


def run_stats(args: argparse.Namespace) -> int:
    from musicsim_gui.core.atomic import atomic_write_text
    from musicsim_gui.training.corpus.stats import corpus_stats_markdown

    text = corpus_stats_markdown(Path(args.corpus), split=args.split, limit=args.limit)
    if args.output:
        atomic_write_text(args.output, text)
        print(args.output)
    else:
        print(text)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from musicsim_gui.training.corpus.demo import DEMO_SECONDS, DEMO_SEED, make_demo

    seed = DEMO_SEED if args.seed is None else args.seed
    print(make_demo(Path(args.out), seed=seed, duration_s=args.duration or DEMO_SECONDS))
    return 0


def _describe(report, path: str) -> str:
    missing = f"; missing from the source: {report.missing}" if report.missing else ""
    return (f"{path}: {report.presets} presets, {report.instruments} instruments, {report.samples} samples, "
            f"{report.bytes / 1e6:.1f} MB{missing}")


def run_pack_soundfont(args: argparse.Namespace) -> int:
    from musicsim_gui.training.corpus.soundfont_pack import pack_soundfont
    from musicsim_gui.training.corpus.synth import soundfont_path

    source = Path(args.source) if args.source else soundfont_path()
    report = pack_soundfont(source, Path(args.out), codec="pcm" if args.sf2 else "flac")
    print(_describe(report, args.out))
    return 0


def run_unpack_soundfont(args: argparse.Namespace) -> int:
    from musicsim_gui.training.corpus.soundfont_pack import unpack_soundfont

    print(_describe(unpack_soundfont(Path(args.pack), Path(args.out)), args.out))
    return 0
