"""Check digits of Japanese public identifiers.

Every function here accepts ASCII digits only: ``str.isdigit`` would also accept full-width
and other Unicode digits, which must be normalised by the caller before validation.

個人番号 (My Number) is specified personal information (特定個人情報, 番号法第2条第8項): the
functions for it never put the number into an exception message, an exception chain or a log.
"""

from __future__ import annotations

import re

from stdnum.jp import in_ as _my_number

__all__ = [
    "is_valid_juminhyo_code",
    "is_valid_lg_code",
    "is_valid_m11",
    "is_valid_my_number",
    "lg_code_check_digit",
    "m11_check_digit",
    "my_number_check_digit",
    "with_m11",
]

_LG_CODE_WEIGHTS = (6, 5, 4, 3, 2)
_M11_WEIGHTS = (2, 3, 4, 5, 6, 7)
# Cards print 個人番号 as "1234 5678 9012"; people also type hyphens.
_MY_NUMBER_SEPARATORS_RE = re.compile("[ -]")


def _is_ascii_digits(s: str, length: int | None = None) -> bool:
    if not (s.isascii() and s.isdigit()):
        return False
    return length is None or len(s) == length


def lg_code_check_digit(first5: str) -> int:
    """Check digit of a 全国地方公共団体コード (総務省; JIS X 0402 code + check digit)."""
    if not _is_ascii_digits(first5, 5):
        raise ValueError("地方公共団体コードの検査数字を求めるには5桁の数字が必要です。")
    # check = 11 - (S mod 11) with S = 6·d1 + 5·d2 + 4·d3 + 3·d4 + 2·d5. Remainders 1 and 0
    # give 10 and 11, which the code maps to 0 and 1 (their last digit).
    total = sum(w * int(c) for w, c in zip(_LG_CODE_WEIGHTS, first5, strict=True))
    return (11 - total % 11) % 10


def is_valid_lg_code(code: str) -> bool:
    """Whether ``code`` is a valid 6-digit 全国地方公共団体コード (prefecture + check digit)."""
    if not _is_ascii_digits(code, 6):
        return False
    # The first two digits are the 都道府県コード (JIS X 0401): 01-47.
    if not 1 <= int(code[:2]) <= 47:
        return False
    return lg_code_check_digit(code[:5]) == int(code[5])


def m11_check_digit(body: str) -> int:
    """Modulus-11 check digit (weights 2-7 from the right) for 宛名番号/世帯番号 (標準仕様 J:130).

    check = 11 − (S mod 11). Remainder 0 gives 0. Remainder 1 would give 10, which does not fit
    in one digit; the standard leaves it open and this implementation uses 0 (as 個人番号 does,
    平成26年総務省令第85号第5条), so a number with check digit 0 may come from either remainder.
    """
    if not _is_ascii_digits(body) or not body:
        raise ValueError("検査数字を求める番号は1桁以上の数字で指定してください。")
    total = sum(int(c) * _M11_WEIGHTS[i % len(_M11_WEIGHTS)] for i, c in enumerate(reversed(body)))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def with_m11(body: str) -> str:
    """Append the modulus-11 check digit of :func:`m11_check_digit` to ``body``."""
    return f"{body}{m11_check_digit(body)}"


def is_valid_m11(number: str) -> bool:
    """Whether the last digit of ``number`` is its modulus-11 check digit (宛名番号/世帯番号)."""
    if not _is_ascii_digits(number) or len(number) < 2:
        return False
    return m11_check_digit(number[:-1]) == int(number[-1])


def my_number_check_digit(first11: str) -> int:
    """Check digit of a 個人番号 (番号法施行令第8条, 平成26年総務省令第85号第5条) from 11 digits."""
    # Validate before calling stdnum: its int() errors would quote the digits in the message.
    if not _is_ascii_digits(first11, 11):
        raise ValueError("個人番号の検査用数字を求めるには11桁の数字が必要です。")
    return int(_my_number.calc_check_digit(first11))


def is_valid_my_number(s: str) -> bool:
    """Whether ``s`` is a valid 12-digit 個人番号 (番号法); spaces/hyphens may separate digits."""
    # Never raises, so the number cannot end up in a traceback or an error log.
    if not isinstance(s, str):
        return False
    compact = _MY_NUMBER_SEPARATORS_RE.sub("", s)
    if not _is_ascii_digits(compact, 12):
        return False
    return bool(_my_number.is_valid(compact))


def is_valid_juminhyo_code(s: str) -> bool:
    """Format check of a 住民票コード (住民基本台帳法第7条第13号): exactly 11 ASCII digits.

    The check digit (住民基本台帳法施行規則第1条, algorithm in 平成14年総務省告示第436号) is NOT
    verified: the algorithm could not be confirmed from the notice itself, and guessing it
    would reject valid codes. Like 個人番号, the code is never put into messages or logs.
    """
    return isinstance(s, str) and _is_ascii_digits(s, 11)
