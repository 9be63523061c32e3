"""Forgiving facilitator names: how well a remembered name fits a session's facilitators."""

import pytest

from service.rules.names import CLOSE, EXACT, NEAR_PART, NONE, PART, fold, name_score


@pytest.mark.parametrize(
    ("query", "facilitators", "score"),
    [
        ("Jane Doe", ["Jane Doe"], EXACT),
        ("JANE DOE", ["Jane Doe"], EXACT),
        ("  jane   doe ", ["Jane Doe"], EXACT),
        ("Zoe Brown", ["Zoë Brown"], EXACT),
        ("Doe, Jane", ["Jane Doe"], EXACT),
        ("Ms. Jane Doe", ["Jane Doe"], EXACT),
        ("Jayne Doe", ["Jane Doe"], CLOSE),
        ("Jane Deo", ["Jane Doe"], CLOSE),
        ("Mary Smith", ["Mary Ann Smith"], CLOSE),
        ("Jane", ["Jane Doe"], PART),
        ("Doe", ["Jane Doe"], PART),
        ("Dr Doe", ["Jane Doe"], PART),
        ("Sam", ["Jane Doe", "Sam Lee"], PART),
        ("Jane and Sam", ["Jane Doe", "Sam Lee"], PART),
        ("Jane Doe & Sam Lee", ["Sam Lee"], EXACT),
        ("Jayne", ["Jane Doe"], NEAR_PART),
        ("John Doe", ["Jane Doe"], PART),
        ("S. Lee", ["Jane Doe", "Sam Lee"], CLOSE),
        ("Jane D.", ["Jane Doe"], CLOSE),
        ("J. Smith", ["Jane Doe"], NONE),
        ("Samuel Lee", ["Sam Lee"], PART),
        ("Bob", ["Jane Doe"], NONE),
        ("", ["Jane Doe"], NONE),
        ("Anna Kuznetsova", ["Анна Кузнецова"], NONE),
        ("Анна", ["Анна Кузнецова"], PART),
        ("nguyen thi minh", ["Nguyễn Thị Minh"], EXACT),
    ],
)
def test_name_score(query, facilitators, score):
    assert name_score(query, facilitators) == score


def test_fold_removes_case_accents_and_punctuation():
    assert fold("  Zoë  O'Brien-Łukasiewicz ") == "zoe obrien łukasiewicz"
