"""The change log (变更记录): every insert, update and delete of the store, for the change feed."""
