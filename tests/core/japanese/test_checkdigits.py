import pytest
from stdnum.jp import in_ as stdnum_in

from core.japanese.checkdigits import (
    is_valid_juminhyo_code,
    is_valid_lg_code,
    is_valid_m11,
    is_valid_my_number,
    lg_code_check_digit,
    m11_check_digit,
    my_number_check_digit,
    with_m11,
)

LG_CODES = {
    "富山市": "162019",
    "射水市": "162116",
    "滑川市": "162060",
    "舟橋村": "163210",
    "朝日町": "163431",
    "入善町": "163422",
    "上市町": "163228",
    "黒部市": "162078",
    "魚津市": "162043",
    "立山町": "163236",
    "東京都千代田区": "131016",
    "北海道札幌市": "011002",
}


class TestLgCode:
    @pytest.mark.parametrize(("name", "code"), LG_CODES.items())
    def test_known_codes_validate(self, name, code):
        assert is_valid_lg_code(code), name
        assert lg_code_check_digit(code[:5]) == int(code[5])

    def test_formula_by_hand(self):
        # 富山市 16201: 6*1 + 5*6 + 4*2 + 3*0 + 2*1 = 46; 46 mod 11 = 2; 11 - 2 = 9.
        assert lg_code_check_digit("16201") == 9

    def test_remainder_one_maps_to_zero(self):
        # 滑川市 16206: 6 + 30 + 8 + 0 + 12 = 56; 56 mod 11 = 1; 11 - 1 = 10 -> 0.
        assert lg_code_check_digit("16206") == 0

    def test_remainder_zero_maps_to_one(self):
        # 朝日町 16343: 6 + 30 + 12 + 12 + 6 = 66; 66 mod 11 = 0; 11 - 0 = 11 -> 1.
        assert lg_code_check_digit("16343") == 1

    @pytest.mark.parametrize(
        "code",
        [
            "162018",  # wrong check digit
            "162010",
            "16201",  # too short
            "1620199",  # too long
            "１６２０１９",  # full-width digits
            "16201a",
            "",
            "000001",  # check digit fits but there is no prefecture 00
            "480009",  # prefecture 48 does not exist
        ],
    )
    def test_invalid(self, code):
        assert is_valid_lg_code(code) is False

    def test_prefecture_codes_validate(self):
        # 富山県 160008 and 沖縄県 470007: the prefecture itself also carries a check digit.
        assert is_valid_lg_code("160008")
        assert is_valid_lg_code("470007")

    @pytest.mark.parametrize("bad", ["1620", "162019", "1620x", "１６２０１"])
    def test_check_digit_rejects_bad_input(self, bad):
        with pytest.raises(ValueError, match="5桁の数字が必要です"):
            lg_code_check_digit(bad)


class TestM11:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            # Weights 2,3,4,5,6,7,2,3,4,5 from the right: S = 195, 195 mod 11 = 8, 11 - 8 = 3.
            ("1234567890", 3),
            # S = 2*1 = 2, remainder 2 -> 9.
            ("0000000001", 9),
            # The 7th digit from the right gets weight 2 again: S = 2 -> 9.
            ("1000000", 9),
            # S = 2*2 + 3*1 + 4*0 ... = 7 -> 4.
            ("0000000012", 4),
            # S = 2*9 + 3*1 = 21, remainder 10 -> 1.
            ("19", 1),
        ],
    )
    def test_examples(self, body, expected):
        assert m11_check_digit(body) == expected

    def test_remainder_zero_gives_zero(self):
        # S = 2*4 + 3*1 = 11, remainder 0 -> 0 (11 - 0 = 11 does not fit in one digit).
        assert m11_check_digit("14") == 0
        # S = 2*9 + 3*0 + 4*1 = 22 -> remainder 0.
        assert m11_check_digit("0000109") == 0

    def test_remainder_one_gives_zero(self):
        # S = 2*6 = 12, remainder 1 -> 11 - 1 = 10 does not fit: the documented choice is 0.
        assert m11_check_digit("6") == 0
        # S = 2*3 + 3*2 = 12 -> remainder 1.
        assert m11_check_digit("000023") == 0

    def test_with_m11(self):
        assert with_m11("1234567890") == "12345678903"
        assert with_m11("000014") == "0000140"
        assert with_m11("000023") == "0000230"

    def test_is_valid(self):
        assert is_valid_m11("12345678903")
        assert is_valid_m11("0000140")
        assert is_valid_m11("0000230")
        assert is_valid_m11("191")

    @pytest.mark.parametrize(
        "number", ["12345678904", "12345678930", "0000231", "3", "", "1234567890x", "１９１"]
    )
    def test_is_valid_rejects(self, number):
        assert is_valid_m11(number) is False

    def test_detects_adjacent_transposition(self):
        assert is_valid_m11("12345678903")
        assert not is_valid_m11("21345678903")

    @pytest.mark.parametrize("bad", ["", "12a", "１２", "-1"])
    def test_check_digit_rejects_bad_input(self, bad):
        with pytest.raises(ValueError, match="1桁以上の数字"):
            m11_check_digit(bad)


class TestMyNumber:
    def test_computed_with_stdnum(self):
        check = stdnum_in.calc_check_digit("12345678901")
        assert check == "8"
        assert my_number_check_digit("12345678901") == 8
        assert is_valid_my_number("123456789018")

    def test_stdnum_documented_example(self):
        assert is_valid_my_number("621498320257")
        assert my_number_check_digit("62149832025") == 7

    def test_remainder_rules(self):
        # Weighted sum 0 -> check digit 0; weighted sum 10 -> 11 - 10 = 1;
        # remainder 1 (sum 12 for ...006: 2*6) -> 0 per the ordinance.
        assert my_number_check_digit("00000000000") == 0
        assert my_number_check_digit("00000000005") == 1
        assert my_number_check_digit("00000000006") == 0

    def test_separators_allowed(self):
        assert is_valid_my_number("6214 9832 0257")
        assert is_valid_my_number("6214-9832-0257")

    @pytest.mark.parametrize(
        "number",
        [
            "621498320258",  # wrong check digit
            "62149832025",  # 11 digits
            "6214983202570",  # 13 digits
            "６２１４９８３２０２５７",  # full-width digits
            "62149832025X",
            "",
            "6214\u30009832\u30000257",  # ideographic spaces are not accepted separators
        ],
    )
    def test_invalid(self, number):
        assert is_valid_my_number(number) is False

    def test_non_string_is_invalid_not_an_error(self):
        assert is_valid_my_number(621498320257) is False  # type: ignore[arg-type]
        assert is_valid_my_number(None) is False  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "bad", ["6214983202", "621498320257", "6214983202x", "６２１４９８３２０２５"]
    )
    def test_check_digit_error_never_contains_the_number(self, bad):
        with pytest.raises(ValueError, match="11桁の数字が必要です") as excinfo:
            my_number_check_digit(bad)
        error = excinfo.value
        assert bad not in str(error)
        assert not any(bad in str(arg) for arg in error.args)
        assert error.__cause__ is None
        assert error.__context__ is None


class TestJuminhyoCode:
    def test_format(self):
        assert is_valid_juminhyo_code("12345678901")
        assert is_valid_juminhyo_code("00000000000")

    @pytest.mark.parametrize(
        "code", ["1234567890", "123456789012", "1234567890a", "１２３４５６７８９０１", ""]
    )
    def test_invalid_format(self, code):
        assert is_valid_juminhyo_code(code) is False

    def test_non_string(self):
        assert is_valid_juminhyo_code(12345678901) is False  # type: ignore[arg-type]
