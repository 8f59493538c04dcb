"""Code sets: packaged data, labels, validation, divisions from python-stdnum."""

from __future__ import annotations

import pytest

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
