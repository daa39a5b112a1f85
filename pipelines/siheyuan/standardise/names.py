"""Personal names: one written form for comparing, keys for matching, the given form for display.

- ``display``: the name as delivered, trimmed (what a resident expects to see).
- ``normalised``: full-width folded, spaces between Chinese characters removed (``张 伟``),
  other space runs folded to one, every middle-dot look-alike (``•`` ``.`` ``・`` ``‧`` …) and
  hyphen BETWEEN CHINESE CHARACTERS folded to U+00B7 (the separator of transliterated minority
  names, ``买买提·艾力``, ``艾力-买买提`` → ``艾力·买买提``), traditional characters to
  simplified with OpenCC's ``t2s`` (``張偉`` → ``张伟``). Dots and hyphens elsewhere are the
  writer's (``J. R. R. Tolkien`` stays as it is).
- ``pinyin`` / ``initials``: comparison keys with pypinyin — toneless full pinyin syllables
  separated by spaces (``zhang wei``) and their initials (``zw``). Dots and spaces are left out,
  so a name whose middle dot went missing (``买买提艾力``) keys like the dotted one, and
  homophones (``张伟`` / ``张炜``) key alike: the keys are for finding candidates, never for
  deciding a match on their own.

Pinyin is taken character by character (cached): a name is not a phrase, so pypinyin's phrase
dictionary would not read it better, and per character is fast at a million names. The one
exception is the surname: pypinyin (0.55) has no surname mode and reads 曾 as ``ceng``, 单 as
``dan``; a Chinese name (no middle dot, starting with a Chinese character) whose first one or
two characters are in ``seeds/surname_pinyin.csv`` takes the surname reading from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from siheyuan.standardise.codes import seed_rows
from siheyuan.standardise.text import fold_fullwidth

MIDDLE_DOT = "\u00b7"
# Look-alikes of the middle dot typed by different input methods and fonts (the full-width
# full stop is folded to "." before this runs).
_DOT_CHARS = "\u00b7\u2022\u2027\u2219\u22c5\u30fb\uff65\u318d\u0387\u16eb."
# Hyphens and dashes some clerks put where the middle dot belongs (艾力-买买提).
_HYPHEN_CHARS = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SEPARATOR_BETWEEN_HAN = re.compile(
    rf"(?<=[{_CJK}])\s*(?:[{_DOT_CHARS}]+|[{_HYPHEN_CHARS}]+)\s*(?=[{_CJK}])"
)
_SPACE_BETWEEN_HAN = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
_KEY_DROP = re.compile(rf"[\s{_DOT_CHARS}]+")
_EDGE = " " + _DOT_CHARS.replace(".", "")


@dataclass(frozen=True)
class NameStd:
    """One delivered name in its standard forms."""

    raw: str | None
    display: str | None  # trimmed, as given
    normalised: str | None
    pinyin: str | None  # 'zhang wei'
    initials: str | None  # 'zw'

    @property
    def usable(self) -> bool:
        return self.normalised is not None


@cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    from pypinyin import lazy_pinyin

    return lazy_pinyin(ch)[0].lower()


@cache
def _surnames() -> dict[str, list[str]]:
    """Surname -> its syllables, from ``seeds/surname_pinyin.csv``."""
    return {r["surname"]: r["pinyin"].split() for r in seed_rows("surname_pinyin")}


def _surname_prefix(normalised: str) -> tuple[str, list[str]]:
    """The leading surname of a Chinese name that has its own reading, and that reading.

    Only for names written the Chinese way (first character Chinese, no middle dot): in a
    transliterated name (买买提·艾力) the first character is not a surname.
    """
    if MIDDLE_DOT in normalised or not re.match(rf"[{_CJK}]", normalised):
        return "", []
    for size in (2, 1):
        reading = _surnames().get(normalised[:size])
        if reading is not None:
            return normalised[:size], reading
    return "", []


def normalise_name(raw: str | None) -> str | None:
    """The comparable written form (see module docstring); None when nothing is left."""
    if raw is None:
        return None
    text = fold_fullwidth(raw).strip()
    text = _SEPARATOR_BETWEEN_HAN.sub(MIDDLE_DOT, text)
    text = _SPACE_BETWEEN_HAN.sub("", text)
    text = _SPACES.sub(" ", text).strip(_EDGE)
    if not text:
        return None
    return _t2s().convert(text)


def _syllables(normalised: str) -> list[str]:
    surname, out = _surname_prefix(normalised)
    out = list(out)
    latin = ""
    for ch in _KEY_DROP.sub(" ", normalised[len(surname) :]):
        if re.match(rf"[{_CJK}]", ch):
            if latin.strip():
                out.append(latin.strip().lower())
            latin = ""
            out.append(_char_pinyin(ch))
        elif ch == " ":
            if latin.strip():
                out.append(latin.strip().lower())
            latin = ""
        else:
            latin += ch
    if latin.strip():
        out.append(latin.strip().lower())
    return out


def standardise_name(raw: str | None) -> NameStd:
    """Display, normalised form and pinyin keys of one delivered name."""
    display = raw.strip() if raw is not None else None
    normalised = normalise_name(raw)
    if normalised is None:
        return NameStd(raw, display or None, None, None, None)
    syllables = _syllables(normalised)
    return NameStd(
        raw=raw,
        display=display,
        normalised=normalised,
        pinyin=" ".join(syllables) or None,
        initials="".join(s[0] for s in syllables) or None,
    )
