"""Trial arm allocation: which invitation variant each cohort member gets.

Allocation is random with the campaign's weights (`--variant NAME=WEIGHT`), seeded so it
can be reproduced and audited, and done once per member at approval so the trial is
analysed by intention to treat (CONSORT). We use permuted blocks: each block
holds every variant `weight` times (scaled so a block has at least MIN_BLOCK members),
shuffled. Arms therefore stay within one block of the target proportions however small
the cohort, which simple coin flips do not promise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

MIN_BLOCK = 20


def parse_variant(text: str) -> tuple[str, int]:
    """`deadline=2` -> ("deadline", 2); a bare name has weight 1."""
    name, _, weight = text.partition("=")
    name = name.strip()
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"variant name must be letters, digits, '_' or '-': {text!r}")
    try:
        value = int(weight) if weight.strip() else 1
    except ValueError:
        raise ValueError(f"variant weight must be a whole number: {text!r}") from None
    if value < 1:
        raise ValueError(f"variant weight must be at least 1: {text!r}")
    return name, value


def block(weights: Mapping[str, int]) -> list[str]:
    """One unshuffled block: each variant repeated in proportion to its weight."""
    if not weights or any(w < 1 for w in weights.values()):
        raise ValueError("every variant needs a weight of at least 1")
    total = sum(weights.values())
    scale = max(1, math.ceil(MIN_BLOCK / total))
    return [name for name, weight in weights.items() for _ in range(weight * scale)]


def allocate(member_ids: Sequence[int], weights: Mapping[str, int], seed: int) -> dict[int, str]:
    """The variant of each member (in id order), by seeded permuted blocks."""
    rng = random.Random(f"allocation:{seed}")
    template = block(weights)
    result: dict[int, str] = {}
    current: list[str] = []
    for member_id in sorted(member_ids):
        if not current:
            current = template[:]
            rng.shuffle(current)
        result[member_id] = current.pop()
    return result
