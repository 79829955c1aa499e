"""The personalisation lines in each translated language: language -> line name -> text.

A line name is a rule's `line` in app.domain.personalisation, where the English wording,
who gets it and why are kept. These are drafts written for a qualified translator, under
the same approval as the invitation they sit in: a language's lines are printed only in
its own invitation translation, which is sent only once approved (or with demo
approval); an invitation that falls back to English carries the English line.

Notes for the translator, per line:
- dementia_65_74 ("At 65+ it covers dementia too."): the 65-74 check adds dementia
  awareness (information on signs and where to get help); it is not a dementia test, so
  the line says the check "includes/covers" dementia and never "tests for" it.
- men_40_54 ("Men your age gain the most."): sent only to men aged 40-54; "gain" means
  benefit from having the check, not weight gain.
- heart_stroke ("It checks heart & stroke risk."): everyone else; the check estimates
  the risk of heart disease and stroke, it does not diagnose them.
Keep each line one short sentence: it shares two or so SMS segments with three times, a
link and the practice's name. Somali stays in GSM-7 letters (straight apostrophes).
"""

from __future__ import annotations

LINES: dict[str, dict[str, str]] = {
    "ro": {
        "dementia_65_74": "De la 65 de ani include și demența.",
        "men_40_54": "Bărbații de vârsta dvs. câștigă cel mai mult.",
        "heart_stroke": "Verifică riscul de boli de inimă și AVC.",
    },
    "lt": {
        "dementia_65_74": "Nuo 65 metų ji apima ir demenciją.",
        "men_40_54": "Jūsų amžiaus vyrams ji naudingiausia.",
        "heart_stroke": "Ji įvertina širdies ligų ir insulto riziką.",
    },
    "pl": {
        "dementia_65_74": "Od 65 lat obejmuje też demencję.",
        "men_40_54": "Mężczyźni w Twoim wieku zyskują najwięcej.",
        "heart_stroke": "Sprawdza ryzyko chorób serca i udaru.",
    },
    "bn": {
        "dementia_65_74": "65 বছর বয়স থেকে এতে ডিমেনশিয়াও অন্তর্ভুক্ত।",
        "men_40_54": "আপনার বয়সী পুরুষেরা এতে সবচেয়ে বেশি উপকৃত হন।",
        "heart_stroke": "এতে হৃদরোগ ও স্ট্রোকের ঝুঁকি দেখা হয়।",
    },
    "ur": {
        "dementia_65_74": "65 سال کی عمر سے اس میں ڈیمنشیا بھی شامل ہے۔",
        "men_40_54": "آپ کی عمر کے مردوں کو اس کا سب سے زیادہ فائدہ ہوتا ہے۔",
        "heart_stroke": "اس میں دل کی بیماری اور فالج کے خطرے کی جانچ ہوتی ہے۔",
    },
    "pa": {
        "dementia_65_74": "65 ਸਾਲ ਦੀ ਉਮਰ ਤੋਂ ਇਸ ਵਿੱਚ ਡਿਮੈਂਸ਼ੀਆ ਵੀ ਸ਼ਾਮਲ ਹੈ।",
        "men_40_54": "ਤੁਹਾਡੀ ਉਮਰ ਦੇ ਮਰਦਾਂ ਨੂੰ ਇਸ ਦਾ ਸਭ ਤੋਂ ਵੱਧ ਫ਼ਾਇਦਾ ਹੁੰਦਾ ਹੈ।",
        "heart_stroke": "ਇਸ ਵਿੱਚ ਦਿਲ ਦੀ ਬਿਮਾਰੀ ਅਤੇ ਸਟ੍ਰੋਕ ਦੇ ਖ਼ਤਰੇ ਦੀ ਜਾਂਚ ਹੁੰਦੀ ਹੈ।",
    },
    "pt": {
        "dementia_65_74": "A partir dos 65 anos inclui também a demência.",
        "men_40_54": "Os homens da sua idade são os que mais beneficiam.",
        "heart_stroke": "Avalia o risco de doenças cardíacas e de AVC.",
    },
    "gu": {
        "dementia_65_74": "65 વર્ષની ઉંમરથી તેમાં ડિમેન્શિયા પણ સામેલ છે.",
        "men_40_54": "તમારી ઉંમરના પુરુષોને તેનો સૌથી વધુ ફાયદો થાય છે.",
        "heart_stroke": "તેમાં હૃદયરોગ અને સ્ટ્રોકના જોખમની તપાસ થાય છે.",
    },
    "ar": {
        "dementia_65_74": "من سن 65 يشمل الفحص الخرف أيضًا.",
        "men_40_54": "الرجال في مثل سنك هم الأكثر استفادة منه.",
        "heart_stroke": "يقيس خطر الإصابة بأمراض القلب والسكتة الدماغية.",
    },
    "so": {
        "dementia_65_74": "Laga bilaabo 65 jir, wuxuu kaloo daboolaa xusuus-lumidda (dementia).",
        "men_40_54": "Ragga da'daada ah ayaa ugu faa'iido badan.",
        "heart_stroke": "Wuxuu eegaa khatarta cudurrada wadnaha iyo istaroogga.",
    },
}
