"""Personalisation: explicit rules choosing invitation content from demographic data.

Templates never branch on age or sex themselves; they print `personal.<key>`, and the
rules below (first match wins, per key) decide what that is. Keeping the rules in one
table makes them reviewable (is this fair? is it true?) and testable.

Sources: NHS Health Check best practice guidance (OHID 2024): the 65-74 check includes
dementia awareness; uptake is lowest among men and younger invitees (Patel et al., BMJ
Open 2020), so they get a line speaking to that. Nothing clinical about the person is
ever used or implied: only age band and stated sex, which are on every invitation list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

MALE = "1"
FEMALE = "2"


@dataclass(frozen=True)
class Rule:
    key: str
    value: str
    # attribute -> allowed values; every named attribute must match; empty = always
    when: Mapping[str, frozenset[str]] = field(default_factory=dict)
    why: str = ""

    def matches(self, person: Mapping[str, str | None]) -> bool:
        return all(person.get(attr) in allowed for attr, allowed in self.when.items())


RULES: tuple[Rule, ...] = (
    Rule(
        "benefit",
        "At 65+ it covers dementia too.",
        {"age_band": frozenset({"65-69", "70-74"})},
        why="the 65-74 check includes dementia awareness (NHS Health Check guidance)",
    ),
    Rule(
        "benefit",
        "Men your age gain the most.",
        {"sex": frozenset({MALE}), "age_band": frozenset({"40-44", "45-49", "50-54"})},
        why="uptake is lowest among younger men (Patel et al. 2020)",
    ),
    Rule(
        "benefit",
        "It checks heart & stroke risk.",
        why="the check's purpose, in plain words (default)",
    ),
)


def personalise(
    *, age_band: str | None, sex: str | None, rules: tuple[Rule, ...] = RULES
) -> dict[str, str]:
    """The content keys for one person: the first matching rule for each key."""
    person = {"age_band": age_band, "sex": sex}
    chosen: dict[str, str] = {}
    for rule in rules:
        if rule.key not in chosen and rule.matches(person):
            chosen[rule.key] = rule.value
    return chosen


def longest(rules: tuple[Rule, ...] = RULES) -> dict[str, str]:
    """The longest value of each key: worst-case content for `templates check`."""
    out: dict[str, str] = {}
    for rule in rules:
        if len(rule.value) > len(out.get(rule.key, "")):
            out[rule.key] = rule.value
    return out
