"""Compares the converted Spleeter model with TensorFlow's outputs saved by spleeter_tf_graph.py.

Usage: python spleeter_tf_check.py DIR [--frame-length N --frame-step N --T N --F N]
Prints the max abs error of the ratio masks (same network input) and of the separated stems.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from musicsim_gui.separation.spleeter.convert import convert_release
from musicsim_gui.separation.spleeter.spectral import separate_waveform
from musicsim_gui.separation.spleeter.unet import build_spleeter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    for name in ("frame-length", "frame-step", "T", "F"):
        parser.add_argument(f"--{name}", type=int)
    args = parser.parse_args()
    overrides = {k: v for k, v in {"frame_length": args.frame_length, "frame_step": args.frame_step,
                                   "T": args.T, "F": args.F}.items() if v is not None}
    start = time.perf_counter()
    config, tensors, _ = convert_release(args.folder, **overrides)
    print(f"converted {len(tensors)} tensors in {time.perf_counter() - start:.1f} s: {config}")
    net = build_spleeter(config)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    reference = np.load(f"{args.folder}/reference.npz")
    with torch.no_grad():
        masks = net(torch.from_numpy(reference["spectrogram"])[None]).numpy()[0]
        start = time.perf_counter()
        stems = separate_waveform(reference["waveform"], lambda m: net(torch.from_numpy(m)).numpy(), config)
        seconds = time.perf_counter() - start
    ours = np.stack([stems[name] for name in config.instruments])
    print(f"masks: max abs error {np.abs(masks - reference['masks']).max():.3g} "
          f"(values {reference['masks'].min():.3g}…{reference['masks'].max():.3g})")
    print(f"stems: max abs error {np.abs(ours - reference['stems']).max():.3g} "
          f"(peak {np.abs(reference['stems']).max():.3g}); torch separation took {seconds:.1f} s "
          f"for {reference['waveform'].shape[-1] / config.sample_rate:.1f} s of audio")


if __name__ == "__main__":
    main()
