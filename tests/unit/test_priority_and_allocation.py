"""Who goes first, and which trial arm each member gets."""

from __future__ import annotations

from collections import Counter

import pytest

from app.domain import allocation, priority
from app.domain.personalisation import personalise
from app.domain.priority import Candidate


def test_most_deprived_go_first_then_never_invited_by_default() -> None:
    people = [
        Candidate(1, 5, 0, 0),
        Candidate(2, 1, 1, 1),
        Candidate(3, 1, 0, 2),
        Candidate(4, None, 0, 3),
        Candidate(5, 3, 0, 4),
    ]
    order = [c.member_id for c in priority.order("imd_then_never_invited", people)]
    assert order == [3, 2, 5, 1, 4]


def test_never_invited_policy_puts_every_first_invitation_before_any_second() -> None:
    people = [Candidate(1, 1, 1, 0), Candidate(2, 5, 0, 1), Candidate(3, 2, 0, 2)]
    order = [c.member_id for c in priority.order("never_invited_then_imd", people)]
    assert order == [3, 2, 1]


def test_lottery_ranks_are_deterministic_for_a_seed_and_differ_between_seeds() -> None:
    ids = list(range(1, 200))
    assert priority.lottery_ranks(ids, 42) == priority.lottery_ranks(list(reversed(ids)), 42)
    assert priority.lottery_ranks(ids, 42) != priority.lottery_ranks(ids, 43)
    assert sorted(priority.lottery_ranks(ids, 42).values()) == list(range(len(ids)))


def test_an_unknown_priority_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        priority.check_policy("richest_first")


def test_allocation_follows_the_weights_within_one_block() -> None:
    weights = {"control": 1, "deadline": 2, "social_norm": 1}
    arms = allocation.allocate(range(1, 1001), weights, seed=5)
    counts = Counter(arms.values())
    block = len(allocation.block(weights))
    for name, weight in weights.items():
        assert abs(counts[name] - 1000 * weight / 4) <= block


def test_allocation_is_reproducible_from_the_seed_and_random_across_seeds() -> None:
    weights = {"control": 1, "deadline": 1}
    first = allocation.allocate(range(500), weights, seed=11)
    assert first == allocation.allocate(list(reversed(range(500))), weights, seed=11)
    assert first != allocation.allocate(range(500), weights, seed=12)
    # not alternating: the order inside a block is shuffled
    assert [first[i] for i in range(20)] != ["control", "deadline"] * 10


def test_a_small_cohort_stays_balanced() -> None:
    arms = allocation.allocate(range(10), {"control": 1, "deadline": 1}, seed=3)
    counts = Counter(arms.values())
    assert abs(counts["control"] - counts["deadline"]) <= 10


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("control=1", ("control", 1)),
        ("deadline", ("deadline", 1)),
        ("social_norm=3", ("social_norm", 3)),
    ],
)
def test_variant_options_parse(text: str, parsed: tuple[str, int]) -> None:
    assert allocation.parse_variant(text) == parsed


@pytest.mark.parametrize("text", ["=2", "a b=1", "x=0", "x=-1", "x=half"])
def test_bad_variant_options_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        allocation.parse_variant(text)


def test_personalisation_rules_choose_content_by_age_band_and_sex() -> None:
    assert "dementia" in personalise(age_band="70-74", sex="2")["benefit"]
    assert "Men" in personalise(age_band="45-49", sex="1")["benefit"]
    assert "heart" in personalise(age_band="45-49", sex="2")["benefit"]
    assert "heart" in personalise(age_band=None, sex=None)["benefit"]
