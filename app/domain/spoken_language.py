"""Main-spoken-language codes (the PREFLANG_COD cluster) as ISO 639-1 language codes.

The cluster's terms name the language ("Main spoken language Polish"); this maps each
name to its two-letter ISO 639-1 code. Names with no two-letter code (Sylheti, Kutchi,
Hakka, Patois, sign languages, ...) or that name no single language (Ethiopian, Gaelic,
French Creole) give None: the patient's language is then not known from codes.
Pure: `app.domain.coded` reads the cluster file and calls `iso_639_1` per term.
"""

from __future__ import annotations

TERM_PREFIX = "Main spoken language "

ISO_639_1: dict[str, str] = {
    "Abkhazian": "ab", "Afar": "aa", "Afrikaans": "af", "Akan": "ak", "Albanian": "sq",
    "Amharic": "am", "Arabic": "ar", "Aragonese": "an", "Armenian": "hy", "Assamese": "as",
    "Avaric": "av", "Avestan": "ae", "Aymara": "ay", "Azerbaijani": "az", "Bambara": "bm",
    "Bashkir": "ba", "Basque": "eu", "Belarusian": "be", "Bengali": "bn", "Bislama": "bi",
    "Bosnian": "bs", "Breton": "br", "Bulgarian": "bg", "Burmese": "my", "Catalan": "ca",
    "Central Khmer": "km", "Chamorro": "ch", "Chechen": "ce", "Chinese": "zh",
    "Chuang": "za", "Church Slavic": "cu", "Chuvash": "cv", "Cornish": "kw", "Corsican": "co",
    "Cree": "cr", "Croatian": "hr", "Czech": "cs", "Danish": "da", "Dhivehi": "dv",
    "Dutch": "nl", "English": "en", "Esperanto": "eo", "Estonian": "et", "Ewe": "ee",
    "Faroese": "fo", "Farsi": "fa", "Fijian": "fj", "Finnish": "fi", "Flemish": "nl",
    "French": "fr", "Frisian": "fy", "Fulani": "ff", "Galician": "gl", "Georgian": "ka",
    "German": "de", "Greek": "el", "Guarani": "gn", "Gujerati": "gu", "Haitian": "ht",
    "Hausa": "ha", "Hebrew": "he", "Herero": "hz", "Hindi": "hi", "Hiri Motu": "ho",
    "Hungarian": "hu", "Icelandic": "is", "Ido": "io", "Igbo": "ig", "Indonesian": "id",
    "Interlingua": "ia", "Inuktitut": "iu", "Inupiaq": "ik", "Irish": "ga", "Italian": "it",
    "Japanese": "ja", "Javanese": "jv", "Jonkha": "dz", "Kalaallisut": "kl",
    "Kanarese": "kn", "Kanuri": "kr", "Kashmiri": "ks", "Kazakh": "kk", "Kikuyu": "ki",
    "Kirgiz": "ky", "Komi": "kv", "Kongo": "kg", "Korean": "ko", "Kuanyama": "kj",
    "Kurdish": "ku", "Lao": "lo", "Latin": "la", "Latvian": "lv", "Limburgan": "li",
    "Lingala": "ln", "Lithuanian": "lt", "Luba-Katanga": "lu", "Luganda": "lg",
    "Luxembourgish": "lb", "Macedonian": "mk", "Malagasy": "mg", "Malay": "ms",
    "Malayalam": "ml", "Maltese": "mt", "Mandarin": "zh", "Manx": "gv", "Maori": "mi",
    "Marathi": "mr", "Marshallese": "mh", "Moldavian": "ro", "Mongolian": "mn",
    "Nauruan": "na", "Navajo": "nv", "Ndonga": "ng", "Nepali": "ne", "Northern Ndebele": "nd",
    "Northern Sami": "se", "Norwegian": "no", "Norwegian Bokmål": "nb",
    "Norwegian Nynorsk": "nn", "Nuosu": "ii", "Nyanja": "ny", "Occidental": "ie",
    "Occitan": "oc", "Ojibwa": "oj", "Oriya": "or", "Oromo": "om", "Ossetian": "os",
    "Pali": "pi", "Pashto": "ps", "Polish": "pl", "Portuguese": "pt", "Punjabi": "pa",
    "Pushto": "ps", "Quechua": "qu", "Romanian": "ro", "Romansh": "rm", "Ruanda": "rw",
    "Rundi": "rn", "Russian": "ru", "Samoan": "sm", "Sango": "sg", "Sanskrit": "sa",
    "Sardinian": "sc", "Scottish Gaelic": "gd", "Serbian": "sr", "Shona": "sn",
    "Sindhi": "sd", "Sinhala": "si", "Slovak": "sk", "Slovenian": "sl", "Somali": "so",
    "South Ndebele": "nr", "Southern Sotho": "st", "Spanish": "es", "Sundanese": "su",
    "Swahili": "sw", "Swazi": "ss", "Swedish": "sv", "Tagalog": "tl", "Tahitian": "ty",
    "Tajik": "tg", "Tamil": "ta", "Tatar": "tt", "Telugu": "te", "Thai": "th",
    "Tibetan": "bo", "Tigrinya": "ti", "Tongan": "to", "Tsonga": "ts", "Tswana": "tn",
    "Turkish": "tr", "Turkmen": "tk", "Twi": "tw", "Uigur": "ug", "Ukrainian": "uk",
    "Urdu": "ur", "Uzbek": "uz", "Venda": "ve", "Vietnamese": "vi", "Volapük": "vo",
    "Walloon": "wa", "Welsh": "cy", "Western Frisian": "fy", "Wolof": "wo", "Xhosa": "xh",
    "Yiddish": "yi", "Yoruba": "yo", "Zulu": "zu",
}  # fmt: skip


def iso_639_1(term: str) -> str | None:
    """The ISO 639-1 code of a main-spoken-language term, or None (not a spoken
    language with a two-letter code)."""
    if not term.startswith(TERM_PREFIX):
        return None
    return ISO_639_1.get(term.removeprefix(TERM_PREFIX).strip())
