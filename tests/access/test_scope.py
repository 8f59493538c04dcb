"""The scope seam: path prefixes as index ranges, and what they let through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.access.scope import Scope, path_is_under, path_upper_bound


def test_upper_bound_excludes_a_sibling_whose_code_extends_ours() -> None:
    prefix = "/CN/44/4401/440106/"
    upper = path_upper_bound(prefix)
    inside = "/CN/44/4401/440106/4144000001/"
    sibling = "/CN/44/4401/4401061/"  # a code that starts with ours: not in our subtree
    assert prefix <= inside < upper
    assert not (prefix <= sibling < upper)


def test_prefix_must_end_with_the_delimiter() -> None:
    with pytest.raises(ValueError, match="must end with"):
        path_upper_bound("/CN/44")


def test_empty_scope_allows_nothing() -> None:
    assert not Scope.nothing().allows("/CN/")
    assert not Scope.nothing().allows("/CN/44/")


def test_scope_drops_prefixes_covered_by_shorter_ones() -> None:
    scope = Scope.of(["/CN/44/4401/", "/CN/44/", "/CN/45/4501/"])
    assert scope.prefixes == ("/CN/44/", "/CN/45/4501/")


def test_intersect_with_under() -> None:
    county = Scope.of(["/CN/44/4401/440106/"])
    assert county.intersect("/CN/44/").prefixes == ("/CN/44/4401/440106/",)
    assert county.intersect("/CN/44/4401/440106/4144000001/").prefixes == (
        "/CN/44/4401/440106/4144000001/",
    )
    assert county.intersect("/CN/44/4401/440111/").prefixes == ()


segment = st.text(alphabet="0123456789", min_size=1, max_size=4)
paths = st.lists(segment, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts) + "/")


@given(paths, paths)
def test_range_condition_equals_prefix_check(prefix: str, path: str) -> None:
    """The SQL range (path >= p AND path < upper(p)) selects exactly the paths under p."""
    in_range = prefix <= path < path_upper_bound(prefix)
    assert in_range == path_is_under(path, prefix)
