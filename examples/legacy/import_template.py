"""Write the example national import template (学生信息导入模板) a school sends as a file,
as .xlsx (sheet 学生信息) or .csv, with the template's Chinese column titles.

    python -m examples.legacy.import_template OUT.xlsx [--students N] [--school CODE]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from hub.demo.generate import Demo

COLUMNS = (
    "学籍号",
    "姓名",
    "性别",
    "出生日期",
    "身份证件类型",
    "身份证件号",
    "民族",
    "年级",
    "班级",
    "学校标识码",
    "联系电话",
    "家庭住址",
    "是否随迁子女",
)
GRADES = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")


def template_rows(students: int, school: str, seed: int = 11) -> list[list[object]]:
    demo = Demo(students, seed, "45")
    rng = demo.rng
    rows: list[list[object]] = []
    for _ in range(students):
        male = rng.random() < 0.5
        grade = rng.randrange(len(GRADES))
        birth = demo.birth_date(2026 - 7 - grade)
        number = demo.citizen_id("450102", birth, male)
        rows.append(
            [
                "G" + number,
                demo.name(male),
                "男" if male else "女",
                birth.strftime("%Y%m%d"),
                "居民身份证",
                number,
                "壮族" if rng.random() < 0.3 else "汉族",
                GRADES[grade],
                f"{GRADES[grade]}(1)班",
                school,
                demo.phone(),
                "广西壮族自治区南宁市兴宁区",
                "否",
            ]
        )
    return rows


def write_template(
    path: Path, rows: list[list[object]], columns: tuple[str, ...] = COLUMNS
) -> None:
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)
        return
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "学生信息"
    sheet.append(list(columns))
    for row in rows:
        sheet.append(row)
    workbook.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--school", default="4145000001")
    args = parser.parse_args()
    write_template(args.out, template_rows(args.students, args.school))
    print(f"wrote {args.students} students of school {args.school} to {args.out}")


if __name__ == "__main__":
    main()
