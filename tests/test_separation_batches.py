"""Separator training batches made in worker processes: same kind of batch, a run trains, failures are named."""

from __future__ import annotations

import multiprocessing
import shutil
from dataclasses import replace

import numpy as np
import pytest
from separation_support import write_corpus

from musicsim_gui.core.errors import ModelError, MusicSimError
from musicsim_gui.separation.masknet import debug_config
from musicsim_gui.training.separation.batches import ProcessBatches, ThreadBatches, batch_parts
from musicsim_gui.training.separation.metrics import read_rows
from musicsim_gui.training.separation.train import TrainConfig, train


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"), {"train": 3, "valid": 1}, seconds=3.0)


def _config(corpus, run_dir, **changes) -> TrainConfig:
    settings = dict(corpus=str(corpus), run_dir=str(run_dir), steps=4, batch=4, segment_seconds=1.0, val_every=4,
                    ckpt_every=4, val_count=4, warmup=2, lr=1e-3, model=replace(debug_config(), stereo_cue=True))
    return TrainConfig(**{**settings, **changes})


def _shapes(batch) -> list:
    return [None if value is None else [np.shape(part) for part in value] if isinstance(value, tuple)
            else value.shape for value in batch]


def test_worker_processes_make_the_batches_the_thread_makes(corpus, tmp_path):
    config = _config(corpus, tmp_path / "run")
    sampler, features, items = batch_parts(config, config.seed)
    threaded = ThreadBatches(sampler, features, items)
    processes = ProcessBatches(config, start_step=0, workers=2)
    try:
        from_thread, from_workers = threaded.get(), [processes.get() for _ in range(3)]
    finally:
        threaded.close()
        processes.close()
    assert all(_shapes(batch) == _shapes(from_thread) for batch in from_workers)
    assert from_thread.energy is not None and from_thread.partner is not None
    mixes = [batch.mix for batch in from_workers]
    assert not np.array_equal(mixes[0], mixes[1]), "each worker draws from its own generator"
    assert not any(process.is_alive() for process in processes.processes)


def test_a_run_trains_with_worker_processes_and_leaves_none_behind(corpus, tmp_path):
    state = train(_config(corpus, tmp_path / "run", workers=2), progress=False)
    assert state["step"] == 4
    rows = read_rows(tmp_path / "run")
    assert rows and np.isfinite(rows[-1]["val_loss"]) and np.isfinite(rows[-1]["train_loss"])
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()
    assert not [child for child in multiprocessing.active_children() if child.name.startswith("separator-batches")]


def test_a_failing_worker_is_named_by_the_trainer(corpus, tmp_path):
    broken = tmp_path / "corpus"
    shutil.copytree(corpus, broken)
    config = _config(broken, tmp_path / "run")
    shutil.rmtree(broken / "train")
    batches = ProcessBatches(config, start_step=0, workers=1)
    with pytest.raises(MusicSimError, match="batch worker process failed: MusicSimError: .*no finished songs"):
        batches.get()
    batches.close()
    assert not batches.processes[0].is_alive()


def test_a_negative_worker_count_is_refused_before_anything_is_written(corpus, tmp_path):
    with pytest.raises(ModelError, match="--workers -1"):
        train(_config(corpus, tmp_path / "run", workers=-1), progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("stereo, energy", [(True, True), (False, False)])
def test_features_made_on_the_device_equal_those_the_batch_makers_make(stereo, energy):
    import torch

    from musicsim_gui.training.separation.device_features import DeviceBandFeatures, raw_stems
    from musicsim_gui.training.separation.features import BandFeatures

    config = replace(debug_config(), stereo_cue=stereo)
    rng = np.random.default_rng(3)
    shape = (3, len(config.stems), 2, 8000) if stereo else (3, len(config.stems), 8000)
    stems = raw_stems((rng.standard_normal(shape) * 0.1).astype(np.float32))
    expected = BandFeatures(config, energy=energy)(stems.astype(np.float32))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        _assert_same_batch(expected, DeviceBandFeatures(config, energy, device)(torch.from_numpy(stems).to(device)))


def _assert_same_batch(expected, made) -> None:
    for want, got in zip(expected, made, strict=True):
        if want is None:
            assert got is None
            continue
        for w, g in zip(want if isinstance(want, tuple) else [want], got if isinstance(got, tuple) else [got],
                        strict=True):
            assert g.shape == w.shape
            np.testing.assert_allclose(g.cpu().numpy(), w, rtol=2e-4, atol=2e-4 * float(np.abs(w).max()))


@pytest.mark.parametrize("workers", [0, 2])
def test_a_run_trains_on_raw_stems_with_its_features_made_on_the_device(corpus, tmp_path, workers):
    state = train(_config(corpus, tmp_path / "run", workers=workers, features_on="device"), progress=False)
    assert state["step"] == 4 and np.isfinite(read_rows(tmp_path / "run")[-1]["val_loss"])
    with pytest.raises(ModelError, match="unknown place for the training features 'gpu'"):
        train(_config(corpus, tmp_path / "other", features_on="gpu"), progress=False)
