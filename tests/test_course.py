"""The course folder: nbgrader's own configuration decides where the gradebook is."""
import json

import pytest

from autograder.batch.course import Course
from autograder.checks import registry
from autograder.checks.samples import make_submission
from autograder.layout import REPO

pytestmark = pytest.mark.slow


def test_the_gradebook_is_the_database_the_course_configures(tmp_path):
    # db_url was once hard-coded to gradebook.db: a course configured otherwise got its
    # scores read from an empty file
    notebook_id = next(iter(registry.declared()))
    course = Course.create(tmp_path / "course", [notebook_id])
    elsewhere = tmp_path / "shared" / "grades.sqlite"
    elsewhere.parent.mkdir()
    with open(course.layout.config, "a") as config:
        config.write(f'\nc.CourseDirectory.db_url = "sqlite:///{elsewhere}"\n')
    course = Course(course.root)
    assert course.db_url == f"sqlite:///{elsewhere}"
    course.release(notebook_id)
    release = json.loads(course.layout.release_notebook(notebook_id).read_text())
    source = json.loads(REPO.solution_notebook(notebook_id).read_text())
    samples = {sample.student: sample for sample in registry.get(notebook_id).samples}
    course.submit("perfect", notebook_id, {f"{notebook_id}.ipynb": json.dumps(
        make_submission(release, source, samples["perfect"].changes))})
    course.autograde(notebook_id)
    assert elsewhere.is_file() and not course.layout.default_gradebook.exists()
    declaration = registry.get(notebook_id)
    assert course.scores(notebook_id)["perfect"] == {f"grade_{e.name}": e.points for e in declaration.exercises}
    # and a URL given on the command line (`grade --db`) wins over the configuration
    assert Course(course.root, db="sqlite:////elsewhere.db").db_url == "sqlite:////elsewhere.db"


def test_nbgrader_validates_cell_metadata_as_before_with_its_schema_checked_once(monkeypatch):
    import jsonschema
    from nbformat.v4 import new_code_cell
    from nbgrader.nbgraderformat import MetadataValidator

    from autograder.batch.course import _schema_checked_once

    _schema_checked_once()
    validator = MetadataValidator()
    cls = jsonschema.validators.validator_for(validator.schema)
    checked, check_schema = [], cls.check_schema
    monkeypatch.setattr(cls, "check_schema", lambda schema: checked.append(1) or check_schema(schema))

    def cell(points):
        return new_code_cell("x = 1", metadata={"nbgrader": {
            "schema_version": 3, "grade": True, "solution": False, "locked": True, "task": False,
            "grade_id": "part", "points": points}})

    for _ in range(3):
        validator.validate_cell(cell(2))
    assert checked == [1]
    with pytest.raises(jsonschema.ValidationError) as raised:
        validator.validate_cell(cell(-1))
    with pytest.raises(jsonschema.ValidationError) as plain:
        jsonschema.validate(cell(-1).metadata["nbgrader"], validator.schema)
    assert raised.value.message == plain.value.message
