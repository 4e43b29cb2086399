"""The Ratings menu: blind tests per instrument or for the whole mix, their results, A/B preferences, a blind
comparison of two model versions (`gui.model_compare`), and learning from the ratings as background jobs:
training the taste model (the preference scorer Regenerate's "keep best" ranks takes with) and fine-tuning
the generator.

Dialogs play through the window's engine with an `Audition` and record through the project controller's
`RatingLog` (the ratings database in the user data folder).
"""

from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.instruments import INSTRUMENTS

TRAIN_SCORER_ACTION = "Train taste model from my ratings\u2026"
STATUS_SECONDS = 15


def add_ratings_menu(window) -> None:
    """Add "Ratings" to `window`'s menu bar (the window has `.project`, a `ProjectController`)."""
    menu = window.menuBar().addMenu("&Ratings")
    for instrument in INSTRUMENTS:
        menu.addAction(f"Blind test: {instrument}\u2026", lambda i=instrument: open_blind_test(window, i))
    menu.addAction("Blind test: whole mix\u2026", lambda: open_blind_test(window, "mix"))
    menu.addSeparator()
    menu.addAction("Blind-test results\u2026", lambda: open_results(window))
    menu.addAction("Compare model versions\u2026", lambda: _compare_models(window))
    menu.addSeparator()
    train = menu.addAction(TRAIN_SCORER_ACTION, lambda: start_scorer_training(window))
    train.setStatusTip("Learn which takes you like from your star ratings and A/B choices, so Regenerate "
                       "can keep the best takes")
    menu.addAction("Fine-tune ViT+WaveGAN from ratings", lambda: start_finetune(window))


def _compare_models(window):
    from musicsim_gui.gui.model_compare import open_model_comparison

    return open_model_comparison(window)


def blind_trials_for(controller, scope: str, rng: random.Random | None = None) -> list:
    """The trials of a blind test of `scope` (an instrument or "mix") for the controller's project."""
    from musicsim_gui.gui.blind_trials import instrument_trials, mix_trial

    rng = rng or random.Random()
    if scope == "mix":
        trial = mix_trial(controller.project, rng)
        return [trial] if trial is not None else []
    return instrument_trials(controller.project, scope, rng)


def open_blind_test(window, scope: str, rng: random.Random | None = None):
    """Show the blind-test dialog for `scope`; returns it (None when no project is open)."""
    from musicsim_gui.gui.audition import Audition
    from musicsim_gui.gui.blind_test_dialog import BlindTestDialog

    controller = window.project
    if controller.project is None:
        return None
    try:
        trials = blind_trials_for(controller, scope, rng)
    except MusicSimError as error:
        controller.notice.emit(str(error), "")
        return None
    dialog = BlindTestDialog(trials, Audition(controller), controller.ratings, window)
    dialog.open()
    return dialog


def open_results(window):
    """Show the fooled-rate table of every blind test so far."""
    from musicsim_gui.gui.fooled_rate_table import FooledRateTable

    dialog = QDialog(window)
    dialog.setWindowTitle("Blind-test results")
    table = FooledRateTable(dialog)
    try:
        table.show_rates(window.project.ratings.fooled_rates())
    except MusicSimError as error:
        window.project.notice.emit(str(error), "")
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(560, 260)
    dialog.open()
    return dialog


def open_prefer(controller, instrument: str, take_a, take_b, parent=None, rng: random.Random | None = None):
    """Show the A/B preference dialog for two takes of `instrument` in random order (the dialog names no
    model, so takes of two model versions make a blind comparison); returns it."""
    from musicsim_gui.gui.audition import Audition
    from musicsim_gui.gui.prefer_dialog import PreferDialog

    if (rng or random.Random()).random() < 0.5:
        take_a, take_b = take_b, take_a
    dialog = PreferDialog(controller, instrument, take_a, take_b, Audition(controller), controller.ratings, parent)
    dialog.open()
    return dialog


def start_finetune(window, steps: int = 40) -> int | None:
    """Start fine-tuning the studio's ViT+WaveGAN model from the ratings as a background job; its key."""
    from musicsim_gui.jobs.finetune import FinetuneFromRatings
    from musicsim_gui.runtime.paths import ratings_db_path, user_models_dir

    jobs = window.jobs
    model = jobs.generator if jobs.generator and "vit-wavegan" in jobs.generator else "vit-wavegan-lofi"
    spec = FinetuneFromRatings(model, str(ratings_db_path()), str(user_models_dir()), steps=steps)
    return jobs.submit(spec, on_done=lambda folder: f"New model {Path(folder).name} (choose it in Settings)")


def start_scorer_training(window) -> int | None:
    """Train the taste model from the ratings database as a background job (Cancel keeps the previous model);
    the outcome goes to the status bar. Returns the job's key."""
    from musicsim_gui.jobs.scorer import TrainPreferenceScorer
    from musicsim_gui.runtime.paths import ratings_db_path, scorer_path

    jobs = window.jobs
    if jobs is None:
        return None
    status = window.statusBar()

    def finished(report: dict) -> str:
        text = f"Taste model ready: Regenerate can keep the best takes. {report['summary']}"
        status.showMessage(text, STATUS_SECONDS * 1000)
        return text

    key = jobs.submit(TrainPreferenceScorer(str(ratings_db_path()), str(scorer_path())), on_done=finished)
    if key in jobs.handles:  # it started: hear how it ends
        _on_failure(jobs, key, lambda message: status.showMessage(
            "Taste model training cancelled; the previous model is kept" if message == "cancelled"
            else f"Taste model not trained: {message}", STATUS_SECONDS * 1000))
    return key


def _on_failure(jobs, key: int, callback) -> None:
    """Call `callback(message)` if job `key` fails or is cancelled ("cancelled"); stop listening when it ends."""

    def failed(failed_key: int, message: str) -> None:
        if failed_key == key:
            stop()
            callback(message)

    def done(done_key: int, _result) -> None:
        if done_key == key:
            stop()

    def stop() -> None:
        jobs.job_failed.disconnect(failed)
        jobs.job_done.disconnect(done)

    jobs.job_failed.connect(failed)
    jobs.job_done.connect(done)
