"""The taste-model job: train the preference scorer (`evaluation.preference`) from the ratings database.

The result is `train_scorer_file`'s report (a dict of plain values: comparisons, takes, agreement, path) with
"summary", one line for the user.
The scorer file is replaced only when training finished, so a cancelled or failed run leaves the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from musicsim_gui.jobs.spec import JobContext, JobSpec, job_function


@dataclass(frozen=True)
class TrainPreferenceScorer(JobSpec):
    """Fit the scorer that "keep best" ranks takes with on the judgements in `db`; write it to `out`.

    Attributes:
        db: the ratings database file.
        out: the scorer JSON to (re)write (`runtime.paths.scorer_path()` for the one Regenerate uses).
        l2: the regularisation strength.
    """

    db: str
    out: str
    l2: float = 1.0

    @property
    def title(self) -> str:
        return "Training the taste model from your ratings"


@job_function(TrainPreferenceScorer)
def run_train_preference_scorer(spec: TrainPreferenceScorer, context: JobContext) -> dict[str, Any]:
    from musicsim_gui.evaluation.preference import summary, train_scorer_file

    context.progress(0.0, "Reading your ratings")
    report = train_scorer_file(spec.db, spec.out, l2=spec.l2, progress=context.scaled(0.02, 0.98),
                               cancel=context.cancelled)
    context.progress(1.0, f"Learned from {report['pairs']} comparisons")
    return {**report, "summary": summary(report)}
