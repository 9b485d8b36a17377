"""Reading training histories and the `diagnose` command."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sweeper import SpecError
from sweeper.__main__ import main
from sweeper.history import read_history

E = np.arange(120)
TRAIN = 0.01 + np.exp(-E / 20.0)
VAL = 0.05 + np.exp(-E / 15.0) + np.where(E > 50, 0.004 * (E - 50), 0.0)  # overfits


@pytest.fixture
def keras_csv(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n"
                    + "".join(f"{e},{t},{v}\n" for e, t, v in zip(E, TRAIN, VAL, strict=True)))
    return path


def test_keras_csvlogger(keras_csv):
    h = read_history(keras_csv)
    assert h.columns == ("loss", "val_loss") and len(h.val) == 120
    np.testing.assert_allclose(h.val, VAL)


def test_lightning_metrics_are_averaged_per_epoch(tmp_path):
    path = tmp_path / "metrics.csv"
    rows = ["epoch,step,train_loss,val_loss"]
    for e in range(10):
        rows += [f"{e},{3 * e},{1.0 / (e + 1)},", f"{e},{3 * e + 1},{3.0 / (e + 1)},",
                 f"{e},{3 * e + 2},,{0.5 / (e + 1)}"]
    path.write_text("\n".join(rows) + "\n")
    h = read_history(path)
    np.testing.assert_allclose(h.train, [2.0 / (e + 1) for e in range(10)])
    np.testing.assert_allclose(h.val, [0.5 / (e + 1) for e in range(10)])


def test_json_history_and_named_columns(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"mse": TRAIN.tolist(), "val_mse": VAL.tolist()}))
    h = read_history(path, train_col="mse", val_col="val_mse")
    assert len(h.train) == 120
    records = tmp_path / "records.json"
    records.write_text(json.dumps([{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5,
                                                                    "val_loss": 1.0}]))
    assert list(read_history(records).val) == [2.0, 1.0]


@pytest.mark.parametrize(
    "content, name, message",
    [
        ("a,b\n1,2\n", "h.csv", r"found no training-loss column \(tried loss"),
        ("", "h.csv", r"cannot be read as a training history"),
        ("{not json", "h.json", r"cannot be read as a training history"),
        ('{"loss": [1, 2], "val_loss": [1]}', "h.json", r"lists of equal length"),
    ],
)
def test_unreadable_histories_are_one_sentence(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SpecError, match=message):
        read_history(path)


@pytest.mark.parametrize(
    "content, name, message",
    [
        ("epoch,loss,val_loss\n0,1.0,2.0\n1,0.5,oops\n2,0.4,0.9\n", "h.csv",
         r"h\.csv: column 'val_loss' holds 'oops' at row 2, which is not a number; fix"),
        ('{"loss": [1.0, "0.5x", "?"], "val_loss": [2.0, 1.0, 0.9]}', "h.json",
         r"h\.json: column 'loss' holds '0\.5x' at row 2, which is not a number \(and 1 more"),
    ],
)
def test_non_numeric_loss_cell_is_bad_input_not_a_nan_loss(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SpecError, match=message):
        read_history(path)


def test_nan_loss_is_read_as_nan(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,2.0\n1,0.5,NaN\n2,nan,1.0\n")
    h = read_history(path)
    assert np.isnan(h.val[1]) and np.isnan(h.train[2])


def test_diagnose_non_numeric_cell_exits_2_with_one_sentence(tmp_path, capsys):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,2.0\n1,0.5,oops\n")
    assert main(["diagnose", str(path)]) == 2
    err = capsys.readouterr().err
    assert "history.csv: column 'val_loss' holds 'oops' at row 2" in err
    assert "Traceback" not in err and "diverged" not in err


def test_diagnose_prints_label_reason_and_recommendation(keras_csv, capsys):
    assert main(["diagnose", str(keras_csv)]) == 0
    out = capsys.readouterr().out
    assert "history.csv: overfit (120 epochs)" in out
    assert "reason:" in out and "recommendation:" in out


def test_diagnose_json_and_plot(keras_csv, tmp_path, capsys):
    plot = tmp_path / "curves.png"
    assert main(["diagnose", str(keras_csv), "--json", "--plot", str(plot)]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["label"] == "overfit" and result["evidence"]["best_epoch"] > 40
    assert 0.0 < result["confidence"] <= 1.0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagnose_with_a_reference_judges_the_plateau_against_it(tmp_path, capsys):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n" + "".join(
        f"{e},{0.1 + 0.9 * np.exp(-e / 10)},{0.12 + 0.9 * np.exp(-e / 10)}\n" for e in E))
    assert main(["diagnose", str(path), "--reference", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "history.csv: underfit" in out and "above the 0.05 that the best comparable" in out


def test_diagnose_bad_file_exits_2(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv: no such file." in capsys.readouterr().err


def test_diagnose_imports_no_torch(keras_csv):
    code = ("import sys; from sweeper.__main__ import main; "
            f"main(['diagnose', {str(keras_csv)!r}]); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().endswith("False")
