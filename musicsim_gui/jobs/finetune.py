"""The fine-tune job: a new ViT+WaveGAN version from the user's ratings, as a background job with progress.

The result is the new model folder's path (a string); the parent model stays installed next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from musicsim_gui.jobs.spec import JobContext, JobSpec, job_function


@dataclass(frozen=True)
class FinetuneFromRatings(JobSpec):
    """Fine-tune `model`'s heads on the star ratings in `db`; writes `<model>-ft<k>` into `out_dir`.

    Attributes:
        model: an installed ViT+WaveGAN model name, or a model folder.
        db: the ratings database file.
        out_dir: where the new model folder goes (the user model folder, so the studio finds it).
        steps / l2: optimisation steps and the drift penalty weight (`training.vit_wavegan.finetune`).
    """

    model: str
    db: str
    out_dir: str
    steps: int = 40
    l2: float = 1.0

    @property
    def title(self) -> str:
        return f"Fine-tuning {Path(self.model).name} from ratings"


@job_function(FinetuneFromRatings)
def run_finetune(spec: FinetuneFromRatings, context: JobContext) -> str:
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.core.ratings import RatingStore
    from musicsim_gui.runtime.manifest import load_manifest
    from musicsim_gui.runtime.registry import ModelRegistry
    from musicsim_gui.training.vit_wavegan.finetune import (
        FinetuneSettings,
        examples_from_store,
        finetune_folder,
    )

    context.progress(0.0, "Reading the ratings")
    parent = Path(spec.model)
    if not (parent / "manifest.json").is_file():
        parent = ModelRegistry().get(spec.model).path
    manifest = load_manifest(parent, verify=False)
    if not Path(spec.db).is_file():
        raise MusicSimError(f"{spec.db}: no ratings database yet (rate takes first)")
    with RatingStore(spec.db) as store:
        examples = examples_from_store(store, manifest.name, manifest.version)
    if len(examples) < 2:
        raise MusicSimError(f"{len(examples)} rated take(s) of {manifest.name} {manifest.version}; "
                            "rate at least two takes differently")
    scaled = context.scaled(0.1, 0.95)

    def progress(fraction: float, message: str) -> None:
        context.check(spec.title)
        scaled(fraction, message)

    out = Path(spec.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    folder = finetune_folder(parent, examples, out, FinetuneSettings(steps=spec.steps, l2=spec.l2), progress)
    context.progress(1.0, f"New model {folder.name}")
    return str(folder)
