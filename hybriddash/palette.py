"""One colour per language code: the single source of every chart's language colours.

Colours come from colorcet's ``glasbey_category10``: the ten familiar category10
colours, then a Glasbey sequence in which each next colour is chosen to be as far as
possible (in CAM02-UCS) from all the earlier ones, 256 in all. Every canonical language
of :data:`hybriddash.languages.LANGUAGES` owns one fixed slot, so a language has the same
colour on every page, in every dataset and in every session:

- the eleven XQuAD-R languages (a superset of MLQA-R's seven) take the first, most
  distinct slots;
- the other known languages follow in alphabetical order of their code;
- a code outside that list (it cannot come from a validated corpus, but a chart may
  carry one) gets the first free slot after them, in sorted order, so the colours of
  one chart never repeat.
"""

from __future__ import annotations

from collections.abc import Iterable

import colorcet

from hybriddash.languages import LANGUAGES

#: Above this many candidate languages a chart colours scripts, not languages (112
#: Glasbey colours stay distinct numerically but not to the eye, nor in a legend).
MAX_LANGUAGE_COLOURS = 15

PALETTE: tuple[str, ...] = tuple(colorcet.palette["glasbey_category10"])
# XQuAD-R's languages in the dataset's own order; the most distinct colours go to them.
_FIRST = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
_ORDER: tuple[str, ...] = _FIRST + tuple(sorted(c for c in LANGUAGES if c not in _FIRST))
_SLOT: dict[str, int] = {code: i for i, code in enumerate(_ORDER)}
if len(_ORDER) > len(PALETTE):  # pragma: no cover - a guard for a longer language list
    raise RuntimeError(f"{len(_ORDER)} languages but only {len(PALETTE)} palette colours")


def language_color(code: str) -> str:
    """The fixed ``#rrggbb`` colour of a canonical language code.

    Raises KeyError naming the code when it is not a known canonical code (use
    :func:`language_colors` for a chart whose codes may include unknown ones).
    """
    try:
        return PALETTE[_SLOT[code]]
    except KeyError:
        raise KeyError(
            f"no fixed colour for language {code!r}: not a canonical code of "
            "hybriddash.languages.LANGUAGES"
        ) from None


def language_colors(codes: Iterable[str]) -> dict[str, str]:
    """``{code: colour}`` for the codes of one chart (plotly's ``color_discrete_map``).

    Known codes get their fixed colour; unknown ones, in sorted order, the palette
    slots after the known languages, so no two codes of the mapping share a colour.
    """
    unique = sorted({str(c) for c in codes})
    mapping = {c: PALETTE[_SLOT[c]] for c in unique if c in _SLOT}
    free = iter(range(len(_ORDER), len(PALETTE)))
    for code in unique:
        if code not in mapping:
            slot = next(free, None)
            if slot is None:
                raise ValueError(f"more than {len(PALETTE)} language codes in one chart")
            mapping[code] = PALETTE[slot]
    return mapping


# one fixed colour per script of LANGUAGES (and "unknown"), from category10's end of the
# palette in sorted order: a script has the same colour in every chart
_SCRIPTS: tuple[str, ...] = tuple(sorted({script for _n, _i, script in LANGUAGES.values()}))
_OWN, _OTHER = 0, 7  # category10 blue and grey: own language vs the rest
_FREE = [i for i in range(len(PALETTE)) if i not in (_OWN, _OTHER)]
_SCRIPT_SLOT = {s: _FREE[i] for i, s in enumerate((*_SCRIPTS, "unknown"))}


def group_colors(groups: Iterable[str]) -> dict[str, str]:
    """``{group: colour}`` for language groups: scripts (:func:`hybriddash.languages.
    script_of`, fixed colours) and the labels of :func:`hybriddash.reports.tables.
    group_shares` ("own language", "other languages": the first two category10 colours)."""
    fixed = {"own language": PALETTE[_OWN], "other languages": PALETTE[_OTHER]}
    free = iter(_FREE[len(_SCRIPT_SLOT) :])
    out = {}
    for group in sorted({str(g) for g in groups}):
        if group in fixed:
            out[group] = fixed[group]
        elif group in _SCRIPT_SLOT:
            out[group] = PALETTE[_SCRIPT_SLOT[group]]
        else:  # a group name of no script: the next free colour
            out[group] = PALETTE[next(free)]
    return out
