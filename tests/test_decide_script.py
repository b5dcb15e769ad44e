"""``scripts/decide.sh``: every default step names a registered suite, one of its presets, and models of that
preset, and together the steps cover every deciding preset, each in whole unless the script says why not (a
typo there would only show hours into a background chain)."""

import re
from pathlib import Path

from benchmark.models import models_for
from benchmark.report.render import DECIDING_PRESETS
from benchmark.suites import SUITES

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "decide.sh"


def default_steps():
    text = SCRIPT.read_text()
    families = dict(re.findall(r"^(\w+)=([\w,]+)$", text, flags=re.M))
    (steps,) = re.findall(r"^steps=\$\{DECIDE_STEPS:-(.*)\}$", text, flags=re.M)
    expanded = re.sub(r"\$(\w+)", lambda m: families[m.group(1)], steps)
    return [tuple((step.split(":") + ["", ""])[:3]) for step in expanded.split()]  # (suite, preset, models or "")


def test_each_step_names_a_suite_preset_and_models_of_it():
    for suite_name, preset_name, models in default_steps():
        preset = SUITES.get(suite_name).preset(preset_name)
        wanted = models_for(suite_name, preset.model_scale)
        assert all(m in wanted for m in (models.split(",") if models else ())), (suite_name, preset_name)


def test_the_steps_cover_every_deciding_preset_of_every_suite():
    covered = {(s, p) for s, p, _ in default_steps()}
    deciding = {(s.name, p.name) for s in SUITES.values() for p in s.presets if p.name in DECIDING_PRESETS}
    assert deciding <= covered
    steps = default_steps()
    whole = {(s, p) for s, p, m in steps if not m}
    partial = {(s, p) for s, p, m in steps if m}
    for suite, preset in partial - whole:  # a preset run only in part leaves out its other models on purpose
        assert (suite, preset) == ("recognition", "decide")  # Swin: decided by decide-long (see the script)


def test_land_reference_asks_for_the_results_folder_and_runs_every_landing_step():
    import subprocess

    land = SCRIPT.with_name("land_reference.sh")
    done = subprocess.run(["bash", str(land)], capture_output=True, text=True)
    assert done.returncode == 2 and "usage: bash scripts/land_reference.sh RESULTS_DIR" in done.stderr
    text = land.read_text()
    for step in ("collect_reference.py", "-m benchmark report --results-dir results/reference",
                 "make_notebooks.py --execute", "headline.py"):
        assert step in text, step


def test_on_a_fresh_results_folder_the_references_records_count_as_done(tmp_path):
    """decide.sh copies the committed records into an empty results folder (same run keys: those runs are
    skipped on a fresh machine) and leaves a record already there alone; no step runs here."""
    import os
    import subprocess

    repo, results = SCRIPT.parents[1], tmp_path / "results"
    reference = sorted(p.relative_to(repo / "results" / "reference") for p in
                       (repo / "results" / "reference" / "records").glob("*/*.json"))
    kept = results / reference[0]
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")
    env = {**os.environ, "DECIDE_RESULTS": str(results), "DECIDE_STEPS": " ", "TMPDIR": str(tmp_path)}
    try:
        done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, cwd=repo)
    finally:
        for tree in tmp_path.glob("sase-decide-*"):
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(results) for p in (results / "records").glob("*/*.json")) == reference
    assert kept.read_text() == "{}"
