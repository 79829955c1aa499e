"""Ethnic category: NHS Data Dictionary codes and labels, and the five groups we report by.

Mapping (NHS Data Dictionary "Ethnic Category", the 2001-census based list that GP
systems export):
- white:  A British, B Irish, C Any other White background
- mixed:  D White and Black Caribbean, E White and Black African, F White and Asian,
          G Any other mixed background
- asian:  H Indian, J Pakistani, K Bangladeshi, L Any other Asian background
- black:  M Caribbean, N African, P Any other Black background
- other:  R Chinese, S Any other ethnic group
- not_stated: Z Not stated, 99 Not known, blank or anything unrecognised

Note: Chinese (R) sits in "other" here because that is where the NHS 2001-census list
puts it; the ONS 2021 Census puts Chinese under Asian. We follow the NHS list because
it is what the practice data carries; a report comparing with Census figures must say so.
"""

from __future__ import annotations

import re

GROUPS = ("white", "mixed", "asian", "black", "other", "not_stated")
GROUP_LABELS = {
    "white": "White",
    "mixed": "Mixed",
    "asian": "Asian or Asian British",
    "black": "Black or Black British",
    "other": "Other ethnic group",
    "not_stated": "Not stated/known",
}

CATEGORY_LABELS: dict[str, str] = {
    "A": "British",
    "B": "Irish",
    "C": "Any other White background",
    "D": "White and Black Caribbean",
    "E": "White and Black African",
    "F": "White and Asian",
    "G": "Any other mixed background",
    "H": "Indian",
    "J": "Pakistani",
    "K": "Bangladeshi",
    "L": "Any other Asian background",
    "M": "Caribbean",
    "N": "African",
    "P": "Any other Black background",
    "R": "Chinese",
    "S": "Any other ethnic group",
    "Z": "Not stated",
    "99": "Not known",
}

CATEGORY_GROUP: dict[str, str] = {
    **dict.fromkeys("ABC", "white"),
    **dict.fromkeys("DEFG", "mixed"),
    **dict.fromkeys("HJKL", "asian"),
    **dict.fromkeys("MNP", "black"),
    **dict.fromkeys("RS", "other"),
    "Z": "not_stated",
    "99": "not_stated",
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# Labels as exported, with and without their group prefix ("White - British",
# "Asian or Asian British - Indian", "Bangladeshi or British Bangladeshi").
_LABEL_TO_CODE: dict[str, str] = {}
_GROUP_PREFIXES = {
    "white": ("white",),
    "mixed": ("mixed", "mixed multiple ethnic groups"),
    "asian": ("asian or asian british", "asian"),
    "black": ("black or black british", "black", "black african caribbean or black british"),
    "other": ("other ethnic groups", "other ethnic group", "other"),
}
for _code, _label in CATEGORY_LABELS.items():
    _LABEL_TO_CODE[_key(_label)] = _code
    _group = CATEGORY_GROUP[_code]
    for _prefix in _GROUP_PREFIXES.get(_group, ()):
        _LABEL_TO_CODE[_key(f"{_prefix} {_label}")] = _code
_LABEL_TO_CODE.update(
    {
        _key("White British"): "A",
        _key("White Irish"): "B",
        _key("Bangladeshi or British Bangladeshi"): "K",
        _key("Indian or British Indian"): "H",
        _key("Pakistani or British Pakistani"): "J",
        _key("Black Caribbean"): "M",
        _key("Black African"): "N",
        _key("Chinese"): "R",
        _key("Not known"): "99",
        _key("Not stated"): "Z",
        _key("Unknown"): "99",
        _key("Prefer not to say"): "Z",
    }
)


def category_code(value: str | None) -> str | None:
    """The Ethnic Category code for a code or label (any case), or None if unrecognised/blank."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    upper = text.upper()
    if upper in CATEGORY_GROUP:
        return upper
    return _LABEL_TO_CODE.get(_key(text))


def group_of(code: str | None) -> str:
    """The reporting group for an Ethnic Category code; not_stated when unknown or blank."""
    if code is None:
        return "not_stated"
    return CATEGORY_GROUP.get(code, "not_stated")
