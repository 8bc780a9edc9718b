"""HubSpot CRM through `hubspot-api-client`: the §10 company update, timeline note and win-back
task, with HubSpot's answers translated into our vendor errors.

- The host of every API comes from `OFFBOARDING_HUBSPOT_API_BASE`: the client copies each
  config key onto each API's `Configuration` (`host` included), so tests reach the sandbox.
- urllib3 retries only connection failures here (nothing was sent); status answers are ours to
  classify: 429 → VendorThrottled with Retry-After, 5xx → VendorUnavailable, other 4xx →
  VendorRefused with HubSpot's `message`.
- A create (note, task) whose answer was lost (read timeout, dropped connection) may have
  happened: it raises `OutcomeUnknown`, which leaves the ledger row `calling`, so the next try
  after the lease reconciles (search for our key) instead of creating a second one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from hubspot import HubSpot
from hubspot.crm.companies import Filter, FilterGroup, PublicObjectSearchRequest
from hubspot.crm.companies import SimplePublicObjectInput as CompanyInput
from hubspot.crm.objects.notes import AssociationSpec as NoteSpec
from hubspot.crm.objects.notes import Filter as NoteFilter
from hubspot.crm.objects.notes import FilterGroup as NoteGroup
from hubspot.crm.objects.notes import PublicAssociationsForObject as NoteLink
from hubspot.crm.objects.notes import PublicObjectId as NoteTarget
from hubspot.crm.objects.notes import PublicObjectSearchRequest as NoteSearch
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteInput
from hubspot.crm.objects.tasks import AssociationSpec as TaskSpec
from hubspot.crm.objects.tasks import Filter as TaskFilter
from hubspot.crm.objects.tasks import FilterGroup as TaskGroup
from hubspot.crm.objects.tasks import PublicAssociationsForObject as TaskLink
from hubspot.crm.objects.tasks import PublicObjectId as TaskTarget
from hubspot.crm.objects.tasks import PublicObjectSearchRequest as TaskSearch
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate as TaskInput
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from offboarding.integrations.closeout_rules import (
    NOTE_TO_COMPANY,
    TASK_TO_COMPANY,
    carries_key,
)
from offboarding.integrations.errors import (
    VendorRefused,
    VendorUnavailable,
    classify_status,
)
from offboarding.integrations.settings import IntegrationSettings, integration_settings

VENDOR = "hubspot"
#: (connect, read) seconds for every call
TIMEOUT = (5.0, 30.0)
#: Pages of 100 searched newest first when reconciling; a lost create is minutes old.
RECONCILE_PAGES = 5
T = TypeVar("T")


class OutcomeUnknown(ConnectionError):
    """The request went out and its answer was lost: it may have taken effect. Transient for
    the task, but the ledger row stays `calling`, so the retry after the lease reconciles."""


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return str(getattr(exc, "reason", "") or exc.__class__.__name__)


def translate(exc: Exception, create: bool = False) -> Exception:
    """Our error for what the client raised (the original when it is not HubSpot's)."""
    status = getattr(exc, "status", None)
    if type(exc).__module__.startswith("hubspot.") and isinstance(status, int):
        if status == 0:  # the client's own: SSL failure, nothing answered
            return VendorUnavailable(VENDOR, _message(exc))
        headers = getattr(exc, "headers", None) or {}
        return classify_status(VENDOR, status, _message(exc), headers.get("Retry-After"))
    if isinstance(exc, MaxRetryError) and isinstance(
        exc.reason, NewConnectionError | ConnectTimeoutError
    ):
        return VendorUnavailable(VENDOR, f"no connection: {exc.reason}")
    if isinstance(exc, Urllib3Error):
        if create:
            return OutcomeUnknown(f"{VENDOR}: the answer was lost ({exc}); reconcile by key")
        return VendorUnavailable(VENDOR, f"connection dropped: {exc}")
    return exc


@contextmanager
def _translated(create: bool = False) -> Iterator[None]:
    try:
        yield
    except (VendorRefused, VendorUnavailable):
        raise
    except Exception as exc:
        mapped = translate(exc, create)
        if mapped is exc:
            raise
        raise mapped from exc


class HubSpotCRM:
    """The calls the close-out makes; each returns plain dicts for the ledger."""

    def __init__(self, access_token: str, base_url: str = "https://api.hubapi.com") -> None:
        retry = Retry(total=3, connect=3, read=0, status=0, redirect=0, other=0, backoff_factor=0.2)
        self.base_url = base_url.rstrip("/")
        self.client = HubSpot(access_token=access_token, host=self.base_url, retry=retry)

    @classmethod
    def from_settings(cls, settings: IntegrationSettings | None = None) -> HubSpotCRM:
        s = settings or integration_settings()
        return cls(s.hubspot_access_token, s.hubspot_api_base)

    def _call(self, fn: Callable[..., T], *args: Any, create: bool = False, **kw: Any) -> T:
        with _translated(create):
            return fn(*args, _request_timeout=TIMEOUT, **kw)

    # -- company ----------------------------------------------------------------------------
    def find_company(self, account_id: str) -> str:
        """The company whose `offboarding_account_id` is ours; exactly one, or a person looks."""
        search = PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[
                        Filter(
                            property_name="offboarding_account_id", operator="EQ", value=account_id
                        )
                    ]
                )
            ],
            properties=["name", "offboarding_account_id"],
            limit=2,
        )
        found = self._call(self.client.crm.companies.search_api.do_search, search).results
        if len(found) != 1:
            raise VendorRefused(
                VENDOR,
                f"{len(found)} companies have offboarding_account_id={account_id}; expected one "
                f"(set the property in HubSpot, or the account's external_ids.hubspot_company)",
                404 if not found else 409,
            )
        return str(found[0].id)

    def close_company(
        self, account_id: str, company_id: str | None, properties: dict[str, str]
    ) -> dict[str, Any]:
        """PATCH the churn properties: replay-safe (the same values again change nothing)."""
        cid = company_id or self.find_company(account_id)
        updated = self._call(
            self.client.crm.companies.basic_api.update, cid, CompanyInput(properties=properties)
        )
        return {"company_id": str(updated.id), "properties": sorted(properties)}

    # -- note -------------------------------------------------------------------------------
    def create_note(self, company_id: str, properties: dict[str, str]) -> dict[str, Any]:
        link = NoteLink(
            to=NoteTarget(id=company_id),
            types=[
                NoteSpec(
                    association_category="HUBSPOT_DEFINED", association_type_id=NOTE_TO_COMPANY
                )
            ],
        )
        made = self._call(
            self.client.crm.objects.notes.basic_api.create,
            NoteInput(properties=properties, associations=[link]),
            create=True,
        )
        return {"note_id": str(made.id), "company_id": company_id}

    def find_note(self, company_id: str, key: str) -> dict[str, Any] | None:
        api = self.client.crm.objects.notes.search_api.do_search
        hit = self._find(api, NoteSearch, NoteGroup, NoteFilter, company_id, "hs_note_body", key)
        return None if hit is None else {"note_id": hit, "company_id": company_id}

    # -- task -------------------------------------------------------------------------------
    def owner_id(self, email: str) -> str | None:
        """HubSpot's owner id for a person, by email (Owners API); None when not a user."""
        page = self._call(self.client.crm.owners.owners_api.get_page, email=email, limit=1)
        return str(page.results[0].id) if page.results else None

    def create_task(self, company_id: str, properties: dict[str, str]) -> dict[str, Any]:
        link = TaskLink(
            to=TaskTarget(id=company_id),
            types=[
                TaskSpec(
                    association_category="HUBSPOT_DEFINED", association_type_id=TASK_TO_COMPANY
                )
            ],
        )
        made = self._call(
            self.client.crm.objects.tasks.basic_api.create,
            TaskInput(properties=properties, associations=[link]),
            create=True,
        )
        return {
            "task_id": str(made.id),
            "company_id": company_id,
            "owner_id": properties.get("hubspot_owner_id"),
            "due": properties["hs_timestamp"],
        }

    def find_task(self, company_id: str, key: str) -> dict[str, Any] | None:
        api = self.client.crm.objects.tasks.search_api.do_search
        hit = self._find(api, TaskSearch, TaskGroup, TaskFilter, company_id, "hs_task_body", key)
        return None if hit is None else {"task_id": hit, "company_id": company_id}

    def _find(self, api, search, group, filt, company_id: str, body: str, key: str) -> str | None:  # noqa: ANN001
        """Our key in the newest notes/tasks of the company. Only the association filter is
        sent: HubSpot tokenises text for CONTAINS_TOKEN, and an exact key must not miss."""
        after = None
        for _ in range(RECONCILE_PAGES):
            request = search(
                filter_groups=[
                    group(
                        filters=[
                            filt(
                                property_name="associations.company",
                                operator="EQ",
                                value=company_id,
                            )
                        ]
                    )
                ],
                sorts=[{"propertyName": "hs_createdate", "direction": "DESCENDING"}],
                properties=[body],
                limit=100,
                after=after,
            )
            page = self._call(api, request)
            for obj in page.results:
                if carries_key((obj.properties or {}).get(body), key):
                    return str(obj.id)
            nxt = page.paging.next if page.paging else None
            if nxt is None:
                return None
            after = nxt.after
        raise VendorUnavailable(
            VENDOR,
            f"more than {RECONCILE_PAGES * 100} objects searched for {key}; a person must look",
        )


def check(settings: IntegrationSettings | None = None) -> str:
    """One read-only call (a page of one company): is the token accepted, where do we talk."""
    s = settings or integration_settings()
    if not s.hubspot_on:
        return "HubSpot: off (HUBSPOT_ACCESS_TOKEN not set; the CRM result stays in our database)"
    crm = HubSpotCRM.from_settings(s)
    try:
        page = crm._call(
            crm.client.crm.companies.basic_api.get_page,
            limit=1,
            properties=["offboarding_account_id"],
        )
    except (VendorRefused, VendorUnavailable) as exc:
        return f"HubSpot at {crm.base_url}: NOT working: {exc}"
    seen = "companies readable" if page.results else "token accepted, no companies yet"
    return f"HubSpot at {crm.base_url}: {seen}"
