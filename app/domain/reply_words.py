"""The reply words of each language we text in, beside English's (app.domain.keywords).

Each language lists the words for the replies the parser knows: opt out, opt back in,
help, decline, more times, change, the choice numbers 1-3 as words and ordinals, the
polite filler that may surround a choice, and the joiners ("or", "and") that make two
numbers ambiguous. They are written as people spell them; `app.domain.keywords.fold`
matches them forgivingly (case, accents, Arabic letter forms). Kept deliberately short,
like English's: a word not listed makes a choice unclear, and we ask.

These are drafts for a qualified translator to check, like the message templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReplyWords:
    stop: tuple[str, ...] = ()
    start: tuple[str, ...] = ()
    help: tuple[str, ...] = ()
    # a decline leads the reply ("nie", "nie dziękuję")
    decline: tuple[str, ...] = ()
    more: tuple[str, ...] = ()
    change: tuple[str, ...] = ()
    # number -> its words (cardinal and ordinal)
    choices: dict[int, tuple[str, ...]] = field(default_factory=dict)
    filler: tuple[str, ...] = ()
    joiners: tuple[str, ...] = ()
    # politeness that may come before a command word
    lead_in: tuple[str, ...] = ()


WORDS: dict[str, ReplyWords] = {
    "ro": ReplyWords(
        stop=("stop", "dezabonare", "dezabonează"),
        start=("start", "reabonare", "pornește"),
        help=("ajutor", "informații"),
        decline=("nu",),
        more=("altele", "alte", "multe"),
        change=("schimb", "schimbă", "schimbare", "mută", "reprogramare", "reprogramez"),
        choices={
            1: ("unu", "una", "primul", "prima"),
            2: ("doi", "două", "doilea", "doua"),
            3: ("trei", "treilea", "treia"),
        },
        filler=(
            "opțiunea",
            "varianta",
            "numărul",
            "ora",
            "vreau",
            "aleg",
            "vă",
            "te",
            "rog",
            "mulțumesc",
            "mersi",
            "da",
            "bine",
            "al",
            "a",
            "bună",
        ),
        joiners=("sau", "și"),
        lead_in=("vă", "te", "rog"),
    ),  # fmt: skip
    "lt": ReplyWords(
        stop=("stop", "atsisakyti", "atsisakau", "sustabdyti"),
        start=("start", "pradėti"),
        help=("pagalba", "padėkite"),
        decline=("ne", "nenoriu"),
        more=("daugiau", "kitų", "kitus", "kitą"),
        change=("pakeisti", "keisti", "pakeiskite", "perkelti"),
        choices={
            1: ("vienas", "viena", "pirmas", "pirmasis", "pirma"),
            2: ("du", "dvi", "antras", "antrasis", "antra"),
            3: ("trys", "trečias", "trečiasis", "trečia"),
        },
        filler=(
            "variantas",
            "numeris",
            "laikas",
            "prašau",
            "ačiū",
            "taip",
            "gerai",
            "noriu",
            "renkuosi",
            "pasirenku",
            "labas",
        ),
        joiners=("arba", "ar", "ir"),
        lead_in=("prašau",),
    ),  # fmt: skip
    "pl": ReplyWords(
        stop=("stop", "rezygnuję", "rezygnacja", "wypisz"),
        start=("start",),
        help=("pomoc",),
        decline=("nie",),
        more=("więcej", "inne", "innych"),
        change=("zmień", "zmiana", "zmienić", "przełóż", "przełożyć"),
        choices={
            1: ("jeden", "jedna", "jedno", "pierwszy", "pierwsza", "pierwszą"),
            2: ("dwa", "dwie", "drugi", "druga", "drugą"),
            3: ("trzy", "trzeci", "trzecia", "trzecią"),
        },
        filler=(
            "opcja",
            "opcję",
            "numer",
            "termin",
            "godzina",
            "proszę",
            "poproszę",
            "dziękuję",
            "dzięki",
            "tak",
            "dobrze",
            "wybieram",
            "chcę",
            "dzień",
            "dobry",
        ),
        joiners=("lub", "albo", "czy"),
        lead_in=("proszę",),
    ),  # fmt: skip
    "bn": ReplyWords(
        stop=("বন্ধ",),
        start=("শুরু",),
        help=("সাহায্য",),
        decline=("না", "নাহ"),
        more=("আরও", "আরো", "অন্য"),
        change=("পরিবর্তন", "বদল", "বদলাতে"),
        choices={
            1: ("এক", "একটা", "প্রথম"),
            2: ("দুই", "দুটো", "দ্বিতীয়"),
            3: ("তিন", "তিনটা", "তৃতীয়"),
        },
        filler=("বিকল্প", "নম্বর", "সময়", "দয়া", "করে", "ধন্যবাদ", "হ্যাঁ", "ঠিক", "আছে", "চাই", "আমি"),
        joiners=("বা", "অথবা", "এবং"),
        lead_in=("দয়া", "করে"),
    ),  # fmt: skip
    "ur": ReplyWords(
        stop=("بند", "روکیں", "روکو"),
        start=("شروع",),
        help=("مدد",),
        decline=("نہیں", "نہ"),
        more=("مزید", "دوسرے"),
        change=("تبدیل", "بدلیں", "بدلنا"),
        choices={
            1: ("ایک", "پہلا", "پہلی"),
            2: ("دو", "دوسرا", "دوسری"),
            3: ("تین", "تیسرا", "تیسری"),
        },
        filler=(
            "نمبر",
            "آپشن",
            "وقت",
            "براہ",
            "کرم",
            "مہربانی",
            "شکریہ",
            "جی",
            "ہاں",
            "ٹھیک",
            "ہے",
            "چاہیے",
            "میں",
        ),
        joiners=("یا", "اور"),
        lead_in=("براہ", "کرم", "مہربانی"),
    ),  # fmt: skip
    "pa": ReplyWords(
        stop=("ਬੰਦ", "ਰੋਕੋ"),
        start=("ਸ਼ੁਰੂ",),
        help=("ਮਦਦ", "ਸਹਾਇਤਾ"),
        decline=("ਨਹੀਂ", "ਨਾ"),
        more=("ਹੋਰ",),
        change=("ਬਦਲੋ", "ਬਦਲਣਾ", "ਤਬਦੀਲ"),
        choices={
            1: ("ਇੱਕ", "ਪਹਿਲਾ", "ਪਹਿਲੀ"),
            2: ("ਦੋ", "ਦੂਜਾ", "ਦੂਜੀ"),
            3: ("ਤਿੰਨ", "ਤੀਜਾ", "ਤੀਜੀ"),
        },
        filler=("ਨੰਬਰ", "ਵਿਕਲਪ", "ਸਮਾਂ", "ਕਿਰਪਾ", "ਕਰਕੇ", "ਧੰਨਵਾਦ", "ਹਾਂ", "ਜੀ", "ਠੀਕ", "ਹੈ", "ਚਾਹੀਦਾ"),
        joiners=("ਜਾਂ", "ਅਤੇ"),
        lead_in=("ਕਿਰਪਾ", "ਕਰਕੇ"),
    ),  # fmt: skip
    "pt": ReplyWords(
        stop=("stop", "parar", "pare", "sair"),
        start=("start", "começar", "iniciar"),
        help=("ajuda",),
        decline=("não",),
        more=("mais", "outros", "outras"),
        change=("mudar", "alterar", "remarcar", "trocar"),
        choices={
            1: ("um", "uma", "primeiro", "primeira"),
            2: ("dois", "duas", "segundo", "segunda"),
            3: ("três", "terceiro", "terceira"),
        },
        filler=(
            "opção",
            "número",
            "horário",
            "hora",
            "por",
            "favor",
            "obrigado",
            "obrigada",
            "sim",
            "quero",
            "escolho",
            "a",
            "o",
            "bom",
            "olá",
        ),
        joiners=("ou", "e"),
        lead_in=("por", "favor"),
    ),  # fmt: skip
    "gu": ReplyWords(
        stop=("બંધ", "રોકો"),
        start=("શરૂ",),
        help=("મદદ",),
        decline=("ના", "નહીં"),
        more=("વધુ", "બીજા"),
        change=("બદલો", "બદલવું", "ફેરફાર"),
        choices={
            1: ("એક", "પહેલો", "પહેલું", "પ્રથમ"),
            2: ("બે", "બીજો", "બીજું"),
            3: ("ત્રણ", "ત્રીજો", "ત્રીજું"),
        },
        filler=(
            "નંબર",
            "વિકલ્પ",
            "સમય",
            "કૃપા",
            "કરીને",
            "આભાર",
            "હા",
            "જી",
            "બરાબર",
            "ઠીક",
            "છે",
            "મને",
            "જોઈએ",
        ),
        joiners=("અથવા", "અને"),
        lead_in=("કૃપા", "કરીને"),
    ),  # fmt: skip
    "ar": ReplyWords(
        stop=("توقف", "إيقاف", "أوقف"),
        start=("ابدأ", "بدء"),
        help=("مساعدة",),
        decline=("لا",),
        more=("المزيد", "مزيد", "أخرى"),
        change=("تغيير", "تعديل", "أغير"),
        choices={
            1: ("واحد", "واحدة", "الأول", "الأولى"),
            2: ("اثنين", "اثنان", "الثاني", "الثانية"),
            3: ("ثلاثة", "الثالث", "الثالثة"),
        },
        filler=(
            "رقم",
            "الخيار",
            "خيار",
            "الموعد",
            "موعد",
            "الوقت",
            "من",
            "فضلك",
            "لو",
            "سمحت",
            "شكرا",
            "نعم",
            "حسنا",
            "أريد",
        ),
        joiners=("أو", "و"),
        lead_in=("من", "فضلك", "لو", "سمحت"),
    ),  # fmt: skip
    "so": ReplyWords(
        stop=("stop", "jooji", "joogso"),
        start=("start", "bilow"),
        help=("caawimaad", "caawi"),
        decline=("maya", "mayo"),
        more=("kale", "kuwo"),
        change=("beddel", "bedel", "badal", "badali"),
        choices={
            1: ("kow", "hal", "koowaad", "kowaad"),
            2: ("laba", "labaad"),
            3: ("saddex", "saddexaad"),
        },
        filler=(
            "lambarka",
            "nambarka",
            "doorashada",
            "fadlan",
            "mahadsanid",
            "haa",
            "waan",
            "rabaa",
            "waqtiga",
            "wakhtiga",
        ),
        joiners=("ama", "iyo"),
        lead_in=("fadlan",),
    ),  # fmt: skip
}

__all__ = ["WORDS", "ReplyWords"]
