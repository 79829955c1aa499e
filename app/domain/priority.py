"""Who is invited first when there are fewer free slots than people waiting.

The order is a named, configurable policy (stored on the campaign as `priority`), so it
is documented and the same for every wave:

- `imd_then_never_invited` (default): most deprived first (IMD quintile 1 before 5,
  unknown deprivation last), then people never invited before ahead of those being
  re-invited. Uptake of NHS Health Checks is lowest in the most deprived areas (OHID
  Fingertips; Patel et al., BMJ Open 2020), so scarce slots go where they add most.
- `never_invited_then_imd`: everyone gets a first invitation before anyone a second,
  then most deprived first.
- `random`: a seeded lottery only.

Ties are broken by a seeded random rank drawn once at approval (`priority_rank`), so the
order is deterministic for a given seed yet favours nobody by patient number.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_POLICY = "imd_then_never_invited"
POLICIES = ("imd_then_never_invited", "never_invited_then_imd", "random")
_UNKNOWN_QUINTILE = 6  # after quintile 5


@dataclass(frozen=True)
class Candidate:
    member_id: int
    imd_quintile: int | None
    invitations: int
    priority_rank: int


def check_policy(name: str) -> str:
    if name not in POLICIES:
        raise ValueError(f"unknown priority policy {name!r}; choose from {', '.join(POLICIES)}")
    return name


def sort_key(policy: str, candidate: Candidate) -> tuple[int, ...]:
    """The policy's ordering key: smaller goes first."""
    quintile = candidate.imd_quintile or _UNKNOWN_QUINTILE
    invited_before = 1 if candidate.invitations > 0 else 0
    if policy == "imd_then_never_invited":
        return (quintile, invited_before, candidate.priority_rank, candidate.member_id)
    if policy == "never_invited_then_imd":
        return (invited_before, quintile, candidate.priority_rank, candidate.member_id)
    if policy == "random":
        return (candidate.priority_rank, candidate.member_id)
    raise ValueError(f"unknown priority policy {policy!r}")


def order(policy: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """Candidates in the order they should be offered slots."""
    check_policy(policy)
    return sorted(candidates, key=lambda c: sort_key(policy, c))


def lottery_ranks(member_ids: Sequence[int], seed: int) -> dict[int, int]:
    """A seeded random rank (0..n-1) for each member: the tie-break drawn at approval.

    Members are shuffled in id order so the same cohort and seed give the same ranks.
    """
    ids = sorted(member_ids)
    random.Random(f"priority:{seed}").shuffle(ids)
    return {member_id: rank for rank, member_id in enumerate(ids)}
