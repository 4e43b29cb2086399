"""`musicsim project new REF -o DIR` and `musicsim project show DIR`: create and inspect project folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.core.instruments import INSTRUMENTS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("project", help="create or inspect a project folder")
    actions = parser.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="create a project for a reference song")
    new.add_argument("reference", help="the reference audio file")
    new.add_argument("-o", "--out", required=True, help="the project folder to create")
    new.add_argument("--stems", metavar="DIR",
                     help="a folder with reference stems named bass/drums/piano/other.<ext> to attach")
    new.add_argument("--tempo", type=float, help="the reference's tempo in BPM, if known")
    new.add_argument("--first-downbeat", type=float, default=0.0, metavar="SECONDS",
                     help="where the reference's first full bar starts (bars are counted from there; default 0)")
    new.add_argument("--title", default="", help="a title (default: the reference's file name)")
    new.set_defaults(handler=run_new)
    show = actions.add_parser("show", help="print a project's tracks and takes")
    show.add_argument("project", help="a project folder")
    show.set_defaults(handler=run_show)


def find_stems(folder: Path) -> dict[str, Path]:
    """Files named after an instrument (any audio suffix) in `folder`."""
    found: dict[str, Path] = {}
    for name in INSTRUMENTS:
        for suffix in (".flac", ".wav", ".ogg", ".mp3", ".aiff", ".aif"):
            if (folder / f"{name}{suffix}").is_file():
                found[name] = folder / f"{name}{suffix}"
                break
    return found


def _made_by(track) -> str:
    """" (by SEPARATOR)" for a stem whose separator the project knows, else ""."""
    return f" (by {track.reference_stem_separator})" if track.reference_stem and track.reference_stem_separator else ""


def run_new(args: argparse.Namespace) -> int:
    from musicsim_gui.audio.project_render import new_project
    from musicsim_gui.core.errors import MusicSimError

    stems = None
    if args.stems:
        stems = find_stems(Path(args.stems))
        if not stems:
            raise MusicSimError(f"{args.stems}: no bass/drums/piano/other audio files here")
    if args.tempo is not None and args.tempo <= 0:
        raise MusicSimError(f"--tempo must be positive, got {args.tempo:g}")
    if args.first_downbeat < 0:
        raise MusicSimError(f"--first-downbeat must be 0 or more seconds, got {args.first_downbeat:g}")
    project = new_project(args.reference, args.out, stems=stems, title=args.title, tempo_bpm=args.tempo,
                          first_downbeat_seconds=args.first_downbeat)
    print(f"created {project.folder}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from musicsim_gui.core.projectfile import load_project

    project = load_project(args.project)
    tempo = f", {project.tempo_bpm:g} BPM" if project.tempo_bpm else ""
    if project.tempo_bpm and project.first_downbeat_seconds:
        tempo += f", bar 1 at {project.first_downbeat_seconds:g} s"
    print(f"{project.title or project.folder.name}: reference {project.reference_path}{tempo}")
    for name, track in project.tracks.items():
        flags = "".join(flag for flag, on in (("M", track.mute), ("S", track.solo), ("R", track.listen_reference)) if on)
        print(f"  {name:6s} {track.gain_db:+5.1f} dB pan {track.pan:+.2f} {flags:3s} "
              f"stem: {track.reference_stem or '-'}{_made_by(track)}  takes: {len(track.takes)}")
        for take in track.takes:
            mark = "*" if take.id == track.chosen_take_id else " "
            stars = "-" if take.rating is None else "★" * take.rating
            print(f"    {mark} {take.id} {take.model_id} {take.model_version} seed {take.seed} {stars}")
    return 0
