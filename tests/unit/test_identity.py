"""Legal identifiers (USCC, resident ID), regions and masking: chengxin.domain.identity."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from stdnum.cn import ric as stdnum_ric
from stdnum.exceptions import InvalidFormat, InvalidLength, ValidationError

from chengxin.domain import identity as identity_module
from chengxin.domain.identity import (
    NO_IDENTIFIER,
    REASONS,
    IdentityCheck,
    check_ric,
    check_uscc,
    mask_name,
    mask_phone,
    mask_ric,
    normalise,
    reason_zh,
    region_known,
    region_name,
)

SPEC = Path(__file__).resolve().parents[2] / "spec"
TODAY = datetime.date(2026, 3, 1)


def with_check(body17: str) -> str:
    """An 18-character ID whose MOD 11-2 check character is right."""
    return body17 + stdnum_ric.calc_check_digit(body17 + "0")


def sample_values(field: str) -> list[str]:
    lines = (SPEC / "sample-v1.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    return sorted({e["data"][field] for e in events if field in e.get("data", {})})


# --- the shared sample -----------------------------------------------------------------------------------


def test_sample_has_identifiers() -> None:
    assert "91310104MA1FL8XQ36" in sample_values("uscc")
    assert "31010419900307123X" in sample_values("id_number")


@pytest.mark.parametrize("value", sample_values("uscc"))
def test_sample_usccs_valid(value: str) -> None:
    assert check_uscc(value) == IdentityCheck("uscc", value, True, None)


@pytest.mark.parametrize("value", sample_values("id_number"))
def test_sample_ids_valid(value: str) -> None:
    assert check_ric(value, today=TODAY) == IdentityCheck("ric", value, True, None)


@pytest.mark.parametrize("code", sample_values("region"))
def test_sample_regions_known(code: str) -> None:
    assert region_known(code)
    assert region_name(code)


# --- normalisation ---------------------------------------------------------------------------------------


def test_normalise_fullwidth_spaces_case() -> None:
    assert normalise("３１０１ ０４１９\u3000９００３０７１２３ｘ") == "31010419900307123X"
    assert normalise(" 91310104ma1fl8xq36\t") == "91310104MA1FL8XQ36"
    assert normalise("") == ""


def test_checks_report_normalised_form() -> None:
    assert check_ric("310104 19900307 123x", today=TODAY).normalised == "31010419900307123X"
    assert check_ric("310104 19900307 123x", today=TODAY).valid
    assert check_uscc("９１３１０１０４ＭＡ１ＦＬ８ＸＱ３６").valid


# --- USCC ------------------------------------------------------------------------------------------------


def test_uscc_stdnum_reference_valid() -> None:
    assert check_uscc("91110000600037341L").valid


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91310104MA1FL8XQ37", "uscc: check character wrong"),
        ("91110000600037341M", "uscc: check character wrong"),
        ("91310104MA1FL8XQ3", "uscc: length 17, want 18"),
        ("91310104MA1FL8XQ366", "uscc: length 19, want 18"),
        ("", "uscc: length 0, want 18"),
        ("9131-0104MA1FL8XQ36", "uscc: length 19, want 18"),
        ("9131010AMA1FL8XQ36", "uscc: character 8 must be a digit (authority, type, region)"),
        ("91310104MA1FL8XQ3I", "uscc: character 18 not allowed (0-9, A-Z except I O Z S V)"),
        ("91310104OA1FL8XQ36", "uscc: character 9 not allowed (0-9, A-Z except I O Z S V)"),
    ],
)
def test_uscc_invalid(value: str, reason: str) -> None:
    got = check_uscc(value)
    assert (got.scheme, got.valid, got.reason) == ("uscc", False, reason)


# --- resident ID -----------------------------------------------------------------------------------------


def test_ric_check_character_wrong() -> None:
    got = check_ric("310104199003071234", today=TODAY)
    assert (got.scheme, got.valid, got.reason) == ("ric", False, "id_number: check character wrong")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("31010419900307123", "id_number: length 17, want 18"),
        ("310104199003071231X", "id_number: length 19, want 18"),
        ("310104900307123", "id_number: length 15, want 18"),  # first-generation numbers are not accepted
        ("3101041990030712A5", "id_number: characters 1-17 must be digits"),
        ("31010419900307123Y", "id_number: check character must be a digit or X"),
        (with_check("31010419901332123"), "id_number: birth date is not a date"),
        (with_check("31010419000229123"), "id_number: birth date is not a date"),  # not a leap year
        (with_check("31010418991231123"), "id_number: birth date before 1900"),
        (with_check("99010119900307123"), "id_number: region unknown"),
        (with_check("31999919900307123"), "id_number: region unknown"),
    ],
)
def test_ric_invalid(value: str, reason: str) -> None:
    got = check_ric(value, today=TODAY)
    assert (got.valid, got.reason) == (False, reason)


def test_ric_earliest_birth_date() -> None:
    assert check_ric(with_check("31010419000101123"), today=TODAY).valid


def test_ric_birth_today_valid_tomorrow_future() -> None:
    born_today = with_check("310104" + TODAY.strftime("%Y%m%d") + "123")
    tomorrow = TODAY + datetime.timedelta(days=1)
    born_tomorrow = with_check("310104" + tomorrow.strftime("%Y%m%d") + "123")
    assert check_ric(born_today, today=TODAY).valid
    got = check_ric(born_tomorrow, today=TODAY)
    assert (got.valid, got.reason) == (False, "id_number: birth date in the future")
    assert check_ric(born_tomorrow, today=tomorrow).valid


def test_ric_historical_region_counts_as_known() -> None:
    # 110103 崇文区 was merged into 东城区 in 2010; people registered there keep the code. stdnum's own
    # validate() rejects a birth year after the code's end; we do not.
    value = with_check("11010320150601123")
    assert not stdnum_ric.is_valid(value)
    assert check_ric(value, today=TODAY).valid
    assert region_known("110103")


def test_ric_reason_never_repeats_whole_number() -> None:
    for body in ("31010419901332123", "99010119900307123", "31010418991231123"):
        value = with_check(body)
        reason = check_ric(value, today=TODAY).reason
        assert reason is not None and value not in reason


# --- reasons in Chinese ----------------------------------------------------------------------------------


def _stdnum_raises(error: type[Exception]) -> object:
    def validate(value: str) -> str:
        raise error()
    return validate


# One check per reason code (every reason a check can give): (check, English reason, Chinese reason).
# The stdnum errors after the USCC's own length and alphabet checks cannot happen with stdnum's current rules,
# so they are forced by replacing `uscc.validate`.
REASON_CASES = {
    "length": [(lambda: check_uscc("91310104MA1FL8XQ3"), "uscc: length 17, want 18",
                "统一社会信用代码长度为 17 位，应为 18 位"),
               (lambda: check_ric("310104900307123", today=TODAY), "id_number: length 15, want 18",
                "身份证号长度为 15 位，应为 18 位")],
    "uscc_digit": [(lambda: check_uscc("9131010AMA1FL8XQ36"),
                    "uscc: character 8 must be a digit (authority, type, region)",
                    "统一社会信用代码第 8 位应为数字（登记管理部门、机构类别、行政区划）")],
    "uscc_alphabet": [(lambda: check_uscc("91310104OA1FL8XQ36"),
                       "uscc: character 9 not allowed (0-9, A-Z except I O Z S V)",
                       "统一社会信用代码第 9 位字符无效（仅限数字和除 I、O、Z、S、V 以外的大写字母）")],
    "check_wrong": [(lambda: check_uscc("91310104MA1FL8XQ37"), "uscc: check character wrong",
                     "统一社会信用代码校验位错误"),
                    (lambda: check_ric("310104199003071234", today=TODAY), "id_number: check character wrong",
                     "身份证号校验位错误")],
    "uscc_holds_ric": [(lambda: check_uscc("110105198511224567"),
                        "uscc: a resident ID number, not a USCC (stored protected)",
                        "统一社会信用代码为身份证号而非统一社会信用代码（已加密保存）")],
    "invalid_characters": [("InvalidFormat", "uscc: invalid characters", "统一社会信用代码含有无效字符")],
    "invalid": [("ValidationError", "uscc: invalid", "统一社会信用代码无效")],
    "ric_digits": [(lambda: check_ric("3101041990030712A5", today=TODAY),
                    "id_number: characters 1-17 must be digits", "身份证号前 17 位应为数字")],
    "ric_check_character": [(lambda: check_ric("31010419900307123Y", today=TODAY),
                             "id_number: check character must be a digit or X", "身份证号校验位应为数字或 X")],
    "birth_not_a_date": [(lambda: check_ric(with_check("31010419901332123"), today=TODAY),
                          "id_number: birth date is not a date", "身份证号出生日期无效")],
    "birth_before_1900": [(lambda: check_ric(with_check("31010418991231123"), today=TODAY),
                           "id_number: birth date before 1900", "身份证号出生日期早于 1900 年")],
    "birth_in_future": [(lambda: check_ric(with_check("31010420991231123"), today=TODAY),
                         "id_number: birth date in the future", "身份证号出生日期晚于当前日期")],
    "region_unknown": [(lambda: check_ric(with_check("99010119900307123"), today=TODAY),
                        "id_number: region unknown", "身份证号地区码不存在")],
}
STDNUM_ERRORS = {"InvalidFormat": InvalidFormat, "ValidationError": ValidationError, "InvalidLength": InvalidLength}


def test_every_reason_code_has_a_case() -> None:
    """A new reason in REASONS needs a case here (the one reason no check gives is `no_identifier`)."""
    assert set(REASON_CASES) | {"no_identifier"} == set(REASONS)


@pytest.mark.parametrize(("code", "check", "english", "chinese"), [
    pytest.param(code, check, en, zh, id=f"{code}-{i}")
    for code, cases in REASON_CASES.items() for i, (check, en, zh) in enumerate(cases)])
def test_every_reason_a_check_gives_maps_to_chinese(monkeypatch: pytest.MonkeyPatch, code: str, check: object,
                                                     english: str, chinese: str) -> None:
    if isinstance(check, str):  # an stdnum error after our own checks
        monkeypatch.setattr(identity_module.uscc, "validate", _stdnum_raises(STDNUM_ERRORS[check]))
        got = check_uscc("91310104MA1FL8XQ36")
    else:
        got = check()  # type: ignore[operator]
    assert (got.valid, got.reason, got.reason_zh) == (False, english, chinese)
    assert reason_zh(english) == chinese  # the English stored in the subject row maps back at read time


def test_the_stdnum_length_error_maps_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity_module.uscc, "validate", _stdnum_raises(InvalidLength))
    got = check_uscc("91310104MA1FL8XQ36")
    assert (got.reason, got.reason_zh) == ("uscc: length 18, want 18", "统一社会信用代码长度为 18 位，应为 18 位")


def test_reason_zh_of_a_missing_identifier_and_of_unknown_text() -> None:
    assert reason_zh(NO_IDENTIFIER) == "未提供统一社会信用代码或身份证号"
    assert reason_zh("something an older release wrote") == "something an older release wrote"


def test_valid_checks_have_no_reason_in_either_language() -> None:
    got = check_uscc("91310104MA1FL8XQ36")
    assert (got.reason, got.reason_zh) == (None, None)


def test_chinese_reason_never_repeats_the_birth_date() -> None:
    for body in ("31010419901332123", "31010418991231123"):
        got = check_ric(with_check(body), today=TODAY)
        assert got.reason_zh is not None and body[6:14] not in got.reason_zh


# --- regions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("310104", "上海市徐汇区"),
        ("310000", "上海市"),
        ("330100", "浙江省杭州市"),
        ("330106", "浙江省杭州市西湖区"),
        ("440305", "广东省深圳市南山区"),
        ("110103", "北京市崇文区"),  # abolished: last name used
        ("469001", "海南省五指山市"),  # under 省直辖县级行政单位, which is no place
    ],
)
def test_region_name(code: str, name: str) -> None:
    assert region_known(code)
    assert region_name(code) == name


@pytest.mark.parametrize(
    "code", ["990101", "000000", "3101", "31010", "3101041", "31010a", "３１０１０４", ""]
)
def test_region_unknown(code: str) -> None:
    assert not region_known(code)
    assert region_name(code) is None


# --- masking ---------------------------------------------------------------------------------------------


def test_mask_ric() -> None:
    assert mask_ric("31010419900307123X") == "3101**********123X"
    assert mask_ric("110105198511224567") == "1101**********4567"
    assert mask_ric("３１０１０４１９９００３０７１２３ｘ") == "3101**********123X"
    assert len(mask_ric("110105198511224567")) == 18


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("310104199003071234", "**************1234"),  # 18 characters but check character wrong
        ("3101041990030712", "************0712"),
        ("12345", "*2345"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_ric_short_or_invalid(value: str, masked: str) -> None:
    assert mask_ric(value) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("王小明", "王**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳修", "欧阳*"),
        ("欧阳", "欧*"),
        ("张", "*"),
        ("", ""),
        ("John Smith", "J********"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812341234", "138****1234"),
        ("138 1234 1234", "138****1234"),
        ("+86 138-1234-1234", "138****1234"),
        ("008613812341234", "138****1234"),
        ("１３８１２３４１２３４", "138****1234"),
        ("021-64381234", "*******1234"),
        ("123", "***"),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(("stored", "zh"), [
    ("id_number: birth date 19901332 is not a date", "身份证号出生日期无效"),
    ("id_number: birth date 18991231 before 1900", "身份证号出生日期早于 1900 年"),
    ("id_number: region 990101 unknown", "身份证号地区码不存在"),
])
def test_reasons_stored_by_earlier_releases_still_translate_without_their_digits(stored: str, zh: str) -> None:
    assert reason_zh(stored) == zh
    now = identity_module.current_reason(stored)  # and read in this release's words, without the digits
    assert now.startswith("id_number: ") and not any(ch.isdigit() for ch in now.replace("1900", ""))


def test_no_reason_quotes_digits_of_a_resident_id_number() -> None:
    """With the masked number's first and last four, a quoted birth date and region gave away all eighteen."""
    for value in ("31010419901332123", "31010418991231123", "99010119900307123", "31010420991231123"):
        got = check_ric(with_check(value), today=TODAY)
        assert not got.valid and got.reason is not None and got.reason_zh is not None
        for part in (value[:6], value[6:14]):  # region, birth date
            assert part not in got.reason and part not in got.reason_zh
