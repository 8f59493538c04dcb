"""How sensitive values look to a viewer who may not unmask them (脱敏).

The same query shape serves every level: a masked field returns a masked value of the same
type, never an error. The policy (written out in ``policies/README.md``) is chosen so that no
combination of the fields a masked viewer can read determines a masked value:

- Identity numbers (citizen IDs, passports, …) show **no character** of the value: a fixed
  mask. Birthplace, birth date and sex are readable, so any visible digit of a citizen ID
  (the old ``440103********0015``) narrowed it to one candidate.
- A national student number that embeds a citizen ID (``G`` + ID) is masked the same way;
  ``L``/``J`` numbers embed no ID and stay readable.
- Phones keep the operator prefix and the last four digits (``138****5678``, GB/T 35273
  practice): the four hidden digits are not held by any other readable field.
- Addresses keep their first six characters (province and city, readable from the school
  anyway); e-mail addresses keep only their domain.
- Health and disability are one fixed masked code whatever the value, absent values included
  (a masked value that appeared only for pupils with a disability would reveal it), and the
  yes/no of inclusive education is null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

MASKED_LABEL = "已脱敏"
MASKED_CODE = "*"
ID_MASK = "*" * 18


def mask_id(value: str) -> str:
    """Any identity number -> ``******************`` (nothing of the value, not its length)."""
    return ID_MASK


def embeds_id(student_number: str) -> bool:
    """A ``G`` number is ``G`` + the citizen ID (DATA.md §2)."""
    return student_number.startswith("G")


def mask_student_number(value: str) -> str:
    """``G440106201509021234`` -> ``G******************``; ``L``/``J`` numbers unchanged."""
    return "G" + ID_MASK if embeds_id(value) else value


def mask_phone(value: str) -> str:
    """``13812345678`` -> ``138****5678``; short numbers entirely."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_text(value: str) -> str:
    """Addresses and other text: the first six characters (province and city), then ****."""
    return value[:6] + "****" if len(value) > 6 else "****"


def mask_email(value: str) -> str:
    """``zhang.san@example.cn`` -> ``****@example.cn``: the local part names a person."""
    _local, at, domain = value.rpartition("@")
    return "****@" + domain if at else "****"


def mask_code(value: str) -> str:
    """A sensitive coded value (health, disability) or flag: one mask whatever the value."""
    return MASKED_CODE


# Hub fields of the entities a source maps that are sensitive, with the resource whose
# ``unmask`` reveals them and their mask: a mapping report lists raw source values of
# fields, and those of these fields are masked like the fields themselves.
SENSITIVE_FIELDS: dict[str, tuple[str, dict[str, Callable[[str], str]]]] = {
    "student": (
        "student_sensitive",
        {
            "id_number": mask_id,
            "student_number": mask_student_number,
            "former_number": mask_student_number,
            "phone": mask_phone,
            "email": mask_email,
            "home_address": mask_text,
            "current_address": mask_text,
            "mailing_address": mask_text,
            "health_code": mask_code,
            "disability_code": mask_code,
            "inclusive_education": mask_code,
        },
    ),
}


def sensitive_values(entity: str, values: Mapping[str, Any]) -> bool:
    """Whether ``values`` (model field names of ``entity``) hold a value its mask changes."""
    masks = SENSITIVE_FIELDS[entity][1] if entity in SENSITIVE_FIELDS else {}
    return any(
        v is not None and k in masks and masks[k](str(v)) != str(v) for k, v in values.items()
    )


def masked_values(entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with ``entity``'s sensitive fields masked: field values read outside the
    entity's own GraphQL fields (a change log entry, a proposed correction, a change
    request), masked as the fields themselves are."""
    masks = SENSITIVE_FIELDS[entity][1] if entity in SENSITIVE_FIELDS else {}
    return {k: masks[k](str(v)) if v is not None and k in masks else v for k, v in values.items()}
