import json

import pytest

from benchmark.results import COLUMNS, MalformedRecord, load_records, read_record, write_record


def _record(**kw):
    base = dict(run_id="r1", suite="recognition", model="resnet_s32", dataset="fashion_mnist",
                preset="smoke", seed=0, status="completed", top1=80.0, top5=99.0, params=10, gmacs=0.1,
                history=[{"epoch": 1}], env={"torch": "x"}, config={"a": 1})
    base.update(kw)
    return base


def test_write_then_load(tmp_path):
    path = write_record(tmp_path, _record())
    assert path.parent == tmp_path / "records" / "recognition"
    assert read_record(path)["schema_version"] == 1
    frame = load_records(tmp_path)
    assert len(frame) == 1 and frame.loc[0, "top1"] == 80.0
    assert set(COLUMNS) <= set(frame.columns)
    assert "history" not in frame.columns
    assert not list(path.parent.glob(".*.tmp")), "no temp file left behind"


def test_malformed_record_is_skipped_with_a_warning_naming_it(tmp_path):
    write_record(tmp_path, _record())
    bad = tmp_path / "records" / "recognition" / "broken.json"
    bad.write_text("{not json")
    incomplete = tmp_path / "records" / "recognition" / "incomplete.json"
    incomplete.write_text(json.dumps({"run_id": "x"}))
    with pytest.warns(UserWarning) as caught:
        frame = load_records(tmp_path)
    assert len(frame) == 1
    text = " ".join(str(w.message) for w in caught)
    assert "broken.json" in text and "incomplete.json" in text


def test_invalid_status_rejected(tmp_path):
    with pytest.raises(MalformedRecord):
        write_record(tmp_path, _record(status="great"))


def test_empty_store_has_the_columns(tmp_path):
    frame = load_records(tmp_path)
    assert frame.empty and set(COLUMNS) <= set(frame.columns)


# --- a store that survives bad files ---------------------------------------------------------------

def _write_raw(tmp_path, name, data: bytes):
    path = tmp_path / "records" / "recognition" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


BAD_FILES = {
    "latin1.json": "{\"run_id\": \"caf\xe9\"}".encode("latin-1"),
    "binary.json": bytes(range(256)),
    "empty.json": b"",
    "list.json": b"[1, 2, 3]",
    "string.json": b"\"a record\"",
    "null.json": b"null",
    "deep.json": b"[" * 100_000 + b"]" * 100_000,
}
BAD_FIELDS = {
    "seed_text.json": ("seed", "0"),
    "seed_bool.json": ("seed", True),
    "seed_float.json": ("seed", 0.5),
    "model_number.json": ("model", 3),
    "top1_text.json": ("top1", "81.2"),
    "top1_bool.json": ("top1", True),
    "top1_list.json": ("top1", [80.0]),
    "gmacs_nan.json": ("gmacs", float("nan")),
    "fid_inf.json": ("fid", float("inf")),
    "infer_img_per_s_neg_inf.json": ("infer_img_per_s", float("-inf")),
    "run_id_path.json": ("run_id", "../../escape"),
    "env_list.json": ("env", ["cpu"]),
    "history_dict.json": ("history", {"epoch": 1}),
    "recipe_number.json": ("recipe", 7),
}


def test_load_never_raises_and_warns_once_per_bad_file(tmp_path):
    write_record(tmp_path, _record())
    for name, data in BAD_FILES.items():
        _write_raw(tmp_path, name, data)
    for name, (field, value) in BAD_FIELDS.items():
        _write_raw(tmp_path, name, json.dumps({**_record(run_id=name[:-5]), "schema_version": 1, field: value})
                   .encode())
    (tmp_path / "records" / "recognition" / "folder.json").mkdir()
    with pytest.warns(UserWarning) as caught:
        frame = load_records(tmp_path)
    assert list(frame["run_id"]) == ["r1"]
    messages = [str(w.message) for w in caught]
    for name in [*BAD_FILES, *BAD_FIELDS, "folder.json"]:
        assert sum(f"/{name}:" in m for m in messages) == 1, (name, messages)
    for name, (field, _) in BAD_FIELDS.items():
        assert any(f"/{name}:" in m and repr(field) in m for m in messages), (name, field)


def test_a_nan_metric_is_written_but_rejected_when_read(tmp_path):
    write_record(tmp_path, _record(run_id="nan", top1=float("nan")))  # the run's outcome is kept on disk
    with pytest.warns(UserWarning, match="nan.json.*'top1'"):
        assert load_records(tmp_path).empty


def test_unsafe_run_id_is_never_written(tmp_path):
    with pytest.raises(MalformedRecord):
        write_record(tmp_path, _record(run_id="../../outside"))
    with pytest.raises(MalformedRecord):
        write_record(tmp_path, _record(suite="a/b"))
    assert not (tmp_path.parent / "outside.json").exists()


def test_records_are_world_readable(tmp_path):
    path = write_record(tmp_path, _record())
    assert path.stat().st_mode & 0o777 == 0o644


def test_machine_fingerprint_separates_machines():
    from benchmark.results import machine_fingerprint

    cpu = {"cpu": "AMD EPYC", "cpu_threads": 2, "gpu_count": 0, "device": "AMD EPYC"}
    gpu = {"cpu": "AMD EPYC", "cpu_threads": 16, "gpu_count": 1, "device": "NVIDIA H100"}
    assert machine_fingerprint(cpu) == "AMD EPYC / 2 threads"
    assert machine_fingerprint(gpu) == "AMD EPYC / 16 threads / 1x NVIDIA H100"
    assert machine_fingerprint({**cpu, "cpu_threads": 8}) != machine_fingerprint(cpu)
    assert machine_fingerprint(None) == machine_fingerprint({"cpu": ""}) == "unknown"


def test_machine_column_is_derived_from_env(tmp_path):
    write_record(tmp_path, _record(env={"cpu": "X", "cpu_threads": 4, "gpu_count": 0}))
    assert load_records(tmp_path).loc[0, "machine"] == "X / 4 threads"


# --- counting each measured thing once -------------------------------------------------------------

def _row(run_id, seed=0, finished="2026-01-01T00:00:00", machine="A", status="completed", **kw):
    base = dict(run_id=run_id, suite="recognition", preset="smoke", recipe="r", dataset="d", model="m", seed=seed,
                machine=machine, status=status, finished_at=finished, top1=50.0)
    return {**base, **kw}


def test_count_once_keeps_the_latest_completed_per_seed_and_machine():
    import pandas as pd

    from benchmark.results import count_once

    frame = pd.DataFrame([
        _row("a", top1=10.0), _row("b", finished="2026-02-01T00:00:00", top1=20.0),  # a re-run of seed 0
        _row("c", finished="2026-03-01T00:00:00", status="failed", top1=None),  # a failed re-run changes nothing
        _row("d", seed=1), _row("e", machine="B"),  # another seed, another machine: counted
    ])
    out = count_once(frame)
    assert sorted(out["run_id"]) == ["b", "d", "e"]
    assert out.set_index("run_id").loc["b", "top1"] == 20.0
    assert out.set_index("run_id").loc["b", "superseded"] == "a"
    assert pd.isna(out.set_index("run_id").loc["d", "superseded"])


def test_count_once_uses_recipe_identity_when_present():
    import pandas as pd

    from benchmark.results import count_once

    frame = pd.DataFrame([_row("a", recipe_id="r"), _row("b", recipe_id="r+1234abcd"), _row("c", recipe_id=None)])
    assert sorted(count_once(frame)["run_id"]) == ["b", "c"]  # "c" (no recipe_id) falls back to recipe "r"


def test_count_once_on_an_empty_store(tmp_path):
    from benchmark.results import count_once

    out = count_once(load_records(tmp_path))
    assert out.empty and "superseded" in out.columns


def test_record_index_sees_new_and_changed_files_only(tmp_path):
    from benchmark.results import RecordIndex

    index = RecordIndex(tmp_path)
    assert index.refresh() == []
    write_record(tmp_path, _record())
    assert [r["run_id"] for r in index.refresh()] == ["r1"]
    write_record(tmp_path, _record(status="failed"))
    assert [r["status"] for r in index.refresh()] == ["failed"]
    (tmp_path / "records" / "recognition" / "r1.json").unlink()
    assert index.refresh() == []


def test_a_rerun_with_other_features_supersedes_nothing():
    import pandas as pd

    from benchmark.results import count_once

    # run_key does not see --inception-weights: the same key, measured with two extractors
    frame = pd.DataFrame([_row("a", run_key="k", feature_extractor="fmnist-cnn-1"),
                          _row("b", run_key="k", feature_extractor="inception-v3", finished="2026-02-01T00:00:00"),
                          _row("c", run_key="k", feature_extractor="inception-v3", finished="2026-03-01T00:00:00")])
    out = count_once(frame).set_index("run_id")
    assert sorted(out.index) == ["a", "c"] and out.loc["c", "superseded"] == "b"
