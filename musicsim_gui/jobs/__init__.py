"""Long-running work off the GUI thread: frozen job specs, runners, progress and cancellation.

Usage: `handle = ProcessRunner().submit(Separate("song.wav"))`, then call `handle.poll()` from a timer and
show each `Progress`; the job ends with one `Done`, `Failed` or `Cancelled` event. `handle.cancel()` stops it.
"""

from musicsim_gui.jobs.builtin import BusyWork, SleepSteps
from musicsim_gui.jobs.events import Cancelled, Done, Failed, JobEvent, Progress
from musicsim_gui.jobs.handle import JobHandle
from musicsim_gui.jobs.kinds import ExportMix, Generate, LoadAudio, SavedStems, Separate
from musicsim_gui.jobs.process import ProcessRunner
from musicsim_gui.jobs.runners import JobRunner, SyncRunner, ThreadRunner
from musicsim_gui.jobs.spec import JobContext, JobSpec, job_function

__all__ = [
    "BusyWork", "Cancelled", "Done", "ExportMix", "Failed", "Generate", "JobContext", "JobEvent", "JobHandle",
    "JobRunner", "JobSpec", "LoadAudio", "ProcessRunner", "Progress", "SavedStems", "Separate", "SleepSteps", "SyncRunner",
    "ThreadRunner", "job_function",
]
