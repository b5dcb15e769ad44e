"""timm's conventions (issue 22): run's --epochs/--batch-size/--lr/--amp, the flat results.csv, profile's keys."""

import pytest

from benchmark import cli
from benchmark.errors import UserError
from benchmark.recipes import recipe_id


def _plan(*argv):
    args = cli.build_parser().parse_args(["run", *argv])
    return cli._plan(args, "cpu")[0]


def test_shortcuts_are_the_set_keys_they_stand_for(tmp_path):
    base = ["--suite", "recognition", "--preset", "smoke", "--results-dir", str(tmp_path)]
    short = _plan(*base, "--epochs", "3", "--batch-size", "16", "--lr", "0.004")
    long = _plan(*base, "--set", "recipe.epochs=3", "--set", "recipe.batch_size=16", "--set", "recipe.lr=0.004")
    plain = _plan(*base)
    assert short.preset == long.preset
    assert (short.preset.recipe.epochs, short.preset.recipe.batch_size, short.preset.recipe.lr) == (3, 16, 0.004)
    assert recipe_id(short.preset.recipe) == recipe_id(long.preset.recipe) != recipe_id(plain.preset.recipe)
    assert _plan(*base, "--epochs", "3", "--set", "recipe.epochs=3").preset == _plan(*base, "--epochs", "3").preset
    gan = _plan("--suite", "synthesis", "--preset", "smoke", "--batch-size", "4", "--results-dir", str(tmp_path))
    assert gan.preset.recipe.batch_size == 4


@pytest.mark.parametrize("argv, message", [
    (["--suite", "synthesis", "--epochs", "3"], "--epochs does not apply to the synthesis task"),
    (["--suite", "one-shot", "--lr", "0.1"], "perhaps --set recipe.lr_g=..."),
    (["--suite", "one-shot", "--batch-size", "2"], "--batch-size does not apply to the one-shot task"),
    (["--suite", "synthesis", "--amp"], "--amp does not apply to the synthesis task"),
    (["--suite", "recognition", "--amp"], "--amp fp16 needs CUDA"),
    (["--suite", "recognition", "--epochs", "3", "--set", "recipe.epochs=4"], "contradicts --set recipe.epochs=4"),
])
def test_shortcuts_refused_where_they_do_not_apply(argv, message, tmp_path):
    with pytest.raises(UserError, match=message.replace(".", r"\.").replace("+", r"\+")):
        _plan(*argv, "--preset", "smoke", "--results-dir", str(tmp_path))


def test_shortcut_errors_are_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["run", "--suite", "synthesis", "--preset", "smoke", "--epochs", "3",
                     "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --epochs does not apply") and "\n" not in err
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "--suite", "recognition", "--lr", "-1"])
    assert e.value.code == 2
    amp = cli.main(["run", "--suite", "recognition", "--preset", "smoke", "--amp", "none", "--device", "cpu",
                    "--results-dir", str(tmp_path), "--models", "resnet_s32", "--set", "recipe.epochs=0"])
    assert amp == 2  # --amp none is accepted on a CPU; the run is then refused by the recipe check
    assert "epochs" in capsys.readouterr().err


def test_results_csv_is_flat_with_timms_names_first(tmp_path):
    import pandas as pd
    from benchutil import REPO

    from benchmark.report import tables
    from benchmark.report.flat import TIMM_COLUMNS, write_results_csv
    from benchmark.results import count_once, load_records

    counted = count_once(tables.with_defaults(load_records(REPO / "results" / "reference")))
    path = write_results_csv(counted, tmp_path)
    flat = pd.read_csv(path)
    assert path.name == "results.csv" and len(flat) == len(counted)  # one row per counted run, every task
    assert list(flat.columns[:len(TIMM_COLUMNS)]) == list(TIMM_COLUMNS)
    assert set(flat["task"]) == {"recognition", "synthesis", "one-shot"}
    rec = flat[flat["task"] == "recognition"]
    assert (rec["param_count"] - rec["params"] / 1e6).abs().max() <= 5e-4  # millions
    assert (rec["top1_err"] + rec["top1"] - 100).abs().max() < 1e-6 and (rec["img_size"] == 32).all()
    assert (rec["infer_samples_per_sec"] > 0).all() and rec["infer_gmacs"].equals(rec["gmacs"])
    cells = [str(c) for c in flat.to_numpy().ravel()]
    assert not any("±" in c or c.startswith("[") or c.startswith("{") for c in cells)  # values, not display text
    syn = flat[flat["task"] == "synthesis"]
    assert syn["fid"].notna().all() and syn["top1"].isna().all() and (syn["img_size"] == 32).all()


def test_profile_rows_lead_with_timm_benchmark_keys():
    from benchmark.config import ProfileSpec
    from benchmark.profile_cmd import profile_models

    spec = ProfileSpec(warmup=1, iters=1, windows=1)
    [row] = profile_models(["resnet_s32"], None, 2, "cpu", train=True, spec=spec)
    timm = ["model", "infer_samples_per_sec", "infer_step_time", "infer_batch_size", "infer_img_size",
            "infer_gmacs", "train_samples_per_sec", "train_step_time", "train_batch_size", "train_img_size",
            "param_count"]
    assert list(row)[:len(timm)] == timm
    assert row["param_count"] == round(row["params"] / 1e6, 3) == 1.228
    assert row["infer_samples_per_sec"] == row["infer_img_per_s"] and row["infer_batch_size"] == 2
    assert row["infer_img_size"] == row["img_size"] == 32 and row["infer_gmacs"] == row["gmacs"]
    assert row["infer_step_time"] == pytest.approx(2000 / row["infer_samples_per_sec"], rel=1e-3)
