"""Data quality (数据质量): problem records (问题学籍) found by checks, and their handling."""
