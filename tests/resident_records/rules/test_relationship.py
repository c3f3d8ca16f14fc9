"""続柄: the whitelist of 標準仕様書 1.1.11 (J:110)."""

import pytest

from resident_records.rules.relationship import (
    BASE_TERMS,
    MAX_GENERATIONS,
    RELATIONSHIP_EXAMPLES,
    RelationshipError,
    is_head,
    validate_relationship,
)

ALLOWED = [
    # ① ④ ⑤
    "世帯主",
    "縁故者",
    "同居人",
    # ②
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
    # 子（子の夫）, 子（子の妻）
    "子の夫",
    "子の妻",
    # ③ up to four 世代
    "子の子",
    "妻の父",
    "夫の母",
    "妻の子",
    "夫の子",
    "父の父",
    "母の母",
    "兄の子",
    "妹の子",
    "父の兄",
    "母の妹",
    "妻（未届）の子",
    "夫（未届）の母",
    "子の夫（未届）",
    "子の子の子",
    "子の子の妻",
    "妻の父の母",
    "子の子の子の子",
    "子の子の子の妻",
    "妻の兄の子の子",
    "父の父の父の父",
]


class TestAllowed:
    @pytest.mark.parametrize("text", ALLOWED)
    def test_accepted_unchanged(self, text):
        assert validate_relationship(text) == text

    @pytest.mark.parametrize("term", BASE_TERMS)
    def test_every_base_term_joins_to_four_generations(self, term):
        joined = "の".join([term] * MAX_GENERATIONS)
        assert validate_relationship(joined) == joined

    @pytest.mark.parametrize(
        ("text", "normalised"),
        [
            (" 子 ", "子"),
            ("\u3000妻\u3000", "妻"),
            ("妻(未届)", "妻（未届）"),
            ("夫(未届)", "夫（未届）"),
            ("妻(未届)の子", "妻（未届）の子"),
            ("妻（未届)", "妻（未届）"),
            ("世帯主\n", "世帯主"),
        ],
    )
    def test_normalised(self, text, normalised):
        assert validate_relationship(text) == normalised

    @pytest.mark.parametrize("text", RELATIONSHIP_EXAMPLES)
    def test_examples_are_valid(self, text):
        assert validate_relationship(text) == text


class TestTooManyGenerations:
    @pytest.mark.parametrize(
        "text",
        [
            "子の子の子の子の子",
            "妻の父の父の父の父",
            "子の子の子の子の子の子",
            "兄の子の子の子の妻",
        ],
    )
    def test_five_or_more_must_be_relative(self, text):
        with pytest.raises(RelationshipError) as info:
            validate_relationship(text)
        message = str(info.value)
        assert "「縁故者」" in message
        assert "4世代まで" in message


class TestForbidden:
    @pytest.mark.parametrize(
        ("text", "hint"),
        [
            ("祖父", "「父の父」又は「母の父」"),
            ("祖母", "「父の母」又は「母の母」"),
            ("孫", "「子の子」"),
            ("曾孫", "「子の子の子」"),
            ("おじ", "「父の兄」"),
            ("伯父", "「母の弟」"),
            ("叔父", "「父の弟」"),
            ("おば", "「父の姉」"),
            ("伯母", "「母の姉」"),
            ("叔母", "「父の妹」"),
            ("甥", "「兄の子」"),
            ("姪", "「妹の子」"),
            ("準世帯主", "世帯主との続柄"),
            ("家事使用人", "「同居人」"),
            ("長男", "「子」"),
            ("長女", "「子」"),
            ("次男", "「子」"),
            ("二女", "「子」"),
            ("養子", "「子」"),
            ("養父", "「父」"),
            ("養母", "「母」"),
            ("嫁", "「子の妻」"),
            ("婿", "「子の夫」"),
            ("配偶者", "「夫」又は「妻」"),
            ("内縁の妻", "「妻（未届）」"),
            ("内縁の夫", "「夫（未届）」"),
            ("妻(内縁)", "「妻（未届）」"),
            ("義父", "「妻の父」又は「夫の父」"),
            ("兄弟", "「兄」又は「弟」"),
            ("本人", "「世帯主」"),
            ("友人", "「同居人」"),
        ],
    )
    def test_rejected_with_the_allowed_wording(self, text, hint):
        with pytest.raises(RelationshipError) as info:
            validate_relationship(text)
        message = str(info.value)
        assert f"「{text.replace('(', '（').replace(')', '）')}」は続柄として使えません" in message
        assert hint in message
        assert message.endswith("と記載してください。")

    @pytest.mark.parametrize(
        ("text", "term", "hint"),
        [
            ("妻の祖父", "祖父", "「父の父」又は「母の父」"),
            ("孫の妻", "孫", "「子の子」"),
            ("夫の甥", "甥", "「兄の子」"),
            ("子の長男", "長男", "「子」"),
        ],
    )
    def test_forbidden_term_inside_a_join(self, text, term, hint):
        with pytest.raises(RelationshipError) as info:
            validate_relationship(text)
        assert f"「{term}」" in str(info.value)
        assert hint in str(info.value)


class TestMalformed:
    @pytest.mark.parametrize(
        "text",
        [
            "社長",
            "子供たち",
            "こ",
            "ツマ",
            "wife",
            "子の",
            "の子",
            "子のの子",
            "子 の子",
            "子・妻",
            "夫（未届け）",
            "夫[未届]",
            "未届",
            "子の子の子の子の孫の子",
        ],
    )
    def test_rejected(self, text):
        with pytest.raises(RelationshipError):
            validate_relationship(text)

    @pytest.mark.parametrize("text", ["社長", "子のの子", "夫（未届け）"])
    def test_generic_message_lists_what_is_allowed(self, text):
        with pytest.raises(RelationshipError) as info:
            validate_relationship(text)
        message = str(info.value)
        assert f"「{text}」は続柄として使えません" in message
        assert "4世代まで" in message

    @pytest.mark.parametrize("text", ["縁故者の子", "子の同居人", "妻の世帯主"])
    def test_standalone_terms_do_not_join(self, text):
        with pytest.raises(RelationshipError, match="「の」でつなげられません"):
            validate_relationship(text)

    def test_head_prefix_is_explained(self):
        with pytest.raises(RelationshipError, match="「世帯主の」を付けずに"):
            validate_relationship("世帯主の妻")

    @pytest.mark.parametrize("text", ["", "  ", "\u3000"])
    def test_empty(self, text):
        with pytest.raises(RelationshipError, match="続柄を入力してください"):
            validate_relationship(text)

    def test_long_input_is_not_echoed(self):
        text = "社" * 500
        with pytest.raises(RelationshipError) as info:
            validate_relationship(text)
        assert text not in str(info.value)

    def test_is_a_value_error(self):
        assert issubclass(RelationshipError, ValueError)


class TestIsHead:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("世帯主", True),
            (" 世帯主\u3000", True),
            ("妻", False),
            ("世帯主の妻", False),
            ("準世帯主", False),
            ("", False),
        ],
    )
    def test_is_head(self, text, expected):
        assert is_head(text) is expected
