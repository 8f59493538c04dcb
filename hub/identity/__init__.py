"""National student numbers (全国学籍号): issuing permanent numbers."""
