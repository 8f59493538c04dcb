"""Access: who is asking (``Principal``) and what they may see (``Scope``).

Every list, load by key, count and aggregate goes through ``Scope.restrict``: the one seam
where the access layer (Casbin grants turned into path prefixes) plugs in.
"""
