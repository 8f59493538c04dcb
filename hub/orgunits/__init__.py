"""The five-level administration tree: national, province, city, county, school (组织机构)."""
