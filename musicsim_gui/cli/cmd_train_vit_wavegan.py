"""`musicsim train vit-wavegan --data CORPUS --config small --out RUN`: train (or resume) a ViT+WaveGAN."""

from __future__ import annotations

import argparse
from pathlib import Path

from musicsim_gui.cli.groups import command_group


def register(subparsers: argparse._SubParsersAction) -> None:
    group = command_group(subparsers, "train", "train a model on the corpus")
    parser = group.add_parser("vit-wavegan", help="ViT encoder + WaveGAN heads (resumes an existing RUN)")
    parser.add_argument("--data", required=True, help="corpus root with train/ (and valid/) song folders")
    parser.add_argument("--config", default="small", choices=("small", "paper", "debug"))
    parser.add_argument("--out", required=True, help="run folder (checkpoint, metrics.csv, losses.png, samples/)")
    parser.add_argument("--steps", type=int, default=3000, help="total steps (a resumed run continues to this)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--pairing", default="same-song", choices=("same-song", "paper"),
                        help="what a reference is trained to produce (default: another section of the same song)")
    parser.add_argument("--objective", default="stft", choices=("stft", "sliced"),
                        help="reconstruction objective: frame-aligned multi-resolution STFT, or the alignment-free "
                             "sliced Wasserstein distance of spectral frames")
    parser.add_argument("--adv-weight", type=float, default=0.05, help="weight of the WGAN term (0 = off)")
    parser.add_argument("--diversity-weight", type=float, default=0.0,
                        help="weight of the mode-seeking term: different seeds must give audibly different takes "
                             "(each step makes a second take of the same reference; 0 = off)")
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--sample-every", type=int, default=500)
    parser.add_argument("--snapshot-every", type=int, default=0, help="keep generator weights every N steps")
    parser.add_argument("--max-songs", type=int, default=None, help="use at most this many training songs")
    parser.add_argument("--minutes", type=float, default=None, help="stop (with a checkpoint) after this long")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes that prepare songs the run has not cached yet (default 1)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where it trains: auto (a CUDA GPU when torch sees one, else the CPU; default), cpu or "
                             "cuda; a run resumes on either")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: the generator's forward pass under bfloat16 autocast (mixed precision; on a "
                             "GPU's tensor cores), the critic in float32 (default fp32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-from", default=None, metavar="MODEL_DIR",
                        help="start a new run from this exported model's encoder and heads (e.g. "
                             "models/vit-wavegan-lofi); the critic starts fresh")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from musicsim_gui.training.vit_wavegan.train import TrainSettings, train

    settings = TrainSettings(
        config=args.config, steps=args.steps, batch=args.batch, pairing=args.pairing, objective=args.objective,
        adv_weight=args.adv_weight,
        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every, max_songs=args.max_songs, snapshot_every=args.snapshot_every,
        time_limit_s=args.minutes * 60.0 if args.minutes else None, threads=args.threads, seed=args.seed,
        init_from=args.init_from, diversity_weight=args.diversity_weight, device=args.device,
        precision=args.precision, workers=max(1, args.workers))
    result = train(Path(args.data), Path(args.out), settings, progress_bar=not args.quiet)
    print(f"stopped at step {result['step']} after {result['elapsed_s'] / 60:.1f} min; "
          f"validation STFT loss {result['valid_stft']:.4f}, sliced {result['valid_sliced']:.4f}; run folder {args.out}")
    return 0
