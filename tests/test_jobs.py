"""Jobs in this thread, a worker thread and a worker process: progress, results, errors and cancellation."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import pytest
import soundfile as sf

from musicsim_gui.jobs import (
    BusyWork,
    Cancelled,
    Done,
    ExportMix,
    Failed,
    JobContext,
    JobSpec,
    LoadAudio,
    ProcessRunner,
    Progress,
    SleepSteps,
    SyncRunner,
    ThreadRunner,
    job_function,
)


@dataclass(frozen=True)
class Crash(JobSpec):
    """A job whose worker dies without a word (like a crash or the OOM killer)."""

    code: int = 3


@job_function(Crash)
def run_crash(spec: Crash, context: JobContext) -> None:
    os._exit(spec.code)


@dataclass(frozen=True)
class Unpicklable(JobSpec):
    """A job whose result cannot cross a process boundary."""


@job_function(Unpicklable)
def run_unpicklable(spec: Unpicklable, context: JobContext):
    return lambda: None


@dataclass(frozen=True)
class Broken(JobSpec):
    """A job with a bug (an exception that is not a MusicSimError)."""


@job_function(Broken)
def run_broken(spec: Broken, context: JobContext) -> None:
    raise KeyError("missing-key")


@dataclass(frozen=True)
class TorchThreads(JobSpec):
    """Reports how many intra-op threads torch uses inside the worker."""


@job_function(TorchThreads)
def run_torch_threads(spec: TorchThreads, context: JobContext) -> int:
    import torch

    return torch.get_num_threads()


def terminal(events):
    ends = [event for event in events if isinstance(event, Done | Failed | Cancelled)]
    assert len(ends) == 1, events
    return ends[0]


def wait_for_progress(handle, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and handle.progress.fraction == 0.0 and not handle.finished:
        handle.poll()
        time.sleep(0.01)
    assert handle.progress.fraction > 0.0, "the job never reported progress"


def test_sync_runner_reports_progress_then_the_result():
    handle = SyncRunner().submit(SleepSteps(steps=3, step_seconds=0.0, result="ok"))
    events = handle.poll()
    assert isinstance(terminal(events), Done) and handle.result == "ok" and handle.state == "done"
    fractions = [event.fraction for event in events if isinstance(event, Progress)]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert handle.poll() == []


def test_job_errors_arrive_as_readable_events_with_detail():
    failed = terminal(SyncRunner().submit(SleepSteps(steps=3, step_seconds=0.0, fail_at=1)).poll())
    assert isinstance(failed, Failed)
    assert failed.message == "Step 1 of 3 failed on purpose."
    assert failed.error_type == "MusicSimError" and "Traceback" in failed.detail
    bug = terminal(SyncRunner().submit(Broken()).poll())
    assert bug.message.startswith("Broken failed: KeyError") and "missing-key" in bug.message


def test_load_audio_job_reads_a_file_and_names_a_missing_one(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, np.zeros((4410, 2), np.float32), 44100)
    handle = SyncRunner().submit(LoadAudio(str(path)))
    handle.poll()
    assert handle.result.frames == 4410 and handle.result.sample_rate == 44100
    failed = terminal(SyncRunner().submit(LoadAudio(str(tmp_path / "absent.wav"))).poll())
    assert isinstance(failed, Failed) and "absent.wav" in failed.message


def test_thread_job_can_be_cancelled():
    handle = ThreadRunner().submit(SleepSteps(steps=1000, step_seconds=0.01))
    wait_for_progress(handle)
    handle.cancel()
    events = handle.wait(2.0)
    assert handle.state == "cancelled"
    assert isinstance(terminal(events), Cancelled) and handle.error.message.startswith("Cancelled")


def test_process_job_reports_progress_eta_and_result():
    handle = ProcessRunner().submit(SleepSteps(steps=10, step_seconds=0.1, result="from the worker"))
    events = handle.wait(30.0)
    assert isinstance(terminal(events), Done) and handle.result == "from the worker"
    progress = [event for event in events if isinstance(event, Progress)]
    assert [p.message for p in progress][-1] == "Step 10 of 10"
    assert any(p.eta_seconds is not None and 0.0 <= p.eta_seconds < 2.0 for p in progress)
    assert handle.join(5.0) == 0


def test_process_job_error_arrives_as_an_error_event():
    handle = ProcessRunner().submit(SleepSteps(steps=5, step_seconds=0.0, fail_at=2))
    failed = terminal(handle.wait(30.0))
    assert isinstance(failed, Failed) and failed.message == "Step 2 of 5 failed on purpose."
    assert handle.state == "failed"


def test_cancelled_process_job_stops_within_a_second():
    handle = ProcessRunner().submit(BusyWork(seconds=60.0, kind="mixed"))
    wait_for_progress(handle)
    started = time.monotonic()
    handle.cancel()
    events = handle.wait(5.0)
    exitcode = handle.join(5.0)
    stopped = time.monotonic() - started
    assert isinstance(terminal(events), Cancelled)
    assert handle.error.message == "Cancelled busy work (mixed, 60 s)."
    assert stopped < 1.0, f"took {stopped:.2f} s to stop"
    assert exitcode == 0  # it stopped by itself, between steps


def test_process_that_ignores_cancel_is_terminated_after_the_grace_period():
    handle = ProcessRunner(grace_seconds=0.3).submit(SleepSteps(steps=600, step_seconds=0.1, ignore_cancel=True))
    wait_for_progress(handle)
    started = time.monotonic()
    handle.cancel()
    events = handle.wait(5.0)
    exitcode = handle.join(5.0)
    assert isinstance(terminal(events), Cancelled)
    assert time.monotonic() - started < 1.0
    assert exitcode is not None and exitcode < 0  # killed by a signal


def test_worker_that_dies_is_reported_with_its_exit_code():
    failed = terminal(ProcessRunner().submit(Crash(code=3)).wait(30.0))
    assert isinstance(failed, Failed) and "exited unexpectedly (code 3)" in failed.message


def test_unpicklable_result_becomes_an_error_not_a_hang():
    failed = terminal(ProcessRunner().submit(Unpicklable()).wait(30.0))
    assert isinstance(failed, Failed) and "cannot be passed back" in failed.message


def test_shutdown_stops_running_workers():
    runner = ProcessRunner(grace_seconds=0.2)
    handle = runner.submit(SleepSteps(steps=600, step_seconds=0.1, ignore_cancel=True))
    wait_for_progress(handle)
    runner.shutdown(timeout=2.0)
    assert not handle.process.is_alive()


def test_export_mix_job_writes_what_the_offline_render_gives(tmp_path):
    from musicsim_gui.audio.io import load_audio
    from musicsim_gui.audio.project_render import new_project, render_project

    rate = 22050
    t = np.arange(rate, dtype=np.float32) / rate
    reference = tmp_path / "ref.wav"
    stem = tmp_path / "bass.wav"
    sf.write(reference, 0.2 * np.sin(2 * np.pi * 220 * t), rate, subtype="FLOAT")
    sf.write(stem, 0.3 * np.sin(2 * np.pi * 110 * t), rate, subtype="FLOAT")
    project = new_project(reference, tmp_path / "proj", stems={"bass": stem})
    project.track("bass").listen_reference = True
    project.track("bass").gain_db = -3.0
    out = tmp_path / "mix.wav"
    from musicsim_gui.audio.mixdown import ExportSettings

    handle = ProcessRunner().submit(ExportMix(str(project.folder), str(out), ExportSettings(bit_depth=32),
                                              project=project))
    assert isinstance(terminal(handle.wait(60.0)), Done), handle.error
    assert handle.result == [str(out)]
    written = load_audio(out)
    expected = render_project(project)
    np.testing.assert_array_equal(written.samples, expected.samples)


@pytest.mark.parametrize("spec", [BusyWork(seconds=0.2, kind=kind) for kind in ("fft", "python", "mixed")])
def test_busy_work_kinds_run(spec):
    handle = SyncRunner().submit(spec)
    handle.poll()
    assert handle.state == "done" and handle.result > 0


def write_song(path, seconds: float = 2.0, rate: int = 22050) -> None:
    t = np.arange(round(seconds * rate), dtype=np.float32) / rate
    left = 0.3 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.sin(2 * np.pi * 880 * t)
    sf.write(path, np.stack([left, np.roll(left, 50)], axis=1), rate)


def test_separate_job_in_a_worker_writes_stems(tmp_path):
    from musicsim_gui.audio.io import load_audio
    from musicsim_gui.jobs import Separate

    song = tmp_path / "song.wav"
    write_song(song)
    handle = ProcessRunner().submit(Separate(str(song), model="dsp", out_dir=str(tmp_path / "stems"), device="cpu"))
    events = handle.wait(120.0)
    assert isinstance(terminal(events), Done), handle.error
    assert sorted(handle.result.paths) == ["bass", "drums", "other", "piano"]
    for name, path in handle.result.paths.items():
        assert path.endswith(f"{name}.flac") and load_audio(path).frames > 0
    assert handle.result.separator == "dsp 1"  # who made the stems travels with them
    assert any(isinstance(e, Progress) and 0.0 < e.fraction < 1.0 for e in events)


def test_generate_job_saves_takes_with_their_provenance(tmp_path):
    from musicsim_gui.audio.io import load_audio
    from musicsim_gui.jobs import Generate

    song = tmp_path / "song.wav"
    write_song(song)
    spec = Generate(str(song), str(tmp_path / "takes"), model="vit-wavegan-debug", instruments=("bass",),
                    seeds=(7,), params=(("seconds", 1.0),), device="cpu")
    handle = SyncRunner().submit(spec)
    assert isinstance(terminal(handle.poll()), Done), handle.error
    (take,) = handle.result
    assert take.seed == 7 and take.model_id and take.path.endswith(".flac")
    assert f"{os.sep}bass{os.sep}" in take.path and load_audio(take.path).frames > 0


def test_workers_limit_torch_threads_to_the_free_cores(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "64")  # an inherited oversubscription is overridden
    handle = ProcessRunner().submit(TorchThreads())
    assert isinstance(terminal(handle.wait(60.0)), Done), handle.error
    assert handle.result == max(1, (os.cpu_count() or 2) - 1)
    handle = ProcessRunner(threads=1).submit(TorchThreads())
    assert isinstance(terminal(handle.wait(60.0)), Done), handle.error
    assert handle.result == 1
