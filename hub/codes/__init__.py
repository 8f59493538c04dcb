"""Code sets (代码集): coded values with Chinese labels, kept as data.

The packaged CSV files under ``data/`` are the default values; ``eduhub codes load`` (run by
``eduhub demo`` and on first start) copies them into the ``code_value`` table, which is what
the running hub reads, so a wrong or missing value is corrected as data, not code.
Administrative divisions (GB/T 2260) come from python-stdnum's table (``hub.codes.divisions``).
"""
