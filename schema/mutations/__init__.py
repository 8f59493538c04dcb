"""Mutations on student records and problem records, one per module; each is thin: it
decodes its input, calls a service (``hub/<domain>/service.py``) and reports errors as data.
One mutation per operation: each is one transaction (``schema.transaction``)."""
