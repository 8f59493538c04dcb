"""Teachers and staff (教职工), DATA.md §4."""
