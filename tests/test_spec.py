from pathlib import Path

import pytest

from sweeper import Data, FloatRange, IntRange, Space, SpecError, Study
from sweeper.__main__ import main
from sweeper.spec import load_study_file

TINY = str(Path(__file__).parent / "fixtures" / "tiny_toy.py")
FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("path", sorted((ROOT / "studies").glob("*.py")))
def test_shipped_studies_load(path):
    spec = load_study_file(path)
    assert spec.name == path.stem


def test_toy_study_matches_the_tutorial():
    spec = load_study_file(ROOT / "studies" / "seed_toy.py")
    assert spec.data == Data.toy()
    assert spec.space.shuffle is False


@pytest.mark.parametrize(
    "fixture, message",
    [
        ("does_not_exist.py", r"does_not_exist.py: no such study file"),
        ("syntax_error.py", r"syntax_error.py, line \d: there is a syntax error"),
        ("no_study.py", r"no_study.py: defines no Study"),
        ("two_studies.py", r"two_studies.py: defines 2 Study objects \(a, b\)"),
        ("unknown_field.py", r"unknown_field.py, line 6: Space has no field 'hiden' "
                             r"\(did you mean 'hidden'\?\)"),
        ("unknown_study_field.py", r"Study has no field 'repeat' \(did you mean 'repeats'\?\)"),
        ("inverted_range.py", r"inverted_range.py, line 3: Space.hidden is an inverted range: "
                              r"low=20 is above high=2"),
        ("empty_range.py", r"Space.epochs is an empty range: step=100"),
        ("wrong_type.py", r"Space.dropout must be a float in \[0, 1\), a FloatRange or a Choice, "
                          r"but got 'lots'"),
        ("raises.py", r"raises.py, line 4: the study file raised IndexError"),
    ],
)
def test_bad_study_files_are_one_sentence(fixture, message):
    with pytest.raises(SpecError, match=message):
        load_study_file(FIXTURES / fixture)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"repeats": 0}, r"Study.repeats must be an int >= 1, but got 0"),
        ({"gap_penalty": -1}, r"Study.gap_penalty must be a number >= 0"),
        ({"spread_penalty": "high"}, r"Study.spread_penalty must be a number >= 0"),
        ({"pruner": "medain"}, r"Study.pruner must be one of .* \(did you mean 'median'\?\)"),
        ({"name": "a/b"}, r"Study.name must be letters"),
        ({"data": "toy"}, r"Study.data must be a Data"),
        ({"engine": "vectorised"}, r"Study.engine must be one of .* \(did you mean "
                                   r"'vectorized'\?\)"),
        ({"study_figures": "no"}, r"Study.study_figures must be True or False, but got 'no'"),
    ],
)
def test_study_fields_are_validated(kwargs, message):
    with pytest.raises(SpecError, match=message):
        Study(**{"name": "x", "data": Data.toy(), **kwargs})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"layers": 0}, r"Space.layers must be an int >= 1"),
        ({"hidden": FloatRange(1.0, 4.0)}, r"Space.hidden must be an IntRange"),
        ({"weight_decay": FloatRange(0.0, 1e-2, log=True)}, r"Space.weight_decay.low must be "
                                                             r"> 0 on a log scale"),
        ({"optimizer": "adma"}, r"Space.optimizer must be one of"),
        ({"epochs": IntRange(0, 10)}, r"Space.epochs.low must be an int >= 1"),
    ],
)
def test_space_fields_are_validated(kwargs, message):
    with pytest.raises(SpecError, match=message):
        Space(**kwargs)


def test_missing_required_field():
    with pytest.raises(SpecError, match=r"Study needs 'data'"):
        Study(name="x")


def test_override_revalidates():
    spec = Study(name="x", data=Data.toy())
    assert spec.override(repeats=5, seed=None).repeats == 5
    with pytest.raises(SpecError, match="Study.repeats"):
        spec.override(repeats=-1)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.py"], "missing.py: no such study file"),
        ([str(FIXTURES / "unknown_field.py")], "did you mean 'hidden'"),
        ([str(FIXTURES / "tiny_toy.py"), "--repeats", "0"], "command-line flags: Study.repeats"),
        ([str(FIXTURES / "tiny_toy.py"), "--pruner", "bogus"], "Study.pruner must be one of"),
        ([str(FIXTURES / "tiny_toy.py"), "--device", "tpu"], "--device must be auto, cpu"),
        ([str(FIXTURES / "nan_data.py")],
         "data: nan_series.csv has 1 missing or infinite values in the series \\(first at row 3, "
         "column 'value'\\)"),
        ([str(FIXTURES / "column_list.py")], "line 4: Data.column must be one column name "
                                             "\\(a string\\), but got \\['load', 'temp'\\]"),
        ([str(FIXTURES / "column_number.py")], "line 4: Data.column must be one column name "
                                               "\\(a string\\), but got 1\\."),
        ([str(FIXTURES / "short_data.py")], "data: the series 'array' has 5 points, too short"),
        ([str(FIXTURES / "syntax_error.py")], "line \\d+: there is a syntax error"),
        ([str(FIXTURES / "no_study.py")], "defines no Study"),
        ([str(FIXTURES / "two_studies.py")], "defines 2 Study objects"),
        ([str(FIXTURES / "wrong_type.py")], "must be"),
        ([str(FIXTURES / "raises.py")], "the study file raised"),
        ([str(FIXTURES / "empty_range.py")], "Space.epochs is an empty range"),
        ([str(FIXTURES / "unknown_study_field.py")], "did you mean"),
        ([TINY, "--jobs", "0"], "--jobs must be >= 1"),
        ([TINY, "--threads", "0"], "--threads must be >= 1"),
        ([TINY, "--max-failures", "0"], "Study.max_failures must be an int >= 1"),
        ([TINY, "--engine", "fast"], "Study.engine must be one of"),
        ([TINY, "--sampler", "tpee"], r"Study.sampler must be one of tpe, random, gp, cmaes, qmc, "
                                      r"but got 'tpee' \(did you mean 'tpe'\?\)"),
        ([TINY, "--storage", ":memory:", "--jobs", "2"], "--jobs needs a storage the workers"),
        ([TINY, "--storage", "postgresql://u:${SWEEPER_UNSET_VARIABLE}@127.0.0.1:1/db"],
         "SWEEPER_UNSET_VARIABLE is not set"),
        ([TINY, "--storage", "postgresql://u:hunter2@127.0.0.1:1/db"],
         "the storage postgresql://u:\\*\\*\\*@127.0.0.1:1/db cannot be opened"),
        ([TINY, "--storage", "nosuchdb://localhost/x"], "cannot be opened"),
        ([TINY, "--storage", "mysql://u:hunter2@127.0.0.1:1/db"],
         "needs the database driver 'MySQLdb', which is not installed"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert __import__("re").search(message, err), err
    assert "hunter2" not in err
    assert not (tmp_path / "runs").exists()  # refused before any study was created


@pytest.mark.parametrize("value", ["two minutes", "0", "-5", "nan"])
def test_a_bad_outage_limit_in_the_environment_exits_2(value, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SWEEPER_OUTAGE_LIMIT_S", value)
    assert main([TINY]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SWEEPER_OUTAGE_LIMIT_S must be a number of seconds" in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv", [[TINY, "--n-trials", "many"], [TINY, "--bogus"], []])
def test_cli_bad_flags_exit_2_before_loading_anything(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err and not (tmp_path / "runs").exists()


def test_no_torch_load_without_weights_only():
    """A checkpoint is data, never code: every torch.load in the package passes
    weights_only=True."""
    import ast

    calls = 0
    for path in (ROOT / "sweeper").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                calls += 1
                safe = [k for k in node.keywords if k.arg == "weights_only"
                        and isinstance(k.value, ast.Constant) and k.value.value is True]
                assert safe, f"{path}:{node.lineno}: {ast.unparse(node)}"
    assert calls  # the model files are read somewhere


def test_cli_debug_shows_traceback(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([str(FIXTURES / "raises.py"), "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err
