"""eduhub: the application below GraphQL (settings, database, domains, access, demo data)."""

import sys

# The embedded database is a current SQLite where a wheel ships one (pysqlite3-binary,
# SQLite 3.51): the compiled read path nests JSON deeper than the 100-entry parser stack of
# older system builds allows (Debian 12's 3.40 refuses four nested lists). Elsewhere the
# system's sqlite3 serves, and a query too deep for it falls back to the resolvers.
try:
    import pysqlite3 as _sqlite3
except ImportError:  # pragma: no cover - platforms without the wheel
    pass
else:
    sys.modules["sqlite3"] = _sqlite3
    sys.modules["sqlite3.dbapi2"] = _sqlite3.dbapi2
