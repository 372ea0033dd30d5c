"""One source of truth for language codes.

Canonical form is the ISO 639-1 two-letter code where one exists (``en``, ``zh``),
else the ISO 639-3 code. :func:`normalize_language` accepts ISO 639-1, ISO 639-3
(and 639-2/B), common English names and a few regional tags (``zh-CN``, ``pt_BR``).
"""

from __future__ import annotations

# canonical code -> (English name, ISO 639-3 code, script family shown in the UI)
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "af": ("Afrikaans", "afr", "Latin"),
    "am": ("Amharic", "amh", "Ethiopic"),
    "ar": ("Arabic", "ara", "Arabic"),
    "az": ("Azerbaijani", "aze", "Latin"),
    "be": ("Belarusian", "bel", "Cyrillic"),
    "bg": ("Bulgarian", "bul", "Cyrillic"),
    "bn": ("Bengali", "ben", "Bengali"),
    "ca": ("Catalan", "cat", "Latin"),
    "cs": ("Czech", "ces", "Latin"),
    "cy": ("Welsh", "cym", "Latin"),
    "da": ("Danish", "dan", "Latin"),
    "de": ("German", "deu", "Latin"),
    "el": ("Greek", "ell", "Greek"),
    "en": ("English", "eng", "Latin"),
    "es": ("Spanish", "spa", "Latin"),
    "et": ("Estonian", "est", "Latin"),
    "eu": ("Basque", "eus", "Latin"),
    "fa": ("Persian", "fas", "Arabic"),
    "fi": ("Finnish", "fin", "Latin"),
    "fr": ("French", "fra", "Latin"),
    "ga": ("Irish", "gle", "Latin"),
    "gl": ("Galician", "glg", "Latin"),
    "gu": ("Gujarati", "guj", "Gujarati"),
    "he": ("Hebrew", "heb", "Hebrew"),
    "hi": ("Hindi", "hin", "Devanagari"),
    "hr": ("Croatian", "hrv", "Latin"),
    "hu": ("Hungarian", "hun", "Latin"),
    "hy": ("Armenian", "hye", "Armenian"),
    "id": ("Indonesian", "ind", "Latin"),
    "is": ("Icelandic", "isl", "Latin"),
    "it": ("Italian", "ita", "Latin"),
    "ja": ("Japanese", "jpn", "Japanese"),
    "ka": ("Georgian", "kat", "Georgian"),
    "kk": ("Kazakh", "kaz", "Cyrillic"),
    "km": ("Khmer", "khm", "Khmer"),
    "kn": ("Kannada", "kan", "Kannada"),
    "ko": ("Korean", "kor", "Hangul"),
    "lt": ("Lithuanian", "lit", "Latin"),
    "lv": ("Latvian", "lav", "Latin"),
    "mk": ("Macedonian", "mkd", "Cyrillic"),
    "ml": ("Malayalam", "mal", "Malayalam"),
    "mn": ("Mongolian", "mon", "Cyrillic"),
    "mr": ("Marathi", "mar", "Devanagari"),
    "ms": ("Malay", "msa", "Latin"),
    "my": ("Burmese", "mya", "Myanmar"),
    "ne": ("Nepali", "nep", "Devanagari"),
    "nl": ("Dutch", "nld", "Latin"),
    "no": ("Norwegian", "nor", "Latin"),
    "pa": ("Punjabi", "pan", "Gurmukhi"),
    "pl": ("Polish", "pol", "Latin"),
    "pt": ("Portuguese", "por", "Latin"),
    "ro": ("Romanian", "ron", "Latin"),
    "ru": ("Russian", "rus", "Cyrillic"),
    "si": ("Sinhala", "sin", "Sinhala"),
    "sk": ("Slovak", "slk", "Latin"),
    "sl": ("Slovenian", "slv", "Latin"),
    "sq": ("Albanian", "sqi", "Latin"),
    "sr": ("Serbian", "srp", "Cyrillic"),
    "sv": ("Swedish", "swe", "Latin"),
    "sw": ("Swahili", "swa", "Latin"),
    "ta": ("Tamil", "tam", "Tamil"),
    "te": ("Telugu", "tel", "Telugu"),
    "th": ("Thai", "tha", "Thai"),
    "tl": ("Tagalog", "tgl", "Latin"),
    "tr": ("Turkish", "tur", "Latin"),
    "uk": ("Ukrainian", "ukr", "Cyrillic"),
    "ur": ("Urdu", "urd", "Arabic"),
    "uz": ("Uzbek", "uzb", "Latin"),
    "vi": ("Vietnamese", "vie", "Latin"),
    "yo": ("Yoruba", "yor", "Latin"),
    "zh": ("Chinese", "zho", "Han"),
    "zu": ("Zulu", "zul", "Latin"),
    # Languages of the TICO-19 and Tatoeba suites (issue 23): ISO 639-1 where one
    # exists, else the ISO 639-3 code; TICO-19's Tigrinya variants keep their region.
    "ang": ("Old English", "ang", "Latin"),
    "arq": ("Algerian Arabic", "arq", "Arabic"),
    "arz": ("Egyptian Arabic", "arz", "Arabic"),
    "ast": ("Asturian", "ast", "Latin"),
    "awa": ("Awadhi", "awa", "Devanagari"),
    "ber": ("Berber", "ber", "Latin"),
    "br": ("Breton", "bre", "Latin"),
    "bs": ("Bosnian", "bos", "Latin"),
    "cbk": ("Chavacano", "cbk", "Latin"),
    "ceb": ("Cebuano", "ceb", "Latin"),
    "ch": ("Chamorro", "cha", "Latin"),
    "ckb": ("Central Kurdish", "ckb", "Arabic"),
    "csb": ("Kashubian", "csb", "Latin"),
    "din": ("Dinka", "din", "Latin"),
    "dsb": ("Lower Sorbian", "dsb", "Latin"),
    "dtp": ("Central Dusun", "dtp", "Latin"),
    "eo": ("Esperanto", "epo", "Latin"),
    "fo": ("Faroese", "fao", "Latin"),
    "fuv": ("Nigerian Fulfulde", "fuv", "Latin"),
    "fy": ("Western Frisian", "fry", "Latin"),
    "gd": ("Scottish Gaelic", "gla", "Latin"),
    "gsw": ("Swiss German", "gsw", "Latin"),
    "ha": ("Hausa", "hau", "Latin"),
    "hsb": ("Upper Sorbian", "hsb", "Latin"),
    "ia": ("Interlingua", "ina", "Latin"),
    "ie": ("Interlingue", "ile", "Latin"),
    "io": ("Ido", "ido", "Latin"),
    "jv": ("Javanese", "jav", "Latin"),
    "kab": ("Kabyle", "kab", "Latin"),
    "kr": ("Kanuri", "kau", "Latin"),
    "ku": ("Kurdish (Kurmanji)", "kur", "Latin"),
    "kw": ("Cornish", "cor", "Latin"),
    "kzj": ("Coastal Kadazan", "kzj", "Latin"),
    "la": ("Latin", "lat", "Latin"),
    "lfn": ("Lingua Franca Nova", "lfn", "Latin"),
    "lg": ("Ganda", "lug", "Latin"),
    "ln": ("Lingala", "lin", "Latin"),
    "max": ("North Moluccan Malay", "max", "Latin"),
    "mhr": ("Eastern Mari", "mhr", "Cyrillic"),
    "nb": ("Norwegian Bokmal", "nob", "Latin"),
    "nds": ("Low German", "nds", "Latin"),
    "nn": ("Norwegian Nynorsk", "nno", "Latin"),
    "nov": ("Novial", "nov", "Latin"),
    "nus": ("Nuer", "nus", "Latin"),
    "oc": ("Occitan", "oci", "Latin"),
    "om": ("Oromo", "orm", "Latin"),
    "orv": ("Old Russian", "orv", "Cyrillic"),
    "pam": ("Pampanga", "pam", "Latin"),
    "pms": ("Piedmontese", "pms", "Latin"),
    "prs": ("Dari", "prs", "Arabic"),
    "ps": ("Pashto", "pus", "Arabic"),
    "rw": ("Kinyarwanda", "kin", "Latin"),
    "so": ("Somali", "som", "Latin"),
    "swg": ("Swabian", "swg", "Latin"),
    "ti": ("Tigrinya", "tir", "Ethiopic"),
    "ti-ER": ("Tigrinya (Eritrea)", "tir-ER", "Ethiopic"),
    "ti-ET": ("Tigrinya (Ethiopia)", "tir-ET", "Ethiopic"),
    "tk": ("Turkmen", "tuk", "Latin"),
    "tt": ("Tatar", "tat", "Cyrillic"),
    "tzl": ("Talossan", "tzl", "Latin"),
    "ug": ("Uyghur", "uig", "Arabic"),
    "war": ("Waray", "war", "Latin"),
    "wuu": ("Wu Chinese", "wuu", "Han"),
    "xh": ("Xhosa", "xho", "Latin"),
    "yi": ("Yiddish", "yid", "Hebrew"),
    "yue": ("Cantonese", "yue", "Han"),
}

# ISO 639-2/B codes and other common aliases that differ from the 639-3 code.
_ALIASES: dict[str, str] = {
    "ger": "de",
    "fre": "fr",
    "chi": "zh",
    "cze": "cs",
    "dut": "nl",
    "gre": "el",
    "per": "fa",
    "arm": "hy",
    "geo": "ka",
    "alb": "sq",
    "baq": "eu",
    "bur": "my",
    "ice": "is",
    "mac": "mk",
    "may": "ms",
    "rum": "ro",
    "slo": "sk",
    "wel": "cy",
    "iw": "he",
    "in": "id",
    # Tatoeba's individual-language codes of macrolanguages known here
    "lvs": "lv",
    "pes": "fa",
    "swh": "sw",
    "zsm": "ms",
    "fil": "tl",
    "filipino": "tl",
    "mandarin": "zh",
    "farsi": "fa",
    "cmn": "zh",
    "arb": "ar",
}

_BY_KEY: dict[str, str] = {}
for _code, (_name, _iso3, _script) in LANGUAGES.items():
    _BY_KEY[_code.lower()] = _code
    _BY_KEY[_iso3.lower()] = _code
    _BY_KEY[_name.lower()] = _code
_BY_KEY.update(_ALIASES)


class UnknownLanguageError(ValueError):
    """A language code or name that hybriddash cannot map to a canonical code."""


def normalize_language(value: str) -> str:
    """Map a code or name to its canonical code.

    ``"EN"``, ``"eng"``, ``"English"``, ``"en-US"`` and ``"en_GB"`` all give ``"en"``.
    Raises :class:`UnknownLanguageError` naming the value when it is not known.
    """
    if not isinstance(value, str) or not value.strip():
        raise UnknownLanguageError(f"empty language code {value!r}")
    key = value.strip().lower().replace("_", "-")
    if key in _BY_KEY:
        return _BY_KEY[key]
    base = key.split("-", 1)[0]
    if base in _BY_KEY:
        return _BY_KEY[base]
    raise UnknownLanguageError(
        f"unknown language {value!r}: expected an ISO 639-1/639-3 code or an English "
        "language name (e.g. 'de', 'deu', 'German')"
    )


def language_name(code: str) -> str:
    """English name of a canonical code (the code itself when unknown)."""
    entry = LANGUAGES.get(code)
    return entry[0] if entry else code


def script_of(code: str) -> str:
    entry = LANGUAGES.get(code)
    return entry[2] if entry else "unknown"
