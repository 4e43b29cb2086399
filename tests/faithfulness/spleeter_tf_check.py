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
from musicsim_gui.separation.spleeter.wiener import separate_waveform_wiener


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
        x = torch.from_numpy(reference["spectrogram"])[None]
        masks = net(x).numpy()[0]
        raw = torch.stack([unet(x) for unet in net.unets], 1)
        raw = torch.softmax(raw, 1) if config.softmax else raw
        power = ((raw * x[:, None]) ** 2).sum(1).numpy()[0]           # [2, T, F]: Σ estimate²
        start = time.perf_counter()
        stems = separate_waveform(reference["waveform"], lambda m: net(torch.from_numpy(m)).numpy(), config)
        seconds = time.perf_counter() - start
        exact = build_spleeter(config).double()
        exact.load_state_dict(net.state_dict())
        masks64 = exact(x.double()).numpy()[0]
    ours = np.stack([stems[name] for name in config.instruments])
    error = np.abs(masks - reference["masks"])
    regular = np.broadcast_to(power > 1e-6, error.shape)
    print(f"masks: max abs error {error.max():.3g} (values {reference['masks'].min():.3g}…"
          f"{reference['masks'].max():.3g}); 99.9th percentile {np.quantile(error, 0.999):.3g}; "
          f"max {error[regular].max():.3g} where Σ estimate² > 1e-6 ({regular.mean():.1%} of bins), "
          f"max {error[~regular].max() if (~regular).any() else 0:.3g} where the 1e-10 epsilon terms dominate")
    print(f"float32 rounding scale: |TF - float64 torch| max {np.abs(reference['masks'] - masks64).max():.3g}, "
          f"|float32 torch - float64 torch| max {np.abs(masks - masks64).max():.3g}")
    print(f"stems: max abs error {np.abs(ours - reference['stems']).max():.3g} "
          f"(peak {np.abs(reference['stems']).max():.3g}); torch separation took {seconds:.1f} s "
          f"for {reference['waveform'].shape[-1] / config.sample_rate:.1f} s of audio")
    if "wiener" in reference:
        both = build_spleeter(config, estimates=True)
        both.load_state_dict(net.state_dict())
        with torch.no_grad():
            wiener = separate_waveform_wiener(reference["waveform"],
                                              lambda m: both(torch.from_numpy(m))[1].numpy(), config)
        ours = np.stack([wiener[name] for name in config.instruments])
        print(f"Wiener-filtered stems: max abs error {np.abs(ours - reference['wiener']).max():.3g} "
              f"(peak {np.abs(reference['wiener']).max():.3g})")


if __name__ == "__main__":
    main()
