import pandas as pd

from benchmark.report.plots import pareto_front
from benchmark.report.tables import spec_table, summarize, to_latex, to_markdown
from benchmark.specs.recognition import COLUMNS


def _frame():
    rows = []
    for seed, top1 in enumerate([90.0, 92.0]):
        rows.append(dict(suite="recognition", preset="default", dataset="fashion_mnist", model="a", family="ResNet",
                         device="cpu", precision="fp32", seed=seed, status="completed", top1=top1, top5=99.0,
                         params=1e6, gmacs=0.01, train_img_per_s=100.0, infer_img_per_s=300.0, wall_s=1.0))
    rows.append({**rows[0], "model": "b", "status": "failed", "top1": None})
    return pd.DataFrame(rows)


def test_summary_is_mean_and_std_over_completed_seeds():
    s = summarize(_frame(), ["top1", "params"])
    assert list(s["model"]) == ["a"]
    assert s.loc[0, "n"] == 2 and s.loc[0, "top1_mean"] == 91.0
    assert abs(s.loc[0, "top1_std"] - 1.41421356) < 1e-6


def test_tables_render_mean_pm_std():
    table = spec_table(summarize(_frame(), [c.field for c in COLUMNS]), COLUMNS)
    md = to_markdown(table)
    assert "91.00 ± 1.41" in md and "| model |" in md
    tex = to_latex(table, "t")
    assert r"\toprule" in tex and r"$\pm$" in tex


def test_pareto_front():
    assert pareto_front([1, 2, 3, 4], [50, 40, 60, 55]) == [0, 2]


def test_tables_count_converged_seeds_and_say_when_none_is_recorded():
    frame = _frame()
    assert spec_table(summarize(frame, ["top1"]), COLUMNS).loc[0, "converged"] == "-"
    frame["converged"] = [True, False, None]
    assert spec_table(summarize(frame, ["top1"]), COLUMNS).loc[0, "converged"] == "1/2"


def test_learning_curves_plot_mean_and_spread(tmp_path):
    from benchmark.report.plots import learning_curves

    runs = [[(1, 80.0), (2, 85.0), (3, 86.0)], [(1, 81.0), (2, 84.0), (3, 86.5)]]
    path = learning_curves({("a", "ResNet"): runs}, "epoch", "top-1 (%)", "t", tmp_path / "c.png")
    assert path.exists() and path.stat().st_size > 1000
