import dataclasses

import pytest
import torch

from benchmark.config import Recipe
from benchmark.errors import TrainingDiverged
from benchmark.results import load_records
from benchmark.runner import RunContext, run_one
from benchmark.suites import SUITES
from benchmark.train.classify import fit
from benchmark.train.optim import warmup_cosine


def _ctx(tmp_path, model="resnet_s32"):
    suite = SUITES.get("recognition")
    return RunContext(suite, suite.preset("smoke"), model, 0, "run-x", tmp_path / "runs" / "run-x", None, "cpu")


@pytest.mark.parametrize("exc, status", [(RuntimeError("boom"), "failed"), (TrainingDiverged("nan"), "diverged")])
def test_a_failing_task_becomes_a_record(tmp_path, exc, status):
    def task(ctx):
        raise exc

    record = run_one(task, _ctx(tmp_path))
    assert record["status"] == status
    frame = load_records(tmp_path)
    assert frame.loc[0, "status"] == status and str(exc) in str(frame.loc[0, "error"])
    assert (tmp_path / "runs" / "run-x" / "config.json").exists()


def test_interrupted_run_is_recorded_and_reraised(tmp_path):
    def task(ctx):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_one(task, _ctx(tmp_path))
    assert load_records(tmp_path).loc[0, "status"] == "interrupted"


def test_nan_loss_raises_diverged():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    with torch.no_grad():
        model[1].weight.fill_(float("nan"))
    batches = [(torch.randn(2, 1, 2, 2), torch.tensor([0, 1]))]
    with pytest.raises(TrainingDiverged):
        fit(model, batches, batches, Recipe(name="t", epochs=1), torch.device("cpu"))


def test_fit_learns_a_separable_problem():
    torch.manual_seed(0)
    x = torch.randn(256, 1, 2, 2)
    y = (x.flatten(1).sum(1) > 0).long()
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    recipe = dataclasses.replace(Recipe(name="t"), epochs=5, lr=0.05, warmup_epochs=0)
    history = fit(model, batches, batches, recipe, torch.device("cpu"))
    assert history[-1]["top1"] > 90 and len(history) == 5


def test_warmup_cosine_shape():
    assert warmup_cosine(0, 100, 10) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(10, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(100, 100, 10) == pytest.approx(0.0)


def test_a_user_error_inside_a_fresh_run_leaves_no_record(tmp_path):
    from benchmark.errors import UserError

    def task(ctx):
        raise UserError("bad data")

    with pytest.raises(UserError):
        run_one(task, _ctx(tmp_path))
    assert load_records(tmp_path).empty


def test_a_full_disk_stops_the_suite(tmp_path):
    import errno

    def task(ctx):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        run_one(task, _ctx(tmp_path))
