"""The class benchmark's command: how it deals a class out over the notebooks, and its errors.
(Its numbers are measured by running it, `python -m autograder bench-class --quick`.)"""
import pytest

from autograder.__main__ import main
from autograder.tools.bench_class import spread

SIX = ("01", "02", "03", "04", "05", "06")


@pytest.mark.parametrize("count", [1, 5, 6, 10, 50, 200])
def test_a_class_is_dealt_out_over_the_notebooks_evenly(count):
    dealt = spread(count, SIX)
    assert sum(dealt.values()) == count
    assert max(dealt.values()) - min(dealt.values()) <= 1
    assert len(dealt) == min(count, len(SIX))
    assert list(dealt) == list(SIX[:len(dealt)])  # the first notebooks get one more


def test_the_whole_class_is_every_student_on_every_notebook():
    assert spread(600, SIX, per_notebook=100) == dict.fromkeys(SIX, 100)


def test_a_work_folder_in_use_is_refused(tmp_path, capsys):
    (tmp_path / "left.txt").write_text("an earlier run")
    assert main(["bench-class", "--quick", "--work", str(tmp_path)]) == 1
    assert "is not empty; choose a new folder" in capsys.readouterr().err


@pytest.mark.parametrize("args, says", [
    (["--sizes", "10", "0"], "--sizes: 0 is too small: at least 1"),
    (["--workers", "two"], "--workers: 'two' is not a whole number"),
])
def test_a_bad_size_is_refused_by_name(args, says, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench-class", *args, "--work", str(tmp_path / "bench")])
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err
