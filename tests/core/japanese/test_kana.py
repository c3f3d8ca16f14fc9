import unicodedata

import pytest

from core.japanese.kana import (
    has_ivs,
    has_variation_selector,
    is_kana,
    normalize_kana,
    normalize_name_for_search,
    search_key,
    strip_variation_selectors,
    to_hiragana,
    to_katakana,
)

VS17 = "\U000e0100"  # first Ideographic Variation Selector
KATSURAGI_IVS = f"葛{VS17}城"  # 葛󠄀城: the 葛 glyph variant registered in Adobe-Japan1


class TestNormalizeKana:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
            ("やまだ　たろう", "ヤマダ タロウ"),
            ("ｶﾞｷﾞｸﾞｹﾞｺﾞ", "ガギグゲゴ"),
            ("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "パピプペポ"),
            ("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン"),
            ("ｷｬｯﾁｰ", "キャッチー"),
            ("ﾜﾞ", "ヷ"),
            ("ゔぁ", "ヴァ"),
            ("ＡＢＣ１２３", "ABC123"),
            ("  ｽｽﾞｷ　　　ｲﾁﾛｳ  ", "スズキ イチロウ"),
            ("サトウ\tハナコ\n", "サトウ ハナコ"),
            ("いすゞ", "イスヾ"),
        ],
    )
    def test_examples(self, raw, expected):
        assert normalize_kana(raw) == expected

    def test_small_kana_are_not_enlarged(self):
        assert normalize_kana("ｧｨｩｪｫｬｭｮｯ") == "ァィゥェォャュョッ"

    @pytest.mark.parametrize("mark", ["\u3099", "\u309b", "\uff9e"])
    def test_every_spelling_of_the_voiced_mark_composes(self, mark):
        result = normalize_kana(f"カ{mark}")
        assert result == "ガ"
        assert len(result) == 1

    @pytest.mark.parametrize("mark", ["\u309a", "\u309c", "\uff9f"])
    def test_every_spelling_of_the_semi_voiced_mark_composes(self, mark):
        assert normalize_kana(f"は{mark}") == "パ"

    def test_mark_without_precomposed_form_becomes_spacing_mark(self):
        assert normalize_kana("ｱﾞ") == "ア゛"
        assert normalize_kana("ア\u3099") == "ア゛"

    def test_result_is_nfc_stable_for_kana(self):
        result = normalize_kana("ﾊﾞﾋﾞﾌﾞ ｳﾞ ｶﾞ")
        assert unicodedata.normalize("NFC", result) == result

    def test_ivs_is_kept(self):
        result = normalize_kana(f"{KATSURAGI_IVS} ｶﾂﾗｷﾞ")
        assert result == f"{KATSURAGI_IVS} カツラギ"
        assert has_ivs(result)

    def test_compatibility_ideograph_is_not_unified(self):
        # U+F929 (朗 compatibility ideograph) would become U+6717 under NFC/NFKC.
        assert normalize_kana("\uf929") == "\uf929"

    def test_idempotent(self):
        once = normalize_kana("ﾔﾏﾀﾞ　はなこ")
        assert normalize_kana(once) == once


class TestSearchKey:
    def test_removes_all_spaces(self):
        assert search_key("ﾔﾏﾀﾞ　ﾀﾛｳ") == "ヤマダタロウ"
        assert search_key("やまだ たろう") == "ヤマダタロウ"

    def test_prefix_search(self):
        stored = search_key("ヤマダ　タロウ")
        assert stored.startswith(search_key("やまだ た"))

    def test_fold_small_kana(self):
        assert search_key("キャノン") == "キャノン"
        assert search_key("ｷｬﾉﾝ", fold_small_kana=True) == "キヤノン"
        assert search_key("キヤノン", fold_small_kana=True) == search_key(
            "きゃのん", fold_small_kana=True
        )


class TestIsKana:
    @pytest.mark.parametrize(
        "s",
        ["ヤマダ タロウ", "やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "ラーメン", "ヴァ", "ヽヾ", "ゝゞ", "カ゛"],
    )
    def test_kana(self, s):
        assert is_kana(s) is True

    @pytest.mark.parametrize(
        "s", ["", "   ", "山田", "ヤマダ1", "ABC", "ジョン・スミス", "ヤマダ-タロウ"]
    )
    def test_not_kana(self, s):
        assert is_kana(s) is False


class TestKanaConversion:
    def test_to_katakana(self):
        assert to_katakana("やまだ ゔ") == "ヤマダ ヴ"
        assert to_katakana("ｶﾞｯｺｳ") == "ガッコウ"
        assert to_katakana("山田ＡＢ") == "山田ＡＢ"

    def test_to_hiragana(self):
        assert to_hiragana("ヤマダ ヴ") == "やまだ ゔ"
        assert to_hiragana("ｶﾞｯｺｳ") == "がっこう"
        assert to_hiragana("ヷ") == "ヷ"

    def test_round_trip(self):
        text = "きゃっちーなおんがく"
        assert to_hiragana(to_katakana(text)) == text

    def test_ivs_kept(self):
        assert to_katakana(f"{KATSURAGI_IVS}かつらぎ") == f"{KATSURAGI_IVS}カツラギ"
        assert to_hiragana(f"{KATSURAGI_IVS}カツラギ") == f"{KATSURAGI_IVS}かつらぎ"


class TestVariationSelectors:
    def test_has_ivs(self):
        assert has_ivs(KATSURAGI_IVS) is True
        assert has_ivs("葛城") is False
        assert has_ivs("\U000e01ef") is True
        # VS16 (emoji presentation) is a variation selector but not an IVS.
        assert has_ivs("\u2764\ufe0f") is False

    def test_has_variation_selector(self):
        assert has_variation_selector("\u2764\ufe0f") is True
        assert has_variation_selector(KATSURAGI_IVS) is True
        assert has_variation_selector("葛城") is False

    def test_strip(self):
        assert strip_variation_selectors(KATSURAGI_IVS) == "葛城"
        assert strip_variation_selectors("辻\U000e0101\ufe00") == "辻"


class TestNormalizeNameForSearch:
    def test_keeps_ivs_for_exact_match(self):
        key = normalize_name_for_search(f"{KATSURAGI_IVS}　太郎")
        assert key == f"{KATSURAGI_IVS}太郎"
        assert key != normalize_name_for_search("葛城 太郎")

    def test_loose_match_strips_variation_selectors(self):
        loose = normalize_name_for_search(f"{KATSURAGI_IVS}　太郎", strip_variation_selectors=True)
        assert loose == normalize_name_for_search("葛城 太郎")

    def test_does_not_fold_hiragana_to_katakana(self):
        assert normalize_name_for_search("山田 さくら") == "山田さくら"
        assert normalize_name_for_search("山田 さくら") != normalize_name_for_search("山田 サクラ")

    def test_folds_widths(self):
        assert normalize_name_for_search("ＳＭＩＴＨ　ﾊﾅｺ") == "SMITHハナコ"

    def test_compatibility_ideograph_is_not_unified(self):
        assert normalize_name_for_search("\uf929") == "\uf929"
