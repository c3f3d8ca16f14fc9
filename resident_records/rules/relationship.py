"""続柄, the relationship to the head of household (法7条4号, 標準仕様書 1.1.11 続柄).

The standard is a whitelist (J:110):

1. 世帯主;
2. 夫, 妻, 夫（未届）, 妻（未届）, 子, 子（子の夫）, 子（子の妻）, 父, 母, 兄, 姉, 弟, 妹;
3. those joined with "の" up to four 世代, counted mechanically as the number of joined terms
   (子の子の子の子); five or more must be written 縁故者;
4. 縁故者;
5. 同居人.

Everything else is forbidden (祖父, 祖母, おじ, おば, 甥, 姪, 孫, 家事使用人, 準世帯主, …).

Reading of the list, following the text and the 住民基本台帳事務処理要領:

* "子（子の夫）/子（子の妻）" names the spouse of a child, written 子の夫 / 子の妻; it is a join of
  two terms of ② and counts as two 世代 like any other join.
* Adopted children and adoptive parents are written 子 / 父 / 母 (the 要領 writes 養子 as 子), and
  children of any birth order are 子 (長男, 長女 are 戸籍 terms, not 続柄 of the register).
* 夫（未届）and 妻（未届）are terms of ②, so they join like the others (妻（未届）の子 is the
  要領's own example for the unrecognised child of a common-law wife).
* Joins are not simplified (子の父 is not rewritten): the standard counts 世代 mechanically and
  leaves choosing the highest-ranked wording (5.2) to the clerk.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BASE_TERMS",
    "HEAD",
    "LODGER",
    "MAX_GENERATIONS",
    "RELATIONSHIP_EXAMPLES",
    "RELATIVE",
    "RelationshipError",
    "is_head",
    "validate_relationship",
]


class RelationshipError(ValueError):
    """A 続柄 the standard does not allow; the message is Japanese and tells what to write."""


HEAD: Final = "世帯主"
RELATIVE: Final = "縁故者"
LODGER: Final = "同居人"
# ② of J:110; 子の夫 and 子の妻 are joins of these.
BASE_TERMS: Final[tuple[str, ...]] = (
    "夫",
    "妻",
    "夫（未届）",
    "妻（未届）",
    "子",
    "父",
    "母",
    "兄",
    "姉",
    "弟",
    "妹",
)
MAX_GENERATIONS: Final = 4
_JOINER: Final = "の"
_STANDALONE: Final = frozenset({HEAD, RELATIVE, LODGER})
_BASE: Final = frozenset(BASE_TERMS)

# Hints for the UI, in the order a clerk most often needs them.
RELATIONSHIP_EXAMPLES: Final[tuple[str, ...]] = (
    "世帯主",
    "妻",
    "夫",
    "子",
    "父",
    "母",
    "兄",
    "姉",
    "弟",
    "妹",
    "妻（未届）",
    "夫（未届）",
    "子の妻",
    "子の夫",
    "子の子",
    "妻の父",
    "妻の母",
    "妻の子",
    "父の父",
    "兄の子",
    "縁故者",
    "同居人",
)

_CHILD: Final = "「子」"
_GRANDPARENT_M: Final = "「父の父」又は「母の父」"
_GRANDPARENT_F: Final = "「父の母」又は「母の母」"
_UNCLE: Final = "「父の兄」「父の弟」「母の兄」又は「母の弟」"
_AUNT: Final = "「父の姉」「父の妹」「母の姉」又は「母の妹」"
_NEPHEW_NIECE: Final = "「兄の子」「姉の子」「弟の子」又は「妹の子」"
_OTHER_PERSON: Final = "「同居人」"

# Words people write that J:110 forbids, with what to write instead. Looked up for the whole
# text and for each term of a join (妻の祖父 → the hint for 祖父).
_FORBIDDEN: Final[dict[str, str]] = {
    # J:110 【実装しない機能】 names these explicitly.
    "祖父": _GRANDPARENT_M,
    "祖母": _GRANDPARENT_F,
    "孫": "「子の子」",
    "おじ": _UNCLE,
    "伯父": _UNCLE,
    "叔父": _UNCLE,
    "おば": _AUNT,
    "伯母": _AUNT,
    "叔母": _AUNT,
    "甥": _NEPHEW_NIECE,
    "姪": _NEPHEW_NIECE,
    "おい": _NEPHEW_NIECE,
    "めい": _NEPHEW_NIECE,
    "家事使用人": _OTHER_PERSON,
    "準世帯主": "世帯主との続柄（例：「妻」「子」）",
    # 戸籍 words and everyday words with a defined register wording.
    "曾孫": "「子の子の子」",
    "曽孫": "「子の子の子」",
    "ひ孫": "「子の子の子」",
    "玄孫": "「子の子の子の子」",
    "長男": _CHILD,
    "長女": _CHILD,
    "次男": _CHILD,
    "二男": _CHILD,
    "三男": _CHILD,
    "四男": _CHILD,
    "次女": _CHILD,
    "二女": _CHILD,
    "三女": _CHILD,
    "四女": _CHILD,
    "息子": _CHILD,
    "娘": _CHILD,
    "養子": _CHILD,
    "養女": _CHILD,
    "実子": _CHILD,
    "子供": _CHILD,
    "子ども": _CHILD,
    "連れ子": "「妻の子」又は「夫の子」",
    "養父": "「父」",
    "実父": "「父」",
    "養母": "「母」",
    "実母": "「母」",
    "継父": "「母の夫」",
    "継母": "「父の妻」",
    "義父": "「妻の父」又は「夫の父」",
    "義母": "「妻の母」又は「夫の母」",
    "義兄": "「妻の兄」「夫の兄」又は「姉の夫」",
    "義姉": "「妻の姉」「夫の姉」又は「兄の妻」",
    "義弟": "「妻の弟」「夫の弟」又は「妹の夫」",
    "義妹": "「妻の妹」「夫の妹」又は「弟の妻」",
    "嫁": "「子の妻」",
    "婿": "「子の夫」",
    "配偶者": "「夫」又は「妻」",
    "内縁の夫": "「夫（未届）」",
    "内縁の妻": "「妻（未届）」",
    "未届の夫": "「夫（未届）」",
    "未届の妻": "「妻（未届）」",
    "夫（内縁）": "「夫（未届）」",
    "妻（内縁）": "「妻（未届）」",
    "兄弟": "「兄」又は「弟」",
    "姉妹": "「姉」又は「妹」",
    "本人": "「世帯主」",
    "使用人": _OTHER_PERSON,
    "同居者": _OTHER_PERSON,
    "下宿人": _OTHER_PERSON,
    "友人": _OTHER_PERSON,
    "知人": _OTHER_PERSON,
    "親族": "「の」でつなげた続柄（4世代まで）又は「縁故者」",
}

_ALLOWED_SUMMARY: Final = (
    "続柄は「世帯主」「縁故者」「同居人」か、夫・妻・夫（未届）・妻（未届）・子・父・母・兄・姉・"
    "弟・妹を「の」で4世代までつなげたもの（例：「子の妻」「妻の父」）で記載してください。"
)
# Longer than any allowed 続柄; longer input is never echoed back in a message.
_MAX_ECHO: Final = 30


def _normalise(text: str) -> str:
    # Half-width parentheses are the only variant accepted: the register prints （未届）.
    return text.strip().replace("(", "（").replace(")", "）")


def _quote(text: str) -> str:
    return f"「{text}」" if len(text) <= _MAX_ECHO else "入力された続柄"


def _forbidden(term: str) -> RelationshipError:
    return RelationshipError(
        f"「{term}」は続柄として使えません。{_FORBIDDEN[term]}と記載してください。"
    )


def validate_relationship(text: str) -> str:
    """Check a 続柄 against the whitelist of 標準仕様書 1.1.11 and return its normalised form."""
    relationship = _normalise(text)
    if not relationship:
        raise RelationshipError("続柄を入力してください。")
    if relationship in _STANDALONE:
        return relationship
    # Whole-text lookups first: some forbidden words contain "の" (内縁の妻).
    if relationship in _FORBIDDEN:
        raise _forbidden(relationship)
    terms = relationship.split(_JOINER)
    if terms[0] == HEAD and len(terms) > 1:
        raise RelationshipError(
            "続柄は世帯主から見た関係です。「世帯主の」を付けずに、「妻」「子の妻」のように"
            "記載してください。"
        )
    if all(term in _BASE for term in terms):
        if len(terms) > MAX_GENERATIONS:
            raise RelationshipError(
                f"{_quote(relationship)}は{len(terms)}世代です。続柄は「の」でつなげて"
                f"{MAX_GENERATIONS}世代までです。5世代以上になる場合は「縁故者」と記載して"
                "ください。"
            )
        return relationship
    for term in terms:
        if term in _FORBIDDEN:
            raise _forbidden(term)
    if any(term in _STANDALONE for term in terms):
        raise RelationshipError(
            "「世帯主」「縁故者」「同居人」は「の」でつなげられません。" + _ALLOWED_SUMMARY
        )
    raise RelationshipError(f"{_quote(relationship)}は続柄として使えません。{_ALLOWED_SUMMARY}")


def is_head(text: str) -> bool:
    """Whether the 続柄 is 世帯主 (法7条4号: the head is recorded as such, J:110 ①)."""
    return _normalise(text) == HEAD
