"""How each field is fetched: scope-aware statements and per-request DataLoaders.

Resolvers return database rows (``Row``, column selects, never ORM entities) and pages of
rows; the schema layer turns them into GraphQL types. One module per domain.
"""
