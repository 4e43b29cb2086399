"""`musicsim train separator`: train (or resume) the built-in separator on a corpus, optionally export it."""

from __future__ import annotations

import argparse
from dataclasses import replace

from musicsim_gui.cli.groups import command_group
from musicsim_gui.core.errors import MusicSimError


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "train", "train a model on the corpus")
    parser = group.add_parser("separator", help="train the built-in stem separator (resumable)")
    parser.add_argument("--corpus", required=True, help="corpus folder with train/ and valid/ splits")
    parser.add_argument("--run-dir", required=True, help="run folder (checkpoints, metrics.csv, loss.png); "
                                                         "an existing run is resumed")
    parser.add_argument("--steps", type=int, default=6000, help="total optimizer steps (default 6000)")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this much wall time")
    parser.add_argument("--batch", type=int, default=16, help="examples per step (default 16)")
    parser.add_argument("--segment-seconds", type=float, default=None, metavar="S",
                        help="length of each training and validation example (default 3 s; the network's temporal "
                             "context reaches about 3.5 s either side, which longer examples let it use in training)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--workers", type=int, default=0,
                        help="processes that make the batches (default 0: one helper thread, reproducible); "
                             "give a GPU run on a many-core machine several, e.g. 12")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--warmup", type=int, default=200, help="learning-rate warm-up steps (default 200)")
    parser.add_argument("--remix", type=float, default=0.5,
                        help="share of examples whose stems come from different songs (default 0.5)")
    parser.add_argument("--init-from", metavar="MODEL",
                        help="start a new run from these weights (a model folder such as models/separation-builtin, "
                             "whose network shape the run takes and the flags below can only grow, or a "
                             ".safetensors file)")
    parser.add_argument("--fresh-lr-scale", type=float, default=1.0, metavar="K",
                        help="learning-rate factor for the parts of the network the --init-from weights lack "
                             "(added blocks, branches, paths; default 1)")
    parser.add_argument("--train-added-only", action="store_true",
                        help="train only the parts of the network the --init-from weights lack; the trained ones "
                             "stay as they are")
    parser.add_argument("--loss", choices=("sdr", "l1"), default="sdr",
                        help="sdr: negative SDR of complex masking per stem, the measure the evaluation uses "
                             "(default); l1: relative L1 of band magnitudes")
    parser.add_argument("--average-decay", type=float, default=0.0, metavar="D",
                        help="keep an exponential moving average of the weights with this decay per step (e.g. "
                             "0.999) and validate, keep and export the average instead of the last weights "
                             "(default 0: none)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="arithmetic of the forward pass: bf16 runs it under bfloat16 autocast (weights and loss "
                             "stay float32; about twice as fast on CPUs with AVX-512 BF16; default fp32)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the network trains: auto (a CUDA GPU when torch sees one, else the CPU; "
                             "default), cpu or cuda; a run resumes on either")
    parser.add_argument("--val-every", type=int, default=200, help="steps between validations")
    parser.add_argument("--val-count", type=int, default=48, metavar="N",
                        help="validation segments (of --segment-seconds, from the valid split; default 48): more make the choice of "
                             "the best weights firmer at the cost of a longer validation")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the example draw and initial weights (default 0); a run continued from "
                             "earlier weights with a new seed sees a new sequence of examples")
    parser.add_argument("--tiny", action="store_true", help="a tiny network and short segments (smoke tests)")
    parser.add_argument("--export", metavar="DIR", help="export the best weights into this model folder")
    parser.add_argument("--version", default="1.0", help="version of the exported model (default 1.0)")
    parser.add_argument("--note", default=None,
                        help="what changed in this version, for the model card's history (the --init-from "
                             "model's history is carried on)")
    parser.add_argument("--stem-priors", action="store_true",
                        help="after the export, fit the model's stem prior weights (per stem and frequency region) "
                             "on the corpus's valid split (as musicsim export stem-priors does)")
    parser.add_argument("--mask-power", type=float, default=1.0,
                        help="post-filter of the exported model: masks sharpened as m^p / sum m^p (default 1)")
    parser.add_argument("--no-wiener", action="store_true",
                        help="the exported model applies the masks only, without the multichannel Wiener filter "
                             "over stereo input")
    parser.add_argument("--chunk-seconds", type=float, default=None, metavar="S",
                        help="seconds of a song the exported model separates at once (default "
                             "separation.builtin.CHUNK_SECONDS; a song-context network hears more of the song "
                             "in a longer chunk)")
    parser.add_argument("--stereo-cue", action="store_true",
                        help="the network also reads the other channel and uses the level difference between them "
                             "(mono --init-from weights start it as the mono network)")
    parser.add_argument("--decoder-hidden", type=int, default=0, metavar="UNITS",
                        help="add a nonlinear (MLP) decoder branch with this many units; it starts as a no-op, "
                             "so --init-from weights without it start the network where they were")
    parser.add_argument("--local-channels", type=int, default=0, metavar="C",
                        help="add a band-resolved convolution path with this many channels; it starts as a no-op, "
                             "so --init-from weights without it start the network where they were")
    parser.add_argument("--local-layers", type=int, default=0, metavar="N",
                        help="residual layers inside the band-resolved path (each sees twice as far in time); they "
                             "start as no-ops, so --init-from weights without them start the network where they were")
    parser.add_argument("--song-context", action="store_true",
                        help="add per-song logit offsets read from the whole input's average features; they start "
                             "as a no-op, so --init-from weights without them start the network where they were")
    parser.add_argument("--blocks", type=int, default=None, metavar="N",
                        help="temporal blocks of the network (default 6); blocks beyond those of the --init-from "
                             "weights start as identities, so the deeper network starts where they were")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.separation.builtin import manifest_chunk_seconds
    from musicsim_gui.separation.masknet import debug_config
    from musicsim_gui.separation.masknet_config import MaskNetConfig
    from musicsim_gui.training.separation.dataset import Augmentation
    from musicsim_gui.training.separation.export import export_run
    from musicsim_gui.training.separation.train import TrainConfig, network_config, train

    if not args.export and (args.note or args.version != "1.0" or args.stem_priors or args.chunk_seconds):
        raise MusicSimError("--version, --note, --stem-priors and --chunk-seconds describe the exported model: add "
                            "--export DIR (or export the run later), so they are not lost after training")
    if args.chunk_seconds is not None:
        manifest_chunk_seconds({"chunk_seconds": args.chunk_seconds})  # refused before training, not after
    config = TrainConfig(corpus=args.corpus, run_dir=args.run_dir, steps=args.steps, minutes=args.minutes,
                         batch=args.batch, threads=args.threads, workers=args.workers, lr=args.lr, val_every=args.val_every,
                         ckpt_every=min(100, args.val_every), warmup=args.warmup, init_from=args.init_from,
                         fresh_lr_scale=args.fresh_lr_scale, train_added_only=args.train_added_only, loss=args.loss, val_count=args.val_count,
                         seed=args.seed, average_decay=args.average_decay, precision=args.precision,
                         device=args.device, augmentation=Augmentation(remix=args.remix),
                         model=replace(debug_config() if args.tiny else MaskNetConfig(), stereo_cue=args.stereo_cue,
                                       decoder_hidden=args.decoder_hidden, local_channels=args.local_channels,
                                       local_layers=args.local_layers, song_context=args.song_context))
    if args.blocks:
        config.model = replace(config.model, blocks=args.blocks)
    config.model = network_config(config.init_from, config.model)  # a resumed run gets the same shape again
    if args.tiny:
        config.segment_seconds, config.val_count, config.warmup = 1.0, 4, 5
    if args.segment_seconds is not None:
        config.segment_seconds = args.segment_seconds
    state = train(config, progress=not args.no_progress)
    print(f"trained to step {state['step']}; best validation loss {state.get('best_loss', float('nan')):.4f} "
          f"(validation SDR {state['best_sdr']:.2f} dB there); run: {args.run_dir}")
    if args.export:
        manifest = export_run(args.run_dir, args.export, mask_power=args.mask_power,
                              wiener=not args.no_wiener, version=args.version, note=args.note,
                              **({} if args.chunk_seconds is None else {"chunk_seconds": args.chunk_seconds}))
        print(f"exported {manifest.name} {manifest.version} to {args.export} "
              f"(ONNX parity {manifest.metrics['onnx_parity_max_abs']:.2e})")
        if args.stem_priors:
            _fit_priors(args)
    return 0


def _fit_priors(args: argparse.Namespace) -> None:
    """Fit and store the exported model's stem priors on the corpus's valid split."""
    from pathlib import Path

    from musicsim_gui.evaluation.separation import corpus_songs
    from musicsim_gui.training.separation.stem_priors import (
        DEFAULT_EDGES_HZ,
        describe_regions,
        describe_weights,
        fit_stem_priors,
        install_stem_priors,
    )

    valid = Path(args.corpus) / "valid"
    fit = fit_stem_priors(Path(args.export), corpus_songs(valid), edges_hz=DEFAULT_EDGES_HZ)
    install_stem_priors(args.export, fit, valid)
    print(f"stem priors ({describe_regions(fit.edges_hz)}) {describe_weights(fit.weights)}: "
          f"validation SDR {fit.before['mean']:.2f} -> {fit.after['mean']:.2f} dB")
