"""The in-memory CRM behind `HubSpotSandbox`: objects, associations, owners, and HubSpot's
validation and search semantics (split from the HTTP side to keep both readable)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

OFFBOARDING_COMPANY_PROPERTIES = {
    "offboarding_account_id",
    "offboarding_status",
    "offboarding_churn_reason",
    "offboarding_churn_tags",
    "offboarding_churn_date",
    "offboarding_arr_closed",
    "offboarding_mrr_closed",
    "offboarding_currency",
    "offboarding_case_id",
    "offboarding_competitor",
    "offboarding_winback_candidate",
    "offboarding_winback_remind_on",
}
SCHEMA: dict[str, set[str]] = {
    "companies": {
        "name",
        "domain",
        "lifecyclestage",
        "hubspot_owner_id",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }
    | OFFBOARDING_COMPANY_PROPERTIES,
    "notes": {
        "hs_timestamp",
        "hs_note_body",
        "hubspot_owner_id",
        "hs_object_id",
        "hs_createdate",
        "hs_lastmodifieddate",
    },
    "tasks": {
        "hs_timestamp",
        "hs_task_subject",
        "hs_task_body",
        "hs_task_status",
        "hs_task_priority",
        "hs_task_type",
        "hubspot_owner_id",
        "hs_object_id",
        "hs_createdate",
        "hs_lastmodifieddate",
    },
}
ENUMS = {
    "offboarding_status": {"active", "churned"},
    "offboarding_winback_candidate": {"true", "false"},
    "hs_task_status": {"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"},
    "hs_task_priority": {"LOW", "MEDIUM", "HIGH"},
    "hs_task_type": {"TODO", "CALL", "EMAIL"},
}
DATES = {"offboarding_churn_date", "offboarding_winback_remind_on"}
REQUIRED = {"notes": {"hs_timestamp"}, "tasks": {"hs_timestamp"}}
#: (from type, to type) → the HUBSPOT_DEFINED association type id
ASSOCIATION_TYPES = {("notes", "companies"): 190, ("tasks", "companies"): 192}
CREATED = {"companies": "createdate", "notes": "hs_createdate", "tasks": "hs_createdate"}


def error_body(message: str, category: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class HubSpotError(Exception):
    def __init__(self, status: int, message: str, category: str = "VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.status, self.message, self.category = status, message, category


class CrmStore:
    """Companies, notes and tasks by id; associations to companies; owners."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in SCHEMA}
        #: The portal's properties; a test drops one to play a portal that lacks it.
        self.schema = {t: set(names) for t, names in SCHEMA.items()}
        self.assoc: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
        self.owners: list[dict[str, Any]] = []
        self._ids = iter(range(10_001, 10**9))

    def add_owner(self, email: str, first: str = "", last: str = "") -> str:
        owner_id = str(next(self._ids))
        self.owners.append(
            {
                "id": owner_id,
                "email": email.lower(),
                "firstName": first,
                "lastName": last,
                "userId": int(owner_id) + 1,
                "createdAt": _now(),
                "updatedAt": _now(),
                "archived": False,
                "teams": [],
            }
        )
        return owner_id

    def create(self, t: str, props: dict[str, Any], assocs: list[dict[str, Any]]) -> dict:
        props = {k: "" if v is None else str(v) for k, v in props.items()}
        self._validate(t, props, creating=True)
        links = [self.association(t, a) for a in assocs]
        oid, now = str(next(self._ids)), _now()
        props.update({"hs_object_id": oid, CREATED[t]: now, "hs_lastmodifieddate": now})
        obj = {
            "id": oid,
            "properties": props,
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
        }
        self.objects[t][oid] = obj
        self.assoc[(t, oid)] = links
        return obj

    def association(self, t: str, a: dict[str, Any]) -> tuple[str, str, int]:
        to_id = str((a.get("to") or {}).get("id", ""))
        if to_id not in self.objects["companies"]:
            raise HubSpotError(
                400,
                f"One or more associations are invalid: object {to_id} "
                f"of type COMPANY does not exist",
            )
        for spec in a.get("types") or [{}]:
            wanted = ASSOCIATION_TYPES.get((t, "companies"))
            if spec.get("associationCategory") != "HUBSPOT_DEFINED" or (
                spec.get("associationTypeId") != wanted
            ):
                raise HubSpotError(
                    400,
                    f"invalid association type {spec!r} from {t} to "
                    f"companies; expected HUBSPOT_DEFINED {wanted}",
                )
        return ("companies", to_id, ASSOCIATION_TYPES[(t, "companies")])

    def _validate(self, t: str, props: dict[str, str], creating: bool) -> None:
        problems = []
        for name, value in props.items():
            if name not in self.schema[t]:
                problems.append(
                    (name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
            elif name in ENUMS and value and value not in ENUMS[name]:
                problems.append(
                    (
                        name,
                        "INVALID_OPTION",
                        f"{value} was not one of the allowed options: {sorted(ENUMS[name])}",
                    )
                )
            elif name in DATES and value and not _is_date(value):
                problems.append((name, "INVALID_DATE", f"{value} is not a valid date"))
            elif (
                name == "hubspot_owner_id"
                and value
                and not any(o["id"] == value for o in self.owners)
            ):
                problems.append((name, "INVALID_OWNER_ID", f"{value} is not a valid owner id"))
        for name in REQUIRED.get(t, set()) if creating else set():
            if not props.get(name):
                problems.append((name, "REQUIRED_PROPERTY", f'Property "{name}" is required'))
        if problems:
            detail = [
                {"isValid": False, "message": m, "error": e, "name": n} for n, e, m in problems
            ]
            raise HubSpotError(400, f"Property values were not valid: {json.dumps(detail)}")

    def view(self, t: str, obj: dict, wanted: list[str] | None, with_assoc: bool) -> dict:
        props = obj["properties"]
        keys = set(wanted) if wanted else set(props)
        keys |= {"hs_object_id", CREATED[t], "hs_lastmodifieddate"}
        out = {**obj, "properties": {k: props.get(k) for k in sorted(keys)}}
        if with_assoc:
            links = self.assoc.get((t, obj["id"]), [])
            out["associations"] = {
                "companies": {
                    "results": [{"id": i, "type": f"{t[:-1]}_to_company"} for _, i, _ in links]
                }
            }
        return out

    def _get(self, t: str, oid: str) -> dict[str, Any]:
        obj = self.objects[t].get(oid)
        if obj is None:
            raise HubSpotError(404, "resource not found", "OBJECT_NOT_FOUND")
        return obj

    def _patch(self, t: str, oid: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = self._get(t, oid)
        props = {k: "" if v is None else str(v) for k, v in (body.get("properties") or {}).items()}
        self._validate(t, props, creating=False)
        obj["properties"].update(props)
        obj["updatedAt"] = obj["properties"]["hs_lastmodifieddate"] = _now()
        return self.view(t, obj, list(props), False)

    def _search(self, t: str, body: dict[str, Any]) -> dict[str, Any]:
        limit = int(body.get("limit") or 10)
        if limit > 200:
            raise HubSpotError(400, "limit must be at most 200")
        groups = body.get("filterGroups") or []
        found = [
            o
            for o in self.objects[t].values()
            if not groups or any(self._matches(t, o, g.get("filters") or []) for g in groups)
        ]
        for s in (body.get("sorts") or [])[:1]:
            name = s if isinstance(s, str) else s.get("propertyName", "")
            desc = s.startswith("-") if isinstance(s, str) else s.get("direction") == "DESCENDING"
            name = name.lstrip("-")
            found.sort(key=lambda o: (o["properties"].get(name) or "", int(o["id"])), reverse=desc)
        start = int(body.get("after") or 0)
        page = found[start : start + limit]
        out: dict[str, Any] = {
            "total": len(found),
            "results": [self.view(t, o, body.get("properties"), False) for o in page],
        }
        if start + limit < len(found):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return out

    def _matches(self, t: str, obj: dict, filters: list[dict[str, Any]]) -> bool:
        for f in filters:
            name, op, value = f.get("propertyName", ""), f.get("operator", "EQ"), f.get("value")
            if name.startswith("associations."):
                ids = {i for _, i, _ in self.assoc.get((t, obj["id"]), [])}
                have: str | None = str(value) if str(value) in ids else None
            else:
                have = obj["properties"].get(name)
            text, v = (have or "").lower(), str(value or "").lower()
            ok = {
                "EQ": have is not None and text == v,
                "NEQ": text != v,
                "HAS_PROPERTY": bool(have),
                "NOT_HAS_PROPERTY": not have,
                "CONTAINS_TOKEN": v.strip("*") in text,
                "NOT_CONTAINS_TOKEN": v.strip("*") not in text,
                "IN": text in {str(x).lower() for x in f.get("values") or []},
            }.get(op)
            if ok is None:
                raise HubSpotError(400, f"unsupported operator {op}")
            if not ok:
                return False
        return True

    def owners_page(self, q: dict[str, list[str]]) -> dict[str, Any]:
        email = (q.get("email") or [""])[0].lower()
        rows = [o for o in self.owners if not email or o["email"] == email]
        limit, start = int((q.get("limit") or ["100"])[0]), int((q.get("after") or ["0"])[0])
        out: dict[str, Any] = {"results": rows[start : start + limit]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return out

    def route(self, method: str, path: str, q: dict, body: Any) -> tuple[int, Any]:
        if re.fullmatch(r"/crm/v3/owners/?", path) and method == "GET":
            return 200, self.owners_page(q)
        m = re.fullmatch(r"/crm/v3/objects/(companies|notes|tasks)(?:/([^/]+))?", path)
        if not m:
            raise HubSpotError(404, f"no route for {method} {path}", "OBJECT_NOT_FOUND")
        t, rest = m.group(1), m.group(2)
        body = body if isinstance(body, dict) else {}
        if rest == "search" and method == "POST":
            return 200, self._search(t, body)
        if rest is None and method == "POST":
            obj = self.create(t, dict(body.get("properties") or {}), body.get("associations") or [])
            return 201, self.view(t, obj, None, False)
        if rest is None and method == "GET":
            wanted = ",".join(q.get("properties") or []).split(",") if q.get("properties") else None
            return 200, self._search(
                t,
                {
                    "limit": (q.get("limit") or ["10"])[0],
                    "after": (q.get("after") or ["0"])[0],
                    "properties": wanted,
                },
            )
        if rest and method == "GET":
            wanted = ",".join(q.get("properties") or []).split(",") if q.get("properties") else None
            return 200, self.view(t, self._get(t, rest), wanted, False)
        if rest and method == "PATCH":
            return 200, self._patch(t, rest, body)
        raise HubSpotError(405, f"{method} is not allowed on {path}", "METHOD_NOT_ALLOWED")


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return value.isdigit()  # epoch milliseconds at midnight UTC
    return len(value) == 10
