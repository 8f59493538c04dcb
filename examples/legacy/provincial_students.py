"""Build the example docked provincial student system (广西学籍系统, province 45).

A self-built provincial system with its own schema and codes, as such systems deliver them:
JY/T-style Chinese-pinyin column names, sex as 男/女 or 1/2, birth dates as YYYYMMDD text,
ethnicity as names, school types as names, and realistic defects: missing phones, invalid ID
numbers, an ethnicity written as an abbreviation, dates in another format, a student number
registered in two schools. Deterministic for a seed.

    python examples/legacy/provincial_students.py OUT.db [--students N] [--seed S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
from pathlib import Path

from hub.codes.divisions import province_divisions
from hub.demo.generate import Demo

PROVINCE = "45"
SCHEMA = """
CREATE TABLE XX_JBXX (          -- 学校基本信息
    XXDM TEXT PRIMARY KEY,      -- 学校标识码
    XXMC TEXT NOT NULL,         -- 学校名称
    BXLX TEXT,                  -- 办学类型 (as a name)
    SSQXDM TEXT,                -- 所在区县代码
    XXDZ TEXT,                  -- 学校地址
    XZXM TEXT                   -- 校长姓名
);
CREATE TABLE XS_JBXX (          -- 学生基本信息
    XJH TEXT PRIMARY KEY,       -- 学籍号 (G + 身份证号)
    XM TEXT,                    -- 姓名
    XBM TEXT,                   -- 性别 (男/女 or 1/2)
    CSRQ TEXT,                  -- 出生日期 YYYYMMDD
    SFZJH TEXT,                 -- 身份证件号
    MZM TEXT,                   -- 民族 (as a name)
    XXDM TEXT,                  -- 学校标识码
    NJ TEXT,                    -- 年级 (as a name)
    BJMC TEXT,                  -- 班级名称
    JTDZ TEXT,                  -- 家庭地址
    LXDH TEXT,                  -- 联系电话
    SFSQZN TEXT,                -- 是否随迁子女 (是/否)
    XJZT TEXT                   -- 学籍状态 (在读/休学)
);
CREATE INDEX ix_xs_xxdm ON XS_JBXX (XXDM);
"""
GRADES = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级(初一)")
SCHOOL_TYPES = ("小学", "小学", "小学", "初级中学", "九年一贯制学校")


def build(path: Path, students: int, seed: int) -> dict[str, int]:
    demo = Demo(students, seed, PROVINCE)
    rng = demo.rng
    counties = [
        d for d in province_divisions(PROVINCE) if d.level == "COUNTY" and d.name != "市辖区"
    ][:6]
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    connection.executescript(SCHEMA)
    schools: list[tuple[str, str]] = []
    for n in range(max(2, students // 400)):
        county = counties[n % len(counties)]
        code = f"41{PROVINCE}{n + 1:06d}"
        schools.append((code, county.code))
        connection.execute(
            "INSERT INTO XX_JBXX VALUES (?, ?, ?, ?, ?, ?)",
            (
                code,
                f"{county.name}第{n + 1}小学",
                rng.choice(SCHOOL_TYPES),
                county.code,
                f"广西壮族自治区{county.name}民族路{n + 1}号",
                demo.name(True),
            ),
        )
    defects = {"invalid_id": 0, "abbreviated_ethnicity": 0, "missing_phone": 0, "bad_date": 0}
    rows = []
    for i in range(students):
        school, county_code = schools[i % len(schools)]
        male = rng.random() < 0.52
        grade = rng.randrange(len(GRADES))
        birth = demo.birth_date(2026 - 7 - grade)
        number = demo.citizen_id(county_code, birth, male)
        id_number = number
        if rng.random() < 0.01:  # a wrong check character, as typed in by hand
            id_number = number[:17] + ("0" if number[17] != "0" else "1")
            defects["invalid_id"] += 1
        ethnicity = "汉族" if rng.random() < 0.6 else rng.choice(("壮族", "瑶族", "苗族"))
        if rng.random() < 0.01:
            ethnicity = "汉"  # an abbreviation the code set does not know
            defects["abbreviated_ethnicity"] += 1
        birth_text = birth.strftime("%Y%m%d")
        if rng.random() < 0.005:
            birth_text = birth.isoformat()  # another format in the same column
            defects["bad_date"] += 1
        phone: str | None = demo.phone()
        if rng.random() < 0.05:
            phone = None
            defects["missing_phone"] += 1
        sex = ("男" if male else "女") if rng.random() < 0.7 else ("1" if male else "2")
        rows.append(
            (
                "G" + number,
                demo.name(male),
                sex,
                birth_text,
                id_number,
                ethnicity,
                school,
                GRADES[grade],
                f"{GRADES[grade]}({rng.randint(1, 4)})班",
                f"广西壮族自治区{county_code}村{rng.randint(1, 99)}号",
                phone,
                "是" if rng.random() < 0.05 else "否",
                "在读" if rng.random() < 0.995 else "休学",
            )
        )
    connection.executemany("INSERT INTO XS_JBXX VALUES (" + ", ".join("?" * 13) + ")", rows)
    connection.commit()
    connection.close()
    return defects


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=45)
    args = parser.parse_args()
    started = dt.datetime.now()
    defects = build(args.out, args.students, args.seed)
    seconds = (dt.datetime.now() - started).total_seconds()
    print(f"wrote {args.students:,} students to {args.out} in {seconds:.1f}s; defects: {defects}")


if __name__ == "__main__":
    main()
