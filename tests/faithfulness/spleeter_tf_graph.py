"""Builds Spleeter's inference graph in TensorFlow with random weights, saves a real checkpoint and its outputs.

Runs in a separate environment with TensorFlow and tf-keras (see spleeter_tf_check.sh), never in the
project's. The graph follows Spleeter's published design: a zero frame prepended, a periodic-Hann STFT
with the end padded, 512-frame segments (or `--T`), one U-Net per instrument built from Keras layers in
graph mode (so variables get Keras' automatic names, as in the released checkpoints), ratio masks with
exponent 2, zero mask above bin F, and an overlap-add inverse STFT scaled by 2/3.

Writes OUT/model.index, OUT/model.data-00000-of-00001, OUT/checkpoint and OUT/reference.npz with the
input waveform, the first segment's network input and ratio masks, and the separated stems.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tf_keras import layers  # noqa: E402

STEMS = {2: ["vocals", "accompaniment"], 4: ["vocals", "drums", "bass", "other"],
         5: ["vocals", "piano", "drums", "bass", "other"]}


def act(name):
    return {"leaky_relu": lambda: layers.LeakyReLU(0.2), "relu": layers.ReLU, "elu": layers.ELU}[name]()


def unet(x, filters, enc, dec, logits):
    """One instrument's U-Net on `x [B, T, F, 2]`; returns a sigmoid mask or logits `[B, T, F, 2]`."""
    init = tf.compat.v1.keras.initializers.he_uniform(seed=50)
    raw, h = [], x
    for width in filters:
        c = layers.Conv2D(width, (5, 5), strides=(2, 2), padding="same", kernel_initializer=init)(h)
        n = layers.BatchNormalization(axis=-1)(c, training=False)
        h = act(enc)(n)
        raw.append(c)
    h = raw[-1]
    widths = list(filters[-2::-1]) + [1]
    for i, width in enumerate(widths):
        u = layers.Conv2DTranspose(width, (5, 5), strides=(2, 2), padding="same", kernel_initializer=init)(h)
        u = layers.BatchNormalization(axis=-1)(act(dec)(u), training=False)
        if i < 3:
            u = layers.Dropout(0.5)(u, training=False)
        skip = len(raw) - 2 - i
        h = layers.Concatenate(axis=-1)([raw[skip], u]) if skip >= 0 else u
    out = layers.Conv2D(2, (4, 4), dilation_rate=(2, 2), padding="same", kernel_initializer=init,
                        activation=None if logits else "sigmoid")(h)
    return out


def build(args, waveform):
    L, H, T, F = args.frame_length, args.frame_step, args.T, args.F
    hann = lambda n, dtype: tf.signal.hann_window(n, periodic=True, dtype=dtype)  # noqa: E731
    padded = tf.concat([tf.zeros((L, 2)), waveform], 0)
    stft = tf.transpose(tf.signal.stft(tf.transpose(padded), L, H, window_fn=hann, pad_end=True), [1, 2, 0])
    frames = tf.shape(stft)[0]
    pad = tf.math.floormod(T - tf.math.floormod(frames, T), T)
    seg = tf.pad(stft, [[0, pad], [0, 0], [0, 0]])
    seg = tf.reshape(seg, tf.concat([[-1, T], tf.shape(seg)[1:]], 0))
    spec = tf.abs(seg)[:, :, :F, :]
    names = STEMS[args.stems]
    softmax = args.stems == 5
    enc, dec = ("leaky_relu", "relu") if args.stems == 2 else ("elu", "elu")
    raw = [unet(spec, args.filters, enc, dec, softmax) for _ in names]
    if softmax:
        masks = layers.Softmax(axis=4)(tf.stack(raw, axis=4))
        raw = [masks[..., i] for i in range(len(names))]
    est = [layers.Multiply()([m, spec]) for m in raw]
    total = tf.reduce_sum([e ** 2 for e in est], axis=0) + 1e-10
    ratio = [(e ** 2 + 1e-10 / len(est)) / total for e in est]
    def full(t):  # [segments, T, F, 2] → [frames, bins, 2], zero above bin F
        shape = tf.shape(t)
        t = tf.concat([t, tf.zeros((shape[0], shape[1], L // 2 + 1 - F, shape[3]))], axis=2)
        return tf.reshape(t, [-1, L // 2 + 1, 2])[:frames]

    def inverse(spectrum):
        wave = tf.signal.inverse_stft(tf.transpose(spectrum, [2, 0, 1]), L, H, window_fn=hann) * (2.0 / 3.0)
        return tf.transpose(wave)[L:L + tf.shape(waveform)[0]]

    stems = [inverse(tf.cast(full(mask), tf.complex64) * stft) for mask in ratio]
    if not args.mwf:
        return spec, tf.stack(ratio), tf.stack(stems), None
    import norbert  # Spleeter's MWF option: norbert's Wiener filter on the whole track, default settings

    v = tf.stack([full(e) for e in est], axis=3)
    filtered = tf.py_function(lambda v, x: norbert.wiener(v.numpy(), x.numpy()), [v, stft], tf.complex64)
    wiener = [inverse(filtered[:, :, :, k]) for k in range(len(est))]
    return spec, tf.stack(ratio), tf.stack(stems), tf.stack(wiener)


def randomize(session, rng):
    """Give every variable random values (biases and norm statistics too, so no layer is an identity)."""
    for var in tf.compat.v1.global_variables():
        shape, name = var.shape.as_list(), var.name
        if "moving_variance" in name or "gamma" in name:
            value = rng.uniform(0.5, 1.5, shape)
        elif "kernel" in name:
            value = session.run(var)
        else:
            value = rng.normal(0.0, 0.1, shape)
        var.load(value.astype(np.float32), session)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--stems", type=int, default=5)
    parser.add_argument("--frame-length", type=int, default=4096)
    parser.add_argument("--frame-step", type=int, default=1024)
    parser.add_argument("--T", type=int, default=512)
    parser.add_argument("--F", type=int, default=1024)
    parser.add_argument("--filters", type=int, nargs=6, default=[16, 32, 64, 128, 256, 512])
    parser.add_argument("--samples", type=int, default=44100 * 14)
    parser.add_argument("--meta", action="store_true", help="also write model.meta like the releases")
    parser.add_argument("--mwf", action="store_true", help="also separate with the Wiener filter (needs norbert)")
    args = parser.parse_args()
    tf.compat.v1.disable_eager_execution()
    rng = np.random.default_rng(7)
    t = np.arange(args.samples) / 44100.0
    wave = (0.3 * rng.standard_normal((args.samples, 2)) + 0.5 * np.sin(2 * np.pi * 220.0 * t)[:, None])
    wave = wave.astype(np.float32)
    inp = tf.compat.v1.placeholder(tf.float32, (None, 2), name="waveform")
    spec, masks, stems, wiener = build(args, inp)
    with tf.compat.v1.Session() as session:
        session.run(tf.compat.v1.global_variables_initializer())
        randomize(session, rng)
        saver = tf.compat.v1.train.Saver()
        saver.save(session, os.path.join(args.out, "model"), write_meta_graph=args.meta)
        spec_v, masks_v, stems_v = session.run([spec, masks, stems], {inp: wave})
        extra = {} if wiener is None else {"wiener": session.run(wiener, {inp: wave}).transpose(0, 2, 1).copy()}
    np.savez(os.path.join(args.out, "reference.npz"), waveform=wave.T.copy(), **extra,
             spectrogram=spec_v[0].transpose(2, 0, 1).copy(),          # [2, T, F], first segment
             masks=masks_v[:, 0].transpose(0, 3, 1, 2).copy(),         # [S, 2, T, F], first segment
             stems=stems_v.transpose(0, 2, 1).copy())                  # [S, 2, N]
    print("variables:", len(tf.compat.v1.global_variables()), "segments:", spec_v.shape[0])


if __name__ == "__main__":
    main()
