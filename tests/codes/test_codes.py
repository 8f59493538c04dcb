"""Code sets: packaged data, labels, validation, divisions from python-stdnum."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.codes.divisions import all_divisions, division, province_divisions
from hub.codes.registry import UNKNOWN_LABEL, registry_from_packaged
from hub.errors import BadInput


def test_every_declared_code_set_has_members() -> None:
    registry = registry_from_packaged()
    assert len(registry.sets) >= 30
    for name in registry.sets:
        assert registry.members(name), name


def test_labels_of_national_standards() -> None:
    registry = registry_from_packaged()
    assert registry.label("sex", "2") == "女"
    assert registry.label("ethnicity", "01") == "汉族"
    assert registry.label("ethnicity", "56") == "基诺族"
    assert registry.label("danger_rating", "D") == "整幢危房(D级)"
    assert registry.label("school_type", "312") == "九年一贯制学校"
    assert registry.label("sex", "7") == UNKNOWN_LABEL


def test_asset_category_falls_back_to_its_class() -> None:
    registry = registry_from_packaged()
    assert registry.label("asset_category", "2010104") == "台式计算机"
    assert registry.label("asset_category", "2010199") == "计算机"
    assert registry.label("asset_category", "2099999") == "广播、电视、电影设备"
    assert registry.label("asset_category", "2990000") == "通用设备"
    assert registry.label("asset_category", "A020100") == "信息化设备(2022版)"


def test_require_says_what_is_wrong_and_where() -> None:
    registry = registry_from_packaged()
    assert registry.require("grade", "11", "filter.grade") == "11"
    with pytest.raises(BadInput, match=r"unknown code '19' for filter\.grade"):
        registry.require("grade", "19", "filter.grade")


def test_divisions_come_from_the_stdnum_table_with_current_names() -> None:
    tianhe = division("440106")
    assert tianhe is not None
    assert tianhe.name == "天河区"
    assert tianhe.level == "COUNTY"
    assert division("440000") is not None
    assert division("440000").name == "广东省"  # type: ignore[union-attr]
    assert len(all_divisions()) > 3000
    guangdong = province_divisions("44")
    assert all(d.current for d in guangdong)
    assert {"CITY", "COUNTY"} <= {d.level for d in guangdong}


def test_retired_codes_stay_resolvable() -> None:
    dongshan = division("440102")  # 东山区, merged into 越秀区 in 2005
    assert dongshan is not None
    assert dongshan.name == "东山区"
    assert not dongshan.current
    registry = registry_from_packaged()
    assert registry.label("division", "440102") == "东山区"


def test_citizen_id_check_agrees_with_stdnum() -> None:
    from stdnum.cn import ric

    from hub.codes.identity import citizen_id_problem

    valid = "440103201909030015"
    cases = [
        valid,
        valid[:17] + "9",  # wrong check character
        "44010320191332001" + ric.calc_check_digit("44010320191332001X"),  # month 13
        "99999920190903001" + ric.calc_check_digit("99999920190903001X"),  # no such place
        "44011520000903001" + ric.calc_check_digit("44011520000903001X"),  # 南沙区 from 2005
        "4401032019090300",
        "44010320190903001A",
    ]
    for number in cases:
        assert (citizen_id_problem(number) is None) == ric.is_valid(number), number
    assert citizen_id_problem(valid[:17] + "9") == "wrong check character"


def _with_check(first17: str) -> str:
    from stdnum.cn import ric

    return first17 + ric.calc_check_digit(first17 + "0")


def test_a_county_code_that_does_not_exist_is_a_reason_not_a_crash() -> None:
    # stdnum raises KeyError for 430199 (a county missing inside a known prefecture).
    from hub.codes.identity import citizen_id_problem

    number = _with_check("43019920100101123")
    assert citizen_id_problem(number) == "no such birthplace code in the birth year"


def test_lower_case_x_and_spaces_are_normalised() -> None:
    from hub.codes.identity import citizen_id_problem, normalise

    number = next(
        n for n in (_with_check(f"110105201001011{d:02d}") for d in range(100)) if n.endswith("X")
    )
    assert citizen_id_problem(f"  {number.lower()} ") is None
    assert normalise(f"  {number.lower()} ") == number


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=24),
        st.from_regex(r"\A[0-9]{17}[0-9Xx]\Z"),
        st.builds(
            lambda place, year, month, day, seq: _with_check(
                f"{place:06d}{year:04d}{month:02d}{day:02d}{seq:03d}"
            ),
            st.integers(0, 999_999),
            st.integers(1800, 2100),
            st.integers(0, 13),
            st.integers(0, 32),
            st.integers(0, 999),
        ),
    )
)
def test_no_input_crashes_the_citizen_id_check(number: str) -> None:
    from hub.codes.identity import citizen_id_problem

    problem = citizen_id_problem(number)
    assert problem is None or isinstance(problem, str)
