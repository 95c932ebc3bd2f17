"""`python -m autograder`: a wrong argument gets a clear error that names it, and nothing runs."""
import pytest

from autograder.__main__ import main


@pytest.mark.parametrize("args, says", [
    (["--workers", "0"], "--workers: 0 is too small: at least 1"),
    (["--memory", "lots"], "--memory: 'lots' is not a whole number"),
    (["--cell-timeout", "-1"], "--cell-timeout: -1 is too small"),
    (["--sandbox", "maybe"], "invalid choice: 'maybe'"),
])
def test_a_bad_option_is_refused_by_name(args, says, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["grade", str(tmp_path), *args])
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_a_folder_that_is_not_a_course_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="has no submitted/ folder"):
        main(["grade", str(tmp_path / "nowhere")])


def test_an_unknown_assignment_is_named_with_the_known_ones(tmp_path, capsys):
    (tmp_path / "submitted").mkdir()
    assert main(["grade", str(tmp_path), "04_gru_typo"]) == 1
    err = capsys.readouterr().err
    assert "unknown assignment '04_gru_typo'" in err and "01_vanilla_rnn" in err


def test_release_of_an_unknown_assignment_changes_nothing(capsys):
    assert main(["release", "99_nothing"]) == 1
    assert "unknown assignment '99_nothing'" in capsys.readouterr().err
