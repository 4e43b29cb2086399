"""The generation evaluation report: human "fooled" rates from the ratings store, report.md in the layout of
the MuSiC paper's Table I (per system: FAD, MSE, HE; then per instrument), bar plots (PNG) and results.json.

`result` is the dict of `training.vit_wavegan.evaluate.evaluate` (fad/mse/match[/fad_inf] → system →
instrument|"mean" → value, plus settings). HE ("human evaluation") is the share of blind trials in which a
listener took a model's clip for the real stem, with a 95 % Wilson interval and the trial count; "n/a" when
the ratings store holds no trials for that model id and version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from musicsim_gui.core.atomic import atomic_path, atomic_write_text
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.core.ratings import RatingStore, wilson_interval

PLOT_NAME = "eval_plots.png"


def human_results(db_path: Path, models: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """label → instrument|"all" → {trials, fooled, rate, low, high} (rate/low/high None without trials).

    Trials match a model by id, and by version too when the model reports one. A missing database means no
    trials (it is not created)."""
    rates = []
    if Path(db_path).is_file():
        with RatingStore(db_path) as store:
            rates = store.fooled_rates()
    out: dict[str, dict[str, Any]] = {}
    for label, model in models.items():
        mine = [r for r in rates if r.model_id == model["id"] and (not model["version"]
                                                                   or r.model_version == model["version"])]
        rows = {}
        for key in (*INSTRUMENTS, "all"):
            chosen = [r for r in mine if key == "all" or r.instrument == key]
            trials, fooled = sum(r.trials for r in chosen), sum(r.fooled for r in chosen)
            low, high = wilson_interval(fooled, trials)
            rows[key] = {"trials": trials, "fooled": fooled, "rate": fooled / trials if trials else None,
                         "low": low if trials else None, "high": high if trials else None}
        out[label] = rows
    return out


def _he(cell: dict[str, Any] | None) -> str:
    if not cell or not cell["trials"]:
        return "n/a"
    return f"{100 * cell['rate']:.0f} % [{100 * cell['low']:.0f}–{100 * cell['high']:.0f}] (n={cell['trials']})"


def _stems_sentence(result: dict[str, Any]) -> str:
    """Where models that follow the reference's stems got them (results from before that option say nothing)."""
    if "reference_separator" not in result:
        return ""
    separator = result["reference_separator"]
    if not separator:
        return "Models that follow the reference's stems got none. "
    used = result.get("reference_separator_used")
    who = f"{used}, asked for as `{separator}`," if used else f"`{separator}`,"
    rough = ("; stems from this rough separator are followed only when a parameter asks for it "
             "(`--param reference_match=true`), as in the studio" if result.get("reference_stems_rough") else "")
    return (f"Models that follow the reference's stems got each mix separated by {who} never the true stems, "
            f"as the studio gives them the project's separated stems{rough}. ")


def _systems(result: dict[str, Any]) -> list[str]:
    """Models first, then baselines, in the result's order."""
    return [*result["models"], *result["baselines"]]


def _main_table(result: dict[str, Any], he: dict[str, dict[str, Any]]) -> list[str]:
    inf = "fad_inf" in result
    head = ["system", "FAD ↓", *(["FAD∞ ↓"] if inf else []), "MSE ↓", "match ↑", "HE (fooled) ↑"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for system in _systems(result):
        cells = [system, f"{result['fad'][system]['mean']:.2f}",
                 *([f"{result['fad_inf'][system]['mean']:.2f}"] if inf else []),
                 f"{result['mse'][system]['mean']:.2e}", f"{result['match'][system]['mean']:.2f}",
                 _he(he.get(system, {}).get("all")) if system in he else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _instrument_table(result: dict[str, Any], key: str, fmt: str, systems: list[str] | None = None) -> list[str]:
    lines = ["| system | " + " | ".join(INSTRUMENTS) + " | mean |", "|" + "---|" * (len(INSTRUMENTS) + 2)]
    for system in systems or _systems(result):
        row = result[key][system]
        lines.append(f"| {system} | " + " | ".join(format(row[i], fmt) for i in (*INSTRUMENTS, "mean")) + " |")
    return lines


def _variety_section(result: dict[str, Any]) -> list[str]:
    """The variety table (what a new seed changes), when the result has one (results made before it do not)."""
    if "variety" not in result:
        return []
    return [f"## Variety per instrument (embedding: {result['embedding_name']})", "",
            "How far a second take of the same song (another seed) is from the first, as a share of how far apart "
            "different songs' real stems are (0: every seed gives the same take; 1: as different as another "
            "song's part). The real row compares two sections of the same song.", "",
            *_instrument_table(result, "variety", ".2f", list(result["variety"])), ""]


def _parts_section(result: dict[str, Any]) -> list[str]:
    """Where each model's FAD comes from (results made with an ungrouped embedding, or before, have no parts)."""
    if "fad_parts" not in result:
        return []
    systems = [s for s in (*result["models"], "shuffled real") if s in result["fad_parts"]]
    groups = [part for part in next(iter(result["fad_parts"].values()))["mean"] if part != "offset"]
    lines = [f"## Where the FAD comes from (embedding: {result['embedding_name']})", "",
             "Per system and instrument: the FAD, the part of it a shift of the whole set of embeddings makes "
             "(*offset*: the squared distance between the two sets' means; the rest is a difference in spread "
             "and correlation), and the FAD of each group of the embedding's dimensions alone (groups that "
             "co-vary do not add up to the whole). The largest group says what kind of difference to lose "
             "next: *log-mel mean* tone, *log-mel std* how the bands move within a second, *MFCC* the spectral "
             "envelope and its movement, *contrast* how tonal the spectrum is (partials over the floor between "
             "them), *flux* onsets.", "",
             "| system | instrument | FAD | offset | " + " | ".join(groups) + " |",
             "|" + "---|" * (4 + len(groups))]
    for system in systems:
        for inst in (*INSTRUMENTS, "mean"):
            parts = result["fad_parts"][system][inst]
            total = result["fad"][system][inst]
            lines.append(f"| {system} | {inst} | {total:.2f} | {parts['offset']:.2f} | "
                         + " | ".join(f"{parts[g]:.2f}" for g in groups) + " |")
    return [*lines, ""]


def _he_table(result: dict[str, Any], he: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| model | " + " | ".join(INSTRUMENTS) + " | all |", "|" + "---|" * (len(INSTRUMENTS) + 2)]
    for label in result["models"]:
        lines.append(f"| {label} | " + " | ".join(_he(he[label][k]) for k in (*INSTRUMENTS, "all")) + " |")
    return lines


CORPUS_LINE = "CORPUS: a folder made by `musicsim corpus make` (its test split is read)."


def _takes_sentence(result: dict[str, Any]) -> str:
    """Which span of each take was scored (results from before the choice existed scored the first seconds)."""
    if result.get("takes_aligned", False):
        return (f"Takes are made on each song's timeline from 0 s and scored over the same span as the real stems "
                f"({result['offset_s']:g}-{result['offset_s'] + result['seconds_per_song']:g} s). ")
    return (f"Takes are scored over their first {result['seconds_per_song']:g} s (from the song's 0 s), not the "
            "real stems' span. ")


def render_markdown(result: dict[str, Any], he: dict[str, dict[str, Any]], command: str) -> str:
    """The report as Markdown (the regenerating `command` at the top)."""
    emb = result["embedding"]
    models = ", ".join(f"{label} = {m['id']} {m['version']}".strip() for label, m in result["models"].items())
    times = result["timings_s"]
    parts = [
        "# Generation evaluation", "", "Regenerate with:", "", "```", command, "```", "",
        *([CORPUS_LINE, ""] if "CORPUS" in command else []),
        f"**Embedding: {emb}**" + ("" if result["embedding_name"] == "vggish" else
                                   " — these FAD values are NOT comparable with VGGish-based published FAD."),
        "", f"Models: {models}. Corpus: the synthetic corpus's test split ({result['songs']} songs, "
        f"{result['seconds_per_song']:g} s each from {result['offset_s']:g} s, mono {result['sample_rate']} Hz; "
        f"{result['segments_per_set']} embedding segments per set and instrument). {_takes_sentence(result)}"
        f"Seed {result['seed']} "
        f"(generation seed = seed + song index; extra generation parameters: "
        f"{json.dumps(result.get('generation_params') or {})}). {_stems_sentence(result)}"
        f"Run time {times['total']:.0f} s.", "",
        "Baselines: *shuffled real* = real stems of another test song (the attainable floor), white/pink noise "
        "(the ceiling); all candidates are RMS-matched to the real stem. MSE is the paper's waveform MSE against "
        "the song's own stem. *match* = share of songs whose candidate is nearest its own song's stem (chance "
        f"{1 / result['songs']:.2f}; shuffled real is another song by construction, so it sits at or below "
        "chance). HE = blind-test fooled rate with 95 % Wilson interval and trial count (n/a: no blind trials "
        "recorded for that model id and version in the ratings store).", "",
        "Reading MSE: for a candidate uncorrelated with the stem and RMS-matched to it, MSE ≈ 2 × the stem's "
        "power whatever it sounds like, so the paper's MSE barely separates systems; FAD and match carry the "
        "comparison.", "",
        f"## Table I layout (means over instruments; embedding: {result['embedding_name']})", "",
        *_main_table(result, he), "", f"## FAD per instrument (embedding: {result['embedding_name']})", "",
        *_instrument_table(result, "fad", ".2f"), ""]
    if "fad_inf" in result:
        parts += [f"## FAD∞ per instrument (embedding: {result['embedding_name']})", "",
                  *_instrument_table(result, "fad_inf", ".2f"), ""]
    parts += ["## MSE per instrument", "", *_instrument_table(result, "mse", ".2e"), "",
              f"## Match rate per instrument (embedding: {result['embedding_name']})", "",
              *_instrument_table(result, "match", ".2f"), "", *_variety_section(result), *_parts_section(result),
              "## Human evaluation (HE) per instrument", "",
              *_he_table(result, he), "", f"![FAD and match rate per instrument]({PLOT_NAME})", ""]
    return "\n".join(parts)


def save_plots(result: dict[str, Any], path: Path) -> Path:
    """Grouped bars per instrument: FAD (log scale) and match rate, one bar per system; PNG, atomic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    systems = _systems(result)
    x = np.arange(len(INSTRUMENTS) + 1)
    width = 0.8 / len(systems)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for key, axis, title in (("fad", axes[0], f"FAD ({result['embedding_name']} embedding), lower is better"),
                             ("match", axes[1], "match rate (own song nearest), higher is better")):
        for k, system in enumerate(systems):
            values = [result[key][system][i] for i in (*INSTRUMENTS, "mean")]
            axis.bar(x + (k - (len(systems) - 1) / 2) * width, values, width, label=system)
        axis.set_xticks(x, [*INSTRUMENTS, "mean"])
        axis.set_title(title, fontsize=10)
    axes[0].set_yscale("log")
    axes[1].axhline(1 / result["songs"], color="k", linestyle=":", linewidth=1, label="chance")
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as temp:
        figure.savefig(temp, format="png", dpi=100)
    plt.close(figure)
    return path


def write_report(result: dict[str, Any], out_dir: Path, command: str, ratings_db: Path,
                 report_name: str = "report.md") -> Path:
    """Write `out_dir/report_name`, `out_dir/results.json` (every number, settings, HE) and the plot PNG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    he = human_results(ratings_db, result["models"])
    full = {**result, "human": he, "ratings_db": str(ratings_db), "command": command}
    save_plots(result, out_dir / PLOT_NAME)
    atomic_write_text(out_dir / "results.json", json.dumps(full, indent=2) + "\n")
    report = out_dir / report_name
    atomic_write_text(report, render_markdown(result, he, command))
    return report
