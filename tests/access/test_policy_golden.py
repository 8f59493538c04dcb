"""Golden table of Casbin decisions: for a grant at each level, what it allows at its own
unit, a child, a sibling, its parent and another province, for every action."""

from __future__ import annotations

from pathlib import Path

import casbin
import pytest

from hub.access.policy import ACTIONS, POLICY_DIR, Assignment, AssignmentAdapter, build_enforcer

# Paths of a small tree: province 44 with city 4401 (counties 440103, 440104 and school
# 4144000001 in 440103), and province 45.
PATHS = {
    "national": "/CN/",
    "province": "/CN/44/",
    "city": "/CN/44/4401/",
    "county": "/CN/44/4401/440103/",
    "school": "/CN/44/4401/440103/4144000001/",
}
CHILD = {
    "national": "/CN/44/",
    "province": "/CN/44/4401/",
    "city": "/CN/44/4401/440103/",
    "county": "/CN/44/4401/440103/4144000001/",
    "school": "/CN/44/4401/440103/4144000001/",  # a school has no child unit: itself
}
SIBLING = {
    "national": None,
    "province": "/CN/45/",
    "city": "/CN/44/4402/",
    "county": "/CN/44/4401/440104/",
    "school": "/CN/44/4401/440103/4144000002/",
}
PARENT = {
    "national": None,
    "province": "/CN/",
    "city": "/CN/44/",
    "county": "/CN/44/4401/",
    "school": "/CN/44/4401/440103/",
}
OTHER_PROVINCE = "/CN/45/4501/450102/4145000001/"

# What each role may do at its own unit and below (policies/policy.csv), per resource.
ALLOWED = {
    "registrar": {
        ("org_unit", "read"),
        ("school", "read"),
        ("school", "export"),
        ("student", "read"),
        ("student", "write"),
        ("student", "approve"),
        ("student", "export"),
        ("student_sensitive", "unmask"),
        ("teacher", "read"),
    },
    "viewer": {
        ("org_unit", "read"),
        ("school", "read"),
        ("student", "read"),
        ("teacher", "read"),
        ("building", "read"),
        ("asset", "read"),
    },
}
RESOURCES = (
    "school",
    "student",
    "student_sensitive",
    "teacher",
    "building",
    "grants",
    "audit",
    "export",
)


@pytest.mark.parametrize("level", list(PATHS))
@pytest.mark.parametrize("role", ["registrar", "viewer"])
def test_golden_decisions(level: str, role: str) -> None:
    user = f"{level}.{role}"
    enforcer = build_enforcer([Assignment(user, role, PATHS[level])])
    allowed = ALLOWED[role]
    for resource in RESOURCES:
        for action in ACTIONS:
            expected = (resource, action) in allowed
            where = f"{role} at {level}: {resource}/{action}"
            assert enforcer.enforce(user, PATHS[level], resource, action) == expected, where
            assert enforcer.enforce(user, CHILD[level], resource, action) == expected, where
            if SIBLING[level] is not None:
                assert not enforcer.enforce(user, SIBLING[level], resource, action), where
            if PARENT[level] is not None:
                assert not enforcer.enforce(user, PARENT[level], resource, action), where
            national = level == "national"
            assert enforcer.enforce(user, OTHER_PROVINCE, resource, action) == (
                national and expected
            ), where


def test_administrator_may_grant_and_auditor_may_only_read_the_log() -> None:
    enforcer = build_enforcer(
        [
            Assignment("a", "administrator", "/CN/44/4401/"),
            Assignment("u", "auditor", "/CN/44/"),
            Assignment("s", "statistician", "/CN/44/"),
        ]
    )
    assert enforcer.enforce("a", "/CN/44/4401/440103/", "grants", "grant")
    assert not enforcer.enforce("a", "/CN/44/", "grants", "grant")
    assert enforcer.enforce("u", "/CN/44/4401/", "audit", "read")
    assert not enforcer.enforce("u", "/CN/44/4401/", "student", "read")
    assert enforcer.enforce("s", "/CN/44/4401/", "student", "export")
    assert not enforcer.enforce("s", "/CN/44/4401/", "student_sensitive", "unmask")
    # Exports: the statistician takes any domain out; only the administrator approves.
    for resource in ("student", "teacher", "school", "building", "asset"):
        assert enforcer.enforce("s", "/CN/44/4401/", resource, "export"), resource
    assert not enforcer.enforce("s", "/CN/44/4401/", "export", "approve")
    assert enforcer.enforce("a", "/CN/44/4401/440103/", "export", "approve")
    assert not enforcer.enforce("a", "/CN/44/", "export", "approve")


def test_a_code_that_extends_another_is_not_below_it() -> None:
    """Path-prefix collision: a grant at 440103 must not cover a unit coded 4401031."""
    enforcer = build_enforcer([Assignment("r", "registrar", "/CN/44/4401/440103/")])
    assert enforcer.enforce("r", "/CN/44/4401/440103/", "student", "read")
    assert not enforcer.enforce("r", "/CN/44/4401/4401031/", "student", "read")
    assert not enforcer.enforce("r", "/CN/44/4401/4401031/4144000009/", "student", "read")


def test_no_grant_means_nothing() -> None:
    enforcer = build_enforcer([])
    for resource in RESOURCES:
        assert not enforcer.enforce("nobody", "/CN/", resource, "read")


def test_decisions_are_cached_per_principal_until_its_grants_change() -> None:
    """A second request of the same principal asks Casbin nothing; a principal whose grants
    changed (a new key) is decided afresh, and the answer follows the new grant."""
    from hub.access.policy import Access
    from hub.access.principal import Principal

    enforcer = build_enforcer([Assignment("cache.user", "viewer", "/CN/44/")])
    calls: list[tuple[object, ...]] = []
    enforce = enforcer.enforce

    def counting(*args: object) -> bool:
        calls.append(args)
        return bool(enforce(*args))

    enforcer.enforce = counting
    grants = (Assignment("cache.user", "viewer", "/CN/44/"),)
    principal = Principal("cache.user", "44", "/CN/44/", "PROVINCE", grants)
    assert Access(enforcer, principal).scope("student", "read").prefixes == ("/CN/44/",)
    asked = len(calls)
    assert asked == 1
    assert Access(enforcer, principal).scope("student", "read").prefixes == ("/CN/44/",)
    assert not Access(enforcer, principal).scope("student_sensitive", "unmask").prefixes
    assert len(calls) == asked + 1  # only the new (resource, action) was asked
    enforcer.add_grouping_policy("cache.user", "registrar", "/CN/45/*")
    promoted = Principal(
        "cache.user",
        "44",
        "/CN/44/",
        "PROVINCE",
        (*grants, Assignment("cache.user", "registrar", "/CN/45/")),
    )
    assert Access(enforcer, promoted).scope("student_sensitive", "unmask").prefixes == ("/CN/45/",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("p, viewer, staff, read", "unknown resource 'staff'"),
        ("p, viewer, teacher, peek", "unknown action 'peek'"),
        ("p, janitor, teacher, read", "unknown role 'janitor'"),
        ("p, viewer, teacher", "expected 'p, ROLE, RESOURCE, ACTION'"),
    ],
)
def test_a_policy_file_naming_what_the_hub_does_not_know_is_refused(
    tmp_path: Path, line: str, message: str
) -> None:
    policy = tmp_path / "policy.csv"
    policy.write_text("# comment\np, viewer, student, read\n" + line + "\n", encoding="utf-8")
    adapter = AssignmentAdapter(policy, [])
    with pytest.raises(ValueError, match=f"policy.csv:3: {message}"):
        casbin.Enforcer(str(POLICY_DIR / "model.conf"), adapter)
