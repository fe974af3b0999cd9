"""autowarm.runlog: the metrics.jsonl format, a torn last line, truncation on resume, atomic files."""

import json
import math
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm import runlog


def lines_of(path):
    return path.read_text().splitlines()


def test_append_then_read_round_trips_rows_in_order(tmp_path):
    f = tmp_path / "metrics.jsonl"
    runlog.append_records(f, [{"step": 1, "train_loss": 5.5, "lr": [0.1, 0.2]}])
    runlog.append_records(f, [{"step": 2, "train_loss": math.inf}, {"step": 2, "val_loss": 4.0}])
    runlog.append_records(f, [])  # nothing to write: the file is unchanged
    assert len(lines_of(f)) == 3 and f.read_text().endswith("\n")
    rows = runlog.read_metrics(tmp_path)  # a run directory reads its metrics.jsonl
    assert rows[0] == {"step": 1, "train_loss": 5.5, "lr": [0.1, 0.2]}
    assert rows[1]["train_loss"] == math.inf
    assert runlog.read_series(f, "train_loss") == ([1, 2], [5.5, math.inf])
    assert runlog.read_column(f, "val_loss") == [4.0]
    assert runlog.read_column(f, "nope") == []


def test_a_record_that_is_not_a_mapping_is_refused_before_writing(tmp_path):
    f = tmp_path / "m.jsonl"
    with pytest.raises(TypeError, match=r"records\[1\] must be a mapping"):
        runlog.append_records(f, [{"step": 1}, [1, 2]])
    assert not f.exists()


def test_a_torn_last_line_is_dropped_with_a_warning_naming_the_file(tmp_path):
    f = tmp_path / "metrics.jsonl"
    runlog.append_records(f, [{"step": 1, "train_loss": 2.0}, {"step": 2, "train_loss": 1.9}])
    with open(f, "a") as h:
        h.write('{"step": 3, "train_lo')  # a kill in the middle of a write
    with pytest.warns(RuntimeWarning, match=r"metrics.jsonl: dropped a torn last line 3"):
        rows = runlog.read_metrics(f)
    assert [r["step"] for r in rows] == [1, 2]


def test_a_corrupt_line_in_the_middle_names_file_and_line(tmp_path):
    f = tmp_path / "metrics.jsonl"
    f.write_text('{"step": 1}\n{"step": 2, oops}\n{"step": 3}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl: line 2 is not a JSON object"):
        runlog.read_metrics(f)
    f.write_text('{"step": 1}\n[1, 2]\n{"step": 3}\n')  # valid JSON, but not an object
    with pytest.raises(ValueError, match="line 2 is not a JSON object"):
        runlog.read_metrics(f)
    with pytest.raises(FileNotFoundError):
        runlog.read_metrics(tmp_path / "missing.jsonl")


def test_read_series_needs_integer_steps(tmp_path):
    f = tmp_path / "m.jsonl"
    f.write_text('{"train_loss": 1.0}\n')
    with pytest.raises(ValueError, match="has no integer 'step'"):
        runlog.read_series(f, "train_loss")


def test_truncate_keeps_rows_up_to_the_step_and_repairs_a_torn_tail(tmp_path):
    f = tmp_path / "metrics.jsonl"
    rows = [{"step": s, "train_loss": 3.0 - 0.1 * s} for s in range(1, 7)]
    runlog.append_records(f, [*rows, {"step": 6, "final_val_loss": 2.0}])
    with open(f, "a") as h:
        h.write('{"step": 7, "tr')
    assert runlog.truncate_to_step(f, 4) == 4
    assert runlog.read_metrics(f) == rows[:4]
    # The file ends cleanly, so the next append is a line of its own.
    runlog.append_records(f, [{"step": 5, "train_loss": 0.0}])
    assert [r["step"] for r in runlog.read_metrics(f)] == [1, 2, 3, 4, 5]
    # At the last step only the final row goes; a missing file stays missing.
    assert runlog.truncate_to_step(f, 5, drop_keys=("train_loss",)) == 0
    assert runlog.truncate_to_step(tmp_path / "none.jsonl", 3) == 0
    assert not (tmp_path / "none.jsonl").exists()
    with pytest.raises(ValueError, match="step must be an integer >= 0; got -1"):
        runlog.truncate_to_step(f, -1)


def test_truncate_adds_the_missing_newline_of_a_whole_last_row(tmp_path):
    f = tmp_path / "m.jsonl"
    f.write_text('{"step": 1}\n{"step": 2}')  # killed between the row and its newline
    assert runlog.truncate_to_step(f, 5) == 2
    assert f.read_text() == '{"step": 1}\n{"step": 2}\n'


@settings(max_examples=60, deadline=None)
@given(
    losses=st.lists(st.floats(allow_nan=False, width=32), min_size=1, max_size=8),
    cut=st.integers(min_value=1, max_value=10_000),
)
def test_any_cut_inside_the_last_row_loses_only_that_row(tmp_path_factory, losses, cut):
    # A kill can stop a write at any byte: readers then see every earlier row intact.
    f = tmp_path_factory.mktemp("cut") / "metrics.jsonl"
    rows = [{"step": i + 1, "train_loss": x} for i, x in enumerate(losses)]
    runlog.append_records(f, rows)
    data = f.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1  # start of the last row
    keep = last + 1 + cut % (len(data) - last - 2)  # inside the last row, before its "}"
    f.write_bytes(data[:keep])
    with pytest.warns(RuntimeWarning, match="torn last line"):
        assert runlog.read_metrics(f) == rows[:-1]
    assert runlog.truncate_to_step(f, len(rows)) == len(rows) - 1


def test_write_json_is_atomic_and_leaves_no_temporary(tmp_path):
    f = tmp_path / "final.json"
    runlog.write_json(f, {"a": 1, "path": tmp_path})  # non-JSON values are written as str
    assert json.loads(f.read_text()) == {"a": 1, "path": str(tmp_path)}

    def boom(h):
        h.write(b"{half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        runlog.atomic_write(f, boom)
    assert json.loads(f.read_text())["a"] == 1  # the old content survives a failed write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.json"]


def test_remove_stale_temporaries_only_touches_the_named_files(tmp_path):
    stale = [".checkpoint.pt.x1y2.tmp", ".final.json.tmp", ".final.json.abc.tmp"]
    other = [".notes.txt.tmp", "checkpoint.pt", "final.json.tmp"]
    for name in stale + other:
        (tmp_path / name).write_text("x")
    removed = runlog.remove_stale_temporaries(tmp_path, ["checkpoint.pt", "final.json"])
    assert sorted(p.name for p in removed) == sorted(stale)
    assert sorted(os.listdir(tmp_path)) == sorted(other)
