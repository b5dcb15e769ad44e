"""A suite is a set of registrations: a toy third task, registered here and nowhere else, runs end to end.

It has its own spec (recipe type, data kind, metric columns, console line, claim), its own suite and one
model; `run` trains it and prints its numbers, `load_records` reads it, and `report` renders its table.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.config import DataSpec, Preset, Suite
from benchmark.models import MODELS, ModelEntry
from benchmark.report.plots import SECTION_PLOTS
from benchmark.results import load_records
from benchmark.spec import TASK_SPECS, Claim, Column, TaskSpec, load_specs
from benchmark.suites import SUITES


@dataclass(frozen=True)
class LineRecipe:
    name: str
    points: int = 64
    noise: float = 0.1


def run_line_fit(ctx) -> dict:
    """Least squares on noisy points of y = 2x + 1: a real, seeded measurement in microseconds."""
    rng = np.random.default_rng(ctx.seed)
    x = rng.uniform(-1, 1, ctx.preset.recipe.points)
    y = 2 * x + 1 + rng.normal(0, ctx.preset.recipe.noise, x.shape)
    slope, intercept = np.polyfit(x, y, 1)
    mse = float(np.mean((slope * x + intercept - y) ** 2))
    return {"mse": mse, "slope": float(slope), "params": 2, "dataset": "line-2x+1"}


SPEC = TaskSpec(
    name="line-fit", title="Line fitting", recipe_type=LineRecipe, data_kinds=("synthetic",),
    run=f"{__name__}:run_line_fit", quality="mse",
    columns=(Column("params", "params", 0, spread=False), Column("mse", "MSE", 4, better="lower", ci=True),
             Column("slope", "slope", 3)),
    console=lambda r: f"MSE {r['mse']:.4f}  slope {r['slope']:.3f}",
    notes="Least squares on {dataset}.", claims=(Claim("Line beats itself", "Line", "Line", "mse", False),),
)
SUITE = Suite(name="line", task="line-fit", description="a toy third task", presets=(
    Preset(name="default", model_scale="any", data=DataSpec("synthetic", img_size=1), recipe=LineRecipe("line-64")),))
MODEL = ModelEntry("polyfit", "Line", "line", "any", 1, 1)


@contextlib.contextmanager
def registered():
    load_specs()
    with TASK_SPECS.temporary(SPEC.name, SPEC), SUITES.temporary(SUITE.name, SUITE), \
            MODELS.temporary(MODEL.name, MODEL):
        yield


def test_a_third_task_runs_prints_loads_and_renders(tmp_path, capsys):
    with registered():
        assert main(["run", "--suite", "line", "--seeds", "0,1,2", "--jobs", "1", "--results-dir", str(tmp_path),
                     "--device", "cpu"]) == 0
        err = capsys.readouterr().err
        assert err.count("MSE 0.0") == 3 and "slope 2.0" in err
        frame = load_records(tmp_path)
        assert len(frame) == 3 and set(frame["suite"]) == {"line"} and (frame["mse"] < 0.05).all()
        assert main(["report", "--results-dir", str(tmp_path)]) == 0
    readme = (tmp_path / "report" / "README.md").read_text()
    assert "## Line fitting, preset `default`" in readme and "| model | family | seeds | params | MSE |" in readme
    assert "Least squares on line-2x+1." in readme and "Line beats itself" in readme
    assert list((tmp_path / "report").glob("line-fit_default_*.csv"))


def test_a_task_must_be_registered_once():
    load_specs()
    with pytest.raises(ValueError, match="already registered"):
        TASK_SPECS.add("recognition", SPEC)


def test_the_recipe_type_of_a_task_is_checked():
    from benchmark.errors import UserError
    from benchmark.recipes import recipe_for

    with pytest.raises(UserError, match="not a synthesis recipe"):
        recipe_for("synthesis", "deit")


def _presets():
    return [(s, p) for s in SUITES.values() for p in s.presets]


@pytest.mark.parametrize("suite, preset", _presets(), ids=lambda x: getattr(x, "name", str(x)))
def test_every_preset_fits_its_task_spec(suite, preset):
    spec = load_specs().get(suite.task)
    assert isinstance(preset.recipe, spec.recipe_type), (suite.name, preset.name, type(preset.recipe))
    assert preset.data.name in spec.data_kinds, (suite.name, preset.name, preset.data.name)
    assert spec.quality in {c.field for c in spec.columns}
    assert all(name in SECTION_PLOTS for name in spec.plots)
