"""NHS Digital disclosure control: primary suppression, rounding and secondary suppression."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.suppression import (
    ALL,
    SUPPRESSED,
    Rule,
    disclose,
    disclose_cube,
    round_count,
    shown,
)
from tests import disclosure_audit
from tests.disclosure_audit import table_relations

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


def one_way(**cells: int) -> dict[tuple[str], int]:
    """A one-way table with its total (ALL)."""
    table = {(k,): v for k, v in cells.items()}
    table[(ALL,)] = sum(cells.values())
    return table


def published(table: dict, rule: Rule = RULE) -> dict:  # type: ignore[type-arg]
    out = disclose_cube(table, rule, dims=len(next(iter(table))))
    return {k[0] if len(k) == 1 else k: v for k, v in out.items()}


def test_one_hidden_cell_in_a_column_hides_the_next_smallest_too() -> None:
    out = published(one_way(a=5, b=40, c=12, d=0))
    assert out == {"a": None, "b": 40, "c": None, "d": 0, ALL: 55}


def test_two_hidden_cells_need_no_secondary_suppression() -> None:
    out = published(one_way(a=5, b=3, c=40))
    assert out == {"a": None, "b": None, "c": 40, ALL: 50}


def test_a_line_with_only_zeros_beside_the_hidden_cell_hides_nothing_more() -> None:
    # the total equals the hidden cell, so it is primary-suppressed already
    assert published(one_way(a=5, b=0)) == {"a": None, "b": 0, ALL: None}


def test_a_partner_must_be_large_enough_to_let_the_hidden_cell_reach_the_threshold() -> None:
    # 5 hidden beside 2 would publish "these two add up to 7": hide 12 instead
    assert published(one_way(a=5, b=2, c=12, d=40)) == {
        "a": None,
        "b": None,
        "c": None,
        "d": 40,
        ALL: 60,
    }


def test_when_no_partner_can_protect_a_cell_the_whole_table_below_its_total_is_hidden() -> None:
    assert published(one_way(a=5, b=1, c=1, d=1)) == {
        "a": None,
        "b": None,
        "c": None,
        "d": None,
        ALL: 10,
    }


def test_secondary_suppression_cascades_across_rows_and_columns() -> None:
    # 2x2 table with margins: hiding (r1,c1) needs a row partner, a column partner and the
    # cell that closes the rectangle
    counts = {
        ("r1", "c1"): 3,
        ("r1", "c2"): 20,
        ("r2", "c1"): 30,
        ("r2", "c2"): 50,
        ("r1", ALL): 23,
        ("r2", ALL): 80,
        (ALL, "c1"): 33,
        (ALL, "c2"): 70,
        (ALL, ALL): 103,
    }
    out = disclose_cube(counts, RULE, dims=2)
    hidden = {k for k, v in out.items() if v is None}
    assert hidden == {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2")}
    assert_every_line_has_no_hidden_cell_or_at_least_two(out)


def test_the_margins_of_a_two_way_table_are_the_one_way_tables_as_published_alone() -> None:
    # the repro: men 5 (hidden), women 10, total 15 by sex; the Asian row 5 (hidden)
    cells = {("white", "m"): 3, ("white", "f"): 7, ("asian", "m"): 2, ("asian", "f"): 3}
    two = disclose_cube(with_margins(cells, 2), Rule(8, 1), dims=2)
    by_sex = disclose_cube(
        with_margins({(s,): sum(v for k, v in cells.items() if k[1] == s) for s in "mf"}, 1),
        Rule(8, 1),
        dims=1,
    )
    assert {(ALL,) + k: v for k, v in by_sex.items()} == {
        k: v for k, v in two.items() if k[0] == ALL
    }
    men, women, everyone = two[(ALL, "m")], two[(ALL, "f")], two[(ALL, ALL)]
    assert men is None and (women is None or everyone is None)


def with_margins(cells: dict, width: int, parents: dict | None = None) -> dict:  # type: ignore[type-arg]
    """The cells plus every margin: along each axis ALL, and a hierarchy's parents."""
    parents = parents or {}
    table: dict = {}  # type: ignore[type-arg]
    for key, n in cells.items():
        chains = []
        for i, v in enumerate(key):
            chain = [v]
            while chain[-1] != ALL:
                chain.append(parents.get(i, {}).get(chain[-1], ALL))
            chains.append(chain)
        for margin in itertools.product(*chains):
            table[margin] = table.get(margin, 0) + n
    assert len(table) >= len(cells) and width == len(next(iter(cells)))
    return table


def assert_every_line_has_no_hidden_cell_or_at_least_two(
    out: dict,  # type: ignore[type-arg]
    parents: dict | None = None,  # type: ignore[type-arg]
) -> None:
    for cells, total in table_relations(out, parents):
        hidden = [c for c in [*cells, total] if out[c] is None]
        assert len(hidden) != 1, (cells, total, hidden)


@st.composite
def tables(draw: st.DrawFn) -> tuple[dict, int, dict]:  # type: ignore[type-arg]
    """A table of 0-2 dimensions, maybe split in an inner axis whose margin is a third
    count (as textable + not textable = eligible); the first dimension may be a hierarchy
    (categories within groups, as ethnic category within ethnic group)."""
    dims = draw(st.integers(0, 2))
    inner = draw(st.booleans())
    sizes = [draw(st.integers(1, 4)) for _ in range(dims)]
    parents: dict = {}  # type: ignore[type-arg]
    if dims and draw(st.booleans()):
        parents[0] = {v: ("group", draw(st.integers(0, 1))) for v in range(sizes[0])}
    small = st.one_of(st.integers(0, 9), st.integers(0, 60))
    cells: dict = {}  # type: ignore[type-arg]
    for key in itertools.product(*(range(n) for n in sizes)):
        for part in ("t", "n") if inner else ("",):
            cells[key + ((part,) if inner else ())] = draw(small)
    return with_margins(cells, dims + inner, parents), dims, parents


@given(table=tables(), below=st.integers(2, 12), to=st.integers(1, 10))
@settings(max_examples=300, deadline=None)
def test_no_published_cell_ever_lies_between_1_and_the_threshold(
    table: tuple[dict, int, dict],  # type: ignore[type-arg]
    below: int,
    to: int,
) -> None:
    counts, dims, parents = table
    rule = Rule(suppress_below=below, round_to=to)
    out = disclose_cube(counts, rule, dims=dims, parents=parents)
    for value in out.values():
        assert value is None or value == 0 or value >= below or value % to == 0
    if (below, to) == (8, 5):
        assert all(v is None or not 1 <= v <= 7 for v in out.values())
    assert_every_line_has_no_hidden_cell_or_at_least_two(out, parents)


@given(table=tables())
@settings(max_examples=300, deadline=None)
def test_with_the_default_rule_no_exported_cell_is_1_to_7(
    table: tuple[dict, int, dict],  # type: ignore[type-arg]
) -> None:
    counts, dims, parents = table
    out = disclose_cube(counts, Rule(), dims=dims, parents=parents)
    assert not any(isinstance(v, int) and 1 <= v <= 7 for v in out.values())
    assert all(shown(v) == SUPPRESSED or shown(v) == 0 or shown(v) >= 10 for v in out.values())


@given(table=tables(), rule=st.sampled_from([Rule(), Rule(8, 1), Rule(10, 10), Rule(3, 1)]))
@settings(max_examples=150, deadline=None)
def test_the_audit_finds_no_hidden_count_pinned_in_any_small_table(
    table: tuple[dict, int, dict],  # type: ignore[type-arg]
    rule: Rule,
) -> None:
    """Integer programming over the published cells, the margins and the rounding rule
    bounds every hidden cell: none is pinned (see tests/disclosure_audit.py)."""
    counts, dims, parents = table
    out = disclose_cube(counts, rule, dims=dims, parents=parents)
    relations = table_relations(out, parents)
    assert disclosure_audit.pinned(out, counts, relations, rule) == {}


@given(table=tables())
@settings(max_examples=200, deadline=None)
def test_each_margin_is_published_as_its_smaller_table_publishes_it_alone(
    table: tuple[dict, int, dict],  # type: ignore[type-arg]
) -> None:
    counts, dims, parents = table
    full = disclose_cube(counts, Rule(8, 1), dims=dims, parents=parents)
    for keep in range(dims):  # the one-way table by dimension `keep`, asked for alone
        drop = [i for i in range(dims) if i != keep]

        def narrow(k: tuple, drop: list[int] = drop) -> tuple:  # type: ignore[type-arg]
            return tuple(v for i, v in enumerate(k) if i not in drop)

        alone = {narrow(k): n for k, n in counts.items() if all(k[i] == ALL for i in drop)}
        mine = disclose_cube(alone, Rule(8, 1), dims=1, parents={0: parents.get(keep, {})})
        for k, v in full.items():
            if all(k[i] == ALL for i in drop):
                assert mine[narrow(k)] == v
    if 0 in parents:  # the table of groups alone: the categories' parents as published
        groups = {k: n for k, n in counts.items() if k[0] not in parents[0]}
        mine = disclose_cube(groups, Rule(8, 1), dims=dims)
        assert mine == {k: full[k] for k in groups}


def test_a_table_protected_as_a_last_resort_keeps_the_cells_that_add_up_to_it_hidden() -> None:
    # groups g0 (3) and g1 (9), categories 1 in g0, 0 and 2 in g1, split t / n: no cube
    # protects g0's 1 textable, so the group table is hidden; were category 2 (8) shown,
    # g1 >= 8 and g0 <= 4 would follow
    cells = {(0, "t"): 0, (0, "n"): 1, (1, "t"): 1, (1, "n"): 2, (2, "t"): 0, (2, "n"): 8}
    parents = {0: {0: ("group", 1), 1: ("group", 0), 2: ("group", 1)}}
    counts = with_margins(cells, 2, parents)
    out = disclose_cube(counts, RULE, dims=1, parents=parents)
    relations = table_relations(out, parents)
    assert disclosure_audit.pinned(out, counts, relations, RULE) == {}
