"""Global IDs (hub/ids.py): the encoding every path shares (the compiled read path encodes
audited subjects' ids in Python, the resolvers theirs) is base64url of ``Type:pk`` without
padding, and decodes back."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from hub.ids import decode_id, encode_id

TYPES = st.sampled_from(["Student", "Guardian", "School", "Teacher", "Building", "Asset", "A"])


@given(TYPES, st.integers(min_value=0, max_value=2**63 - 1))
def test_global_ids_are_unpadded_base64url_and_decode_back(type_name: str, pk: int) -> None:
    global_id = encode_id(type_name, pk)
    expected = base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")
    assert global_id == expected
    assert "=" not in global_id and "+" not in global_id and "/" not in global_id
    assert decode_id(global_id) == (type_name, pk)
