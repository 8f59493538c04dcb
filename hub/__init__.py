"""eduhub: the application below GraphQL (settings, database, domains, access, demo data)."""
