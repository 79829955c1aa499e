"""Personalisation: explicit rules choosing invitation content from demographic data.

Templates never branch on age or sex themselves; they print `personal.<key>`, and the
rules below (first match wins, per key) decide what that is. Keeping the rules in one
table makes them reviewable (is this fair? is it true?) and testable.

Sources: NHS Health Check best practice guidance (OHID 2024): the 65-74 check includes
dementia awareness; uptake is lowest among men and younger invitees (Patel et al., BMJ
Open 2020), so they get a line speaking to that. Nothing clinical about the person is
ever used or implied: only age band and stated sex, which are on every invitation list.

Each rule's line has a name; its wording in each translated language is in
app.domain.personalisation_lines. A text in a language carries that language's lines, so
the lines go out exactly when the language's invitation translation does (approved, or
demo approval), and an English fallback carries the English line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.domain.languages import ENGLISH
from app.domain.personalisation_lines import LINES

MALE = "1"
FEMALE = "2"


@dataclass(frozen=True)
class Rule:
    key: str
    line: str  # the name its translations are filed under (personalisation_lines.LINES)
    value: str  # the English wording
    # attribute -> allowed values; every named attribute must match; empty = always
    when: Mapping[str, frozenset[str]] = field(default_factory=dict)
    why: str = ""

    def matches(self, person: Mapping[str, str | None]) -> bool:
        return all(person.get(attr) in allowed for attr, allowed in self.when.items())

    def text(self, language: str = ENGLISH) -> str:
        """The line in `language`: a translated language lacking it is a KeyError, never
        an English sentence inside a translated text."""
        return self.value if language == ENGLISH else LINES[language][self.line]


RULES: tuple[Rule, ...] = (
    Rule(
        "benefit",
        "dementia_65_74",
        "At 65+ it covers dementia too.",
        {"age_band": frozenset({"65-69", "70-74"})},
        why="the 65-74 check includes dementia awareness (NHS Health Check guidance)",
    ),
    Rule(
        "benefit",
        "men_40_54",
        "Men your age gain the most.",
        {"sex": frozenset({MALE}), "age_band": frozenset({"40-44", "45-49", "50-54"})},
        why="uptake is lowest among younger men (Patel et al. 2020)",
    ),
    Rule(
        "benefit",
        "heart_stroke",
        "It checks heart & stroke risk.",
        why="the check's purpose, in plain words (default)",
    ),
)


def personalise(
    *,
    age_band: str | None,
    sex: str | None,
    language: str = ENGLISH,
    rules: tuple[Rule, ...] = RULES,
) -> dict[str, str]:
    """The content keys for one person, in the language the text is in: the first
    matching rule for each key."""
    person = {"age_band": age_band, "sex": sex}
    chosen: dict[str, str] = {}
    for rule in rules:
        if rule.key not in chosen and rule.matches(person):
            chosen[rule.key] = rule.text(language)
    return chosen


def longest(language: str = ENGLISH, rules: tuple[Rule, ...] = RULES) -> dict[str, str]:
    """The longest line of each key in `language`: worst-case content for `templates check`."""
    out: dict[str, str] = {}
    for rule in rules:
        text = rule.text(language)
        if len(text) > len(out.get(rule.key, "")):
            out[rule.key] = text
    return out
