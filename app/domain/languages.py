"""The languages Nudge can text in: codes, names, script direction, and reading them.

A patient's language is an ISO 639-1 code; English (`en`) is everyone's default and the
language every text falls back to. The others are the languages most read, after
English, by people due a check in east London. A list import or a resident may name a
language by its code, its English name or its own name (`pl`, `Polish`, `Polski`);
anything else is not a language we text in, and the patient stays English.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

ENGLISH = "en"


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1
    english: str  # its name in English
    native: str  # its name in itself
    rtl: bool = False  # written right to left
    # other ways people write its name (spellings, script variants, dialect names)
    aliases: tuple[str, ...] = ()

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"

    @property
    def label(self) -> str:
        """`Polish (polski)`: for staff, who may read neither."""
        if self.native.casefold() == self.english.casefold():
            return self.english
        return f"{self.english} ({self.native})"


LANGUAGES: dict[str, Language] = {
    language.code: language
    for language in (
        Language("en", "English", "English"),
        Language("ro", "Romanian", "Română", aliases=("Romana", "Româna", "Moldovan")),
        Language("lt", "Lithuanian", "Lietuvių", aliases=("Lietuviu", "Lietuviskai")),
        Language("pl", "Polish", "Polski"),
        Language("bn", "Bengali", "বাংলা", aliases=("Bangla", "Sylheti")),
        Language("ur", "Urdu", "اردو", rtl=True),
        Language("pa", "Punjabi", "ਪੰਜਾਬੀ", aliases=("Panjabi", "پنجابی")),
        Language("pt", "Portuguese", "Português", aliases=("Portugues",)),
        Language("gu", "Gujarati", "ગુજરાતી"),
        Language("ar", "Arabic", "العربية", rtl=True, aliases=("عربي", "Arabi")),
        Language("so", "Somali", "Soomaali", aliases=("Af-Soomaali", "Somaali")),
    )
}
# the translated languages, in the order staff pages and reports list them
TRANSLATED = tuple(code for code in LANGUAGES if code != ENGLISH)


def name_key(text: str) -> str:
    """How a language's name is matched: case-folded, accents off, letters only.

    Only marks of Latin letters are dropped (`Română` -> `romana`); the vowel signs of
    Bengali, Gurmukhi or Gujarati are part of the word and stay.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch) and kept and kept[-1].isascii():
            continue
        if ch.isalnum() or unicodedata.category(ch).startswith("M"):
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


_BY_NAME: dict[str, str] = {}
for _language in LANGUAGES.values():
    for _name in (_language.english, _language.native, *_language.aliases):
        _BY_NAME[name_key(_name)] = _language.code
_BY_CODE = {code: code for code in LANGUAGES}


def lookup(raw: str) -> str | None:
    """The code of the language `raw` names (code, English name or own name), or None."""
    key = name_key(raw)
    return (_BY_CODE.get(key) or _BY_NAME.get(key)) if key else None


def lookup_name(raw: str) -> str | None:
    """The code of the language `raw` names in English or in itself (never a bare code:
    a resident's `so` or `ar` is a word, not a request for Somali or Arabic)."""
    key = name_key(raw)
    return _BY_NAME.get(key) if key else None


def get(code: str | None) -> Language:
    """The language for `code`; English for None or a code we do not text in."""
    return LANGUAGES.get(code or ENGLISH, LANGUAGES[ENGLISH])


def is_rtl(code: str | None) -> bool:
    return get(code).rtl


# a message variant named `<variant>_english` is `<variant>` always sent in English: a
# campaign randomises English against the translation with the usual variant machinery
ENGLISH_VARIANT_SUFFIX = "_english"


def variant_template(variant: str) -> tuple[str, bool]:
    """(the invitation variant whose template a variant uses, whether it is English-only)."""
    if variant.endswith(ENGLISH_VARIANT_SUFFIX) and len(variant) > len(ENGLISH_VARIANT_SUFFIX):
        return variant[: -len(ENGLISH_VARIANT_SUFFIX)], True
    return variant, False


_YES = frozenset({"y", "yes", "true", "1", "required", "needed", "interpreter required"})
_NO = frozenset({"n", "no", "false", "0", "not required", "not needed", "none"})


def interpreter_flag(raw: str) -> bool | None:
    """An interpreter-needed cell as True/False; None when it is not a yes or a no."""
    value = " ".join(raw.strip().casefold().split())
    if value in _YES:
        return True
    if value in _NO or not value:
        return False
    return None


__all__ = [
    "ENGLISH",
    "ENGLISH_VARIANT_SUFFIX",
    "LANGUAGES",
    "Language",
    "TRANSLATED",
    "get",
    "interpreter_flag",
    "is_rtl",
    "lookup",
    "lookup_name",
    "name_key",
    "variant_template",
]
