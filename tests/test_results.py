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
