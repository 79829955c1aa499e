"""NHS Digital disclosure control: primary suppression, rounding and secondary suppression."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.suppression import (
    SUPPRESSED,
    Line,
    Rule,
    disclose,
    disclose_table,
    round_count,
    secondary,
    shown,
)

RULE = Rule(suppress_below=8, round_to=5)


@pytest.mark.parametrize(
    ("count", "published"),
    [
        (0, 0),
        (1, None),
        (4, None),
        (7, None),
        (8, 10),
        (10, 10),
        (12, 10),
        (13, 15),
        (17, 15),
        (18, 20),
        (22, 20),
        (23, 25),
        (1002, 1000),
        (1003, 1005),
    ],
)
def test_nhs_digital_rule_on_a_table_of_counts(count: int, published: int | None) -> None:
    assert disclose(count, RULE) == published


def test_thresholds_come_from_the_rule() -> None:
    rule = Rule(suppress_below=10, round_to=10)
    assert disclose(9, rule) is None
    assert disclose(10, rule) == 10
    assert disclose(14, rule) == 10
    assert disclose(15, rule) == 20


def test_rounding_is_integer_exact_at_halves() -> None:
    assert round_count(25, 10) == 30
    assert round_count(35, 10) == 40  # no banker's rounding
    assert round_count(2, 5) == 0


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        disclose(-1, RULE)


def test_suppressed_cells_show_as_a_star() -> None:
    assert shown(None) == SUPPRESSED == "*"
    assert shown(0) == 0
    assert shown(15) == 15


def test_one_hidden_cell_in_a_column_hides_the_next_smallest_too() -> None:
    counts = {"a": 5, "b": 40, "c": 12, "d": 0, "total": 57}
    line = Line(cells=("a", "b", "c", "d"), total="total")
    out = disclose_table(counts, [line], RULE)
    assert out == {"a": None, "b": 40, "c": None, "d": 0, "total": 55}


def test_two_hidden_cells_need_no_secondary_suppression() -> None:
    counts = {"a": 5, "b": 3, "c": 40, "total": 48}
    out = disclose_table(counts, [Line(cells=("a", "b", "c"), total="total")], RULE)
    assert out == {"a": None, "b": None, "c": 40, "total": 50}


def test_a_line_with_only_zeros_beside_the_hidden_cell_hides_nothing_more() -> None:
    # the total equals the hidden cell, so it is primary-suppressed already
    counts = {"a": 5, "b": 0, "total": 5}
    out = disclose_table(counts, [Line(cells=("a", "b"), total="total")], RULE)
    assert out == {"a": None, "b": 0, "total": None}


def test_when_no_other_cell_can_be_hidden_the_total_is_hidden() -> None:
    # a total that counts more than its listed cells (e.g. unlisted groups)
    assert secondary({"a": 5, "b": 0, "t": 30}, {"a"}, [Line(("a", "b"), "t")]) == {"a", "t"}


def test_secondary_suppression_cascades_across_rows_and_columns() -> None:
    # 2x2 table with margins: hiding (r1,c1) hides (r1,c2) by row, which exposes column c2
    counts = {
        ("r1", "c1"): 3,
        ("r1", "c2"): 20,
        ("r2", "c1"): 30,
        ("r2", "c2"): 50,
        ("r1", "*"): 23,
        ("r2", "*"): 80,
        ("*", "c1"): 33,
        ("*", "c2"): 70,
    }
    lines = [
        Line((("r1", "c1"), ("r1", "c2")), ("r1", "*")),
        Line((("r2", "c1"), ("r2", "c2")), ("r2", "*")),
        Line((("r1", "c1"), ("r2", "c1")), ("*", "c1")),
        Line((("r1", "c2"), ("r2", "c2")), ("*", "c2")),
    ]
    out = disclose_table(counts, lines, RULE)
    hidden = {k for k, v in out.items() if v is None}
    assert hidden == {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2")}
    assert_no_line_has_a_single_hidden_cell(counts, out, lines)


def assert_no_line_has_a_single_hidden_cell(counts, out, lines) -> None:  # type: ignore[no-untyped-def]
    for line in lines:
        hidden = [c for c in line.cells if out[c] is None and counts[c] != 0]
        total_hidden = line.total is not None and out[line.total] is None
        assert len(hidden) != 1 or total_hidden, line


@st.composite
def two_way_tables(draw: st.DrawFn) -> tuple[dict, list[Line]]:  # type: ignore[type-arg]
    rows = draw(st.integers(1, 5))
    cols = draw(st.integers(1, 5))
    small = st.one_of(st.integers(0, 9), st.integers(0, 200))
    counts: dict = {}  # type: ignore[type-arg]
    for r in range(rows):
        for c in range(cols):
            counts[(r, c)] = draw(small)
    for r in range(rows):
        counts[(r, "*")] = sum(counts[(r, c)] for c in range(cols))
    for c in range(cols):
        counts[("*", c)] = sum(counts[(r, c)] for r in range(rows))
    counts[("*", "*")] = sum(counts[(r, "*")] for r in range(rows))
    lines = [Line(tuple((r, c) for c in range(cols)), (r, "*")) for r in range(rows)]
    lines += [Line(tuple((r, c) for r in range(rows)), ("*", c)) for c in range(cols)]
    lines.append(Line(tuple((r, "*") for r in range(rows)), ("*", "*")))
    lines.append(Line(tuple(("*", c) for c in range(cols)), ("*", "*")))
    return counts, lines


@given(table=two_way_tables(), below=st.integers(2, 12), to=st.integers(1, 10))
@settings(max_examples=300, deadline=None)
def test_no_published_cell_ever_lies_between_1_and_the_threshold(
    table: tuple[dict, list[Line]],  # type: ignore[type-arg]
    below: int,
    to: int,
) -> None:
    counts, lines = table
    rule = Rule(suppress_below=below, round_to=to)
    out = disclose_table(counts, lines, rule)
    for value in out.values():
        assert value is None or value == 0 or value >= below or value % to == 0
    if (below, to) == (8, 5):
        assert all(v is None or not 1 <= v <= 7 for v in out.values())
    assert_no_line_has_a_single_hidden_cell(counts, out, lines)


@given(table=two_way_tables())
@settings(max_examples=300, deadline=None)
def test_with_the_default_rule_no_exported_cell_is_1_to_7(
    table: tuple[dict, list[Line]],  # type: ignore[type-arg]
) -> None:
    counts, lines = table
    out = disclose_table(counts, lines, Rule())
    assert not any(isinstance(v, int) and 1 <= v <= 7 for v in out.values())
    assert all(shown(v) == SUPPRESSED or shown(v) == 0 or shown(v) >= 10 for v in out.values())
