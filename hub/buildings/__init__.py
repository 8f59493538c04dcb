"""School buildings (校舍) with seismic data and danger appraisals, DATA.md §6."""
