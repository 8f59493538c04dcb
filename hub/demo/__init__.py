"""A realistic demo province (演示数据): real division codes, valid citizen IDs, schools of
mixed types, realistic class sizes, staff ratios, building appraisals and assets.
Deterministic for a seed."""
