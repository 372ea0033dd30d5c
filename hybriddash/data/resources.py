"""Language resource level: each language's CC-100 pre-training data (XLM-R).

Source: Conneau et al. 2020, "Unsupervised Cross-lingual Representation Learning at
Scale" (ACL 2020, arXiv 1911.02116), Appendix A, Table 6: tokens (millions) and size
(GiB, uncompressed text) per language of CC-100, the corpus XLM-R (and so
multilingual-e5, initialised from it) was pre-trained on. Values transcribed as in
mayhewsw/multilingual-data-stats, ``cc-100/cc-100.csv``. Two rows of the table are
merged into one code here: ``zh`` = Chinese (Simplified) 259 M / 46.9 GiB + Chinese
(Traditional) 176 M / 16.6 GiB; ``my`` = Burmese 56 M / 1.6 GiB + Burmese (Zawgyi
encoding) 15 M / 0.4 GiB. The romanized rows (Hindi, Urdu, Bengali, Telugu, Tamil) are
left out (no canonical code). The table's Ukrainian and Swedish token counts are known
to be off (confirmed by the authors, per that repository); the GiB column is used for
plots. A language of a suite that is absent from CC-100 has no entry: the long tail
(:func:`resource_level` gives ``"not in CC-100"``).
"""

from __future__ import annotations

CITATION = (
    "Conneau et al. 2020, Unsupervised Cross-lingual Representation Learning at Scale "
    "(ACL 2020), Appendix A Table 6 (CC-100)"
)

#: canonical code -> (tokens in millions, GiB)
CC100: dict[str, tuple[float, float]] = {
    "en": (55608, 300.8), "vi": (24757, 137.3), "ru": (23408, 278.0), "id": (22704, 148.3),
    "fa": (13259, 111.6), "sv": (12950, 85.0), "ro": (10354, 61.4), "de": (10297, 66.6),
    "fr": (9780, 56.8), "es": (9374, 53.3), "no": (8494, 49.0), "pt": (8405, 49.1),
    "da": (7823, 45.6), "hu": (7807, 58.4), "uk": (6960, 84.6), "fi": (6730, 54.3),
    "pl": (6490, 44.6), "ko": (5644, 54.2), "bg": (5487, 57.5), "nl": (5025, 29.3),
    "it": (4983, 30.2), "el": (4285, 46.9), "sk": (3525, 23.2), "he": (3399, 31.6),
    "hr": (3297, 20.5), "ar": (2869, 28.0), "tr": (2736, 20.9), "cs": (2498, 16.3),
    "lt": (1835, 13.7), "th": (1834, 71.7), "ca": (1752, 10.1), "hi": (1715, 20.2),
    "sl": (1669, 10.3), "ms": (1318, 8.5), "lv": (1198, 8.8), "sq": (918, 5.4),
    "et": (843, 6.1), "sr": (843, 9.1), "az": (783, 6.5), "ur": (730, 5.7),
    "ta": (595, 12.2), "tl": (556, 3.1), "ja": (530, 69.3), "bn": (525, 8.4),
    "is": (505, 3.2), "gl": (495, 2.9), "kk": (476, 6.4), "ka": (469, 9.1),
    "mk": (449, 4.8), "hy": (421, 5.5), "la": (390, 2.5), "be": (362, 4.3),
    "ml": (313, 7.6), "sw": (275, 1.6), "eu": (270, 2.0), "zh": (435, 63.5),
    "te": (249, 4.7), "mn": (248, 3.0), "si": (243, 3.6), "af": (242, 1.3),
    "ne": (237, 3.8), "mr": (175, 2.8), "kn": (169, 3.3), "eo": (157, 0.9),
    "cy": (141, 0.8), "gu": (140, 1.9), "ps": (96, 0.7), "ky": (94, 1.2),
    "uz": (91, 0.7), "ga": (86, 0.5), "am": (68, 0.8), "pa": (68, 0.8),
    "ku": (66, 0.4), "so": (62, 0.4), "ha": (56, 0.3), "my": (71, 2.0),
    "sd": (50, 0.4), "km": (36, 1.5), "or": (36, 0.6), "yi": (34, 0.3),
    "fy": (29, 0.2), "ug": (27, 0.4), "mg": (25, 0.2), "jv": (24, 0.2),
    "gd": (21, 0.1), "lo": (17, 0.6), "sa": (17, 0.3), "br": (16, 0.1),
    "bs": (14, 0.1), "xh": (13, 0.1), "su": (10, 0.1), "om": (8, 0.1),
    "as": (5, 0.1),
}  # fmt: skip

#: bins of :func:`resource_level` (GiB, lower bounds), high to low
LEVELS: tuple[tuple[str, float], ...] = (("high", 20.0), ("mid", 2.0), ("low", 0.0))
NOT_IN_CC100 = "not in CC-100"


def cc100_gib(lang: str) -> float | None:
    """CC-100 size in GiB of a canonical code; None when the language is not in CC-100."""
    entry = CC100.get(lang)
    return entry[1] if entry else None


def resource_level(lang: str) -> str:
    """``high`` (>= 20 GiB), ``mid`` (>= 2 GiB), ``low`` (< 2 GiB) or ``not in CC-100``."""
    gib = cc100_gib(lang)
    if gib is None:
        return NOT_IN_CC100
    return next(name for name, bound in LEVELS if gib >= bound)


def resource_table(langs: list[str]) -> list[dict[str, object]]:
    """One row per language: ``lang, cc100_tokens_m, cc100_gib, level`` (None if absent)."""
    rows = []
    for lang in langs:
        tokens, gib = CC100.get(lang, (None, None))
        rows.append(
            {
                "lang": lang,
                "cc100_tokens_m": tokens,
                "cc100_gib": gib,
                "level": resource_level(lang),
            }
        )
    return rows
