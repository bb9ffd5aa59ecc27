"""Settings: the environment, then keyword arguments (the CLI's flags), each value checked against its bounds,
a bad one named in one line with the flag and the variable to fix."""

from __future__ import annotations

import pytest

from grader.errors import GraderError
from grader.settings import Settings, load


def test_the_environment_overrides_defaults_and_flags_override_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().pids == Settings.default("pids") == 64
    monkeypatch.setenv("GRADE_PIDS", "100")
    monkeypatch.setenv("GRADE_TIMEOUT_S", "2.5")
    monkeypatch.setenv("GRADE_IMAGE", "grade-runtime:x")
    s = Settings()
    assert (s.pids, s.timeout_s, s.image) == (100, 2.5, "grade-runtime:x")
    assert Settings(pids=9).pids == 9
    assert load(pids=None, cpus=2).pids == 100 and load(cpus=2).cpus == 2.0  # None: the flag was not given


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (
            {"timeout_s": 0},
            r"invalid setting timeout_s \(must be greater than 0\) — fix the flag or the GRADE_TIMEOUT_S",
        ),
        ({"pids": 2}, r"invalid setting pids \(must be at least 8\)"),
        ({"pids": "many"}, r"invalid setting pids \('many' is not a valid int\)"),
        ({"pids": 8.5}, r"invalid setting pids \(8.5 is not a valid int\)"),
        ({"grace_s": float("nan")}, r"invalid setting grace_s \(must be at least 0\)"),
        ({"sandbox": 3}, r"invalid setting sandbox \(3 is not a valid str\)"),
        ({"timeout": 3}, r"unknown setting 'timeout' — known: image, timeout_s"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_fix(given: dict[str, object], says: str) -> None:
    with pytest.raises(GraderError, match=says):
        Settings(**given)


def test_a_bad_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADE_MEMORY_MB", "lots")
    with pytest.raises(GraderError, match="GRADE_MEMORY_MB environment variable"):
        load()


def test_a_copy_checks_its_new_values() -> None:
    s = Settings(timeout_s=3)
    assert s.model_copy(update={"cpus": 2}).cpus == 2.0 and s.model_copy().timeout_s == 3.0
    with pytest.raises(GraderError, match="cpus"):
        s.model_copy(update={"cpus": -1})
    assert s.model_dump()["timeout_s"] == 3.0 and Settings(**s.model_dump()) == s
