"""Repeated problems in an uploaded file, counted once each ("141 rows: unknown
condition 'asthma'") so a page or summary stays short however long the file is.

Problems that differ only in their numbers (an NHS number, a date, a line) fall in one
group and are shown by their first example; the full list goes to the CSV download.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LINES_SHOWN = 5
_NUMBERS = re.compile(r"\d+")


@dataclass
class ProblemGroup:
    kind: str
    reason: str  # the first row's reason
    count: int = 0
    varied: bool = False  # other rows' reasons differ in their numbers
    lines: list[int] = field(default_factory=list)  # the first LINES_SHOWN lines

    @property
    def lines_text(self) -> str:
        shown = ", ".join(str(n) for n in self.lines)
        more = self.count - len(self.lines)
        word = "line" if self.count == 1 else "lines"
        return f"{word} {shown}" + (f" and {more:,} more" if more > 0 else "")


@dataclass
class ProblemGroups:
    """Exact counts per kind of problem, kept as rows are checked."""

    by_key: dict[tuple[str, str], ProblemGroup] = field(default_factory=dict)

    def add(self, line: int, kind: str, reason: str) -> None:
        key = (kind, _NUMBERS.sub("#", reason))
        group = self.by_key.get(key)
        if group is None:
            group = self.by_key[key] = ProblemGroup(kind, reason)
        elif reason != group.reason:
            group.varied = True
        group.count += 1
        if len(group.lines) < LINES_SHOWN:
            group.lines.append(line)

    def largest_first(self) -> list[ProblemGroup]:
        return sorted(self.by_key.values(), key=lambda g: (-g.count, g.lines[0]))


__all__ = ["ProblemGroup", "ProblemGroups"]
