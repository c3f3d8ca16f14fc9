"""Kana normalisation for カナ氏名 fields and name search keys.

Two families of functions live here and must not be mixed up:

* ``normalize_kana`` / ``search_key`` / ``is_kana`` are for **kana fields** (氏名カナ, 住所カナ).
  They fold hiragana to katakana, half-width kana to full-width and full-width ASCII to
  half-width. They never touch ideographs or variation selectors, but they are not meant to
  produce match keys for kanji names.
* ``normalize_name_for_search`` is for **kanji name fields** (氏名). It keeps Ideographic
  Variation Sequences (IVS) so that 葛󠄀 and 葛 stay different for exact matching, and only
  drops them when a loose match is asked for explicitly.

Nothing here applies NFC/NFKC to whole strings: NFC maps CJK compatibility ideographs
(U+F900–U+FAFF) to their unified forms and NFKC also rewrites many symbols, both of which
would silently change a registered name.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

__all__ = [
    "has_ivs",
    "has_variation_selector",
    "is_kana",
    "normalize_kana",
    "normalize_name_for_search",
    "search_key",
    "strip_variation_selectors",
    "to_hiragana",
    "to_katakana",
]

# Ideographic Variation Selectors (VS17–VS256), registered in the IVD (Unicode TS #37).
_IVS_RE = re.compile("[\U000e0100-\U000e01ef]")
# All variation selectors: VS1–VS16, Mongolian free variation selectors and the IVS range.
_VS_RE = re.compile("[\ufe00-\ufe0f\u180b-\u180d\u180f\U000e0100-\U000e01ef]")

_WHITESPACE_RE = re.compile(r"\s+")  # str patterns are Unicode-aware: matches U+3000 too.

# Kana that can carry a voiced/semi-voiced mark, followed by any spelling of that mark:
# combining (U+3099/309A), spacing (U+309B/309C) or half-width (U+FF9E/FF9F).
_VOICED_PAIR_RE = re.compile(
    "([\u3041-\u3096\u309d\u30a1-\u30fa\u30fd])([\u3099\u309a\u309b\u309c\uff9e\uff9f])"
)
_TO_COMBINING = {
    "\u3099": "\u3099",
    "\u309b": "\u3099",
    "\uff9e": "\u3099",
    "\u309a": "\u309a",
    "\u309c": "\u309a",
    "\uff9f": "\u309a",
}
_TO_SPACING = {"\u3099": "\u309b", "\u309a": "\u309c"}
# A half-width mark left alone (not after kana) is shown as the full-width spacing mark.
_LONE_HALFWIDTH_MARKS = str.maketrans({"\uff9e": "\u309b", "\uff9f": "\u309c"})

_SMALL_TO_LARGE_KATAKANA = str.maketrans(
    "ァィゥェォッャュョヮヵヶ",
    "アイウエオツヤユヨワカケ",
)

# Full-width katakana letters (incl. ヷ–ヺ), the iteration marks ヽヾ, ー and a plain space:
# what a kana field may contain after normalize_kana. 中黒 (・) is deliberately not included.
_KATAKANA_FIELD_RE = re.compile("[\u30a1-\u30fa\u30fc\u30fd\u30fe ]+")


def _compose_voiced_pair(match: re.Match[str]) -> str:
    base, mark = match[1], _TO_COMBINING[match[2]]
    # NFC on the two-character pair only, so ideographs elsewhere are never normalised.
    composed = unicodedata.normalize("NFC", base + mark)
    if len(composed) == 1:
        return composed
    # No precomposed form exists (e.g. ア゛): keep a visible spacing mark instead of a
    # combining one so that all spellings of the same pair compare equal.
    return base + _TO_SPACING[mark]


def _fold_kana_width(s: str) -> str:
    """Half-width katakana to full-width, with voiced marks composed (ｶﾞ → ガ, ﾜﾞ → ヷ)."""
    widened = jaconv.h2z(s, kana=True, ascii=False, digit=False)
    composed = _VOICED_PAIR_RE.sub(_compose_voiced_pair, widened)
    return composed.translate(_LONE_HALFWIDTH_MARKS)


def normalize_kana(s: str) -> str:
    """Normalise a kana field: katakana, full-width kana, half-width ASCII, single spaces."""
    folded = jaconv.hira2kata(_fold_kana_width(s))
    folded = jaconv.z2h(folded, kana=False, ascii=True, digit=True)
    # Keep one space rather than none: it separates 姓 and 名 in stored カナ氏名.
    # search_key() removes spaces entirely.
    return _WHITESPACE_RE.sub(" ", folded).strip()


def search_key(s: str, *, fold_small_kana: bool = False) -> str:
    """Katakana key for prefix search on kana fields: normalize_kana without any spaces."""
    key = normalize_kana(s).replace(" ", "")
    if fold_small_kana:
        # Legacy registers often stored キヤノン for キャノン; fold to match both spellings.
        key = key.translate(_SMALL_TO_LARGE_KATAKANA)
    return key


def is_kana(s: str) -> bool:
    """Whether ``s`` is only katakana/hiragana (either width), ー and spaces; empty is False."""
    normalized = normalize_kana(s)
    return bool(normalized) and _KATAKANA_FIELD_RE.fullmatch(normalized) is not None


def to_katakana(s: str) -> str:
    """Hiragana and half-width katakana to full-width katakana; other characters unchanged."""
    return str(jaconv.hira2kata(_fold_kana_width(s)))


def to_hiragana(s: str) -> str:
    """Katakana (either width) to hiragana; katakana without a hiragana form (ヷ) stays."""
    return str(jaconv.kata2hira(_fold_kana_width(s)))


def has_ivs(s: str) -> bool:
    """Whether ``s`` contains an Ideographic Variation Selector (U+E0100–U+E01EF, UTS #37)."""
    return _IVS_RE.search(s) is not None


def has_variation_selector(s: str) -> bool:
    """Whether ``s`` contains any variation selector (VS1–VS256 or Mongolian FVS)."""
    return _VS_RE.search(s) is not None


def strip_variation_selectors(s: str) -> str:
    """Remove every variation selector, e.g. for a loose match of 葛󠄀城 against 葛城."""
    return _VS_RE.sub("", s)


def normalize_name_for_search(s: str, *, strip_variation_selectors: bool = False) -> str:
    """Match key for kanji name fields; keeps IVS unless strip_variation_selectors is set."""
    # Only width folding and space removal: hiragana and katakana names are legally different
    # names (さくら vs サクラ), so no kana-type folding here, and no NFC/NFKC (see module doc).
    key = _fold_kana_width(s)
    key = jaconv.z2h(key, kana=False, ascii=True, digit=True)
    key = _WHITESPACE_RE.sub("", key)
    if strip_variation_selectors:
        key = _VS_RE.sub("", key)
    return str(key)
