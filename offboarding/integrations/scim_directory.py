"""The product's user directory over SCIM 2.0 (RFC 7644), through `scim2-client` over httpx.

Which users belong to an account: the filter `externalId sw "<account_id>:"` — the product
provisions each user with `externalId = "<account_id>:<login>"`, so one prefix filter finds
them all (paginated with startIndex/count). At access reduction (§5 day 8) each is
deactivated (`PATCH /Users/{id}`, a PatchOp replacing `active` with false); at deactivation
(§10) each is deleted (`DELETE /Users/{id}`; a 404 means it is already gone). Both are
replay-safe: made again, they leave the directory as it was.

scim2-client's exceptions become ours: 429 → VendorThrottled (Retry-After), 5xx/network →
VendorUnavailable, any other 4xx → VendorRefused with the SCIM error's `detail`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from scim2_client import BaseSyncSCIMClient, RequestNetworkException, SCIMClientException
from scim2_models import (
    EnterpriseUser,
    ListResponse,
    PatchOp,
    PatchOperation,
    ResourceType,
    SCIMException,
    ScimProvider,
    SearchRequest,
    User,
)

from offboarding.integrations.errors import VendorUnavailable, classify_status
from offboarding.integrations.settings import integration_settings

VENDOR = "scim"
PAGE_SIZE = 100
TIMEOUT = 15.0


def account_filter(account_id: str) -> str:
    """The SCIM filter for the account's users (quotes escaped per RFC 7644 §3.4.2.2)."""
    return 'externalId sw "{}:"'.format(account_id.replace("\\", "\\\\").replace('"', '\\"'))


@dataclass(frozen=True)
class DirectoryUser:
    id: str
    user_name: str
    active: bool


class HttpxSCIMClient(BaseSyncSCIMClient):
    """scim2-client's sync engine over an `httpx.Client` (its bundled engine needs httpx2)."""

    def __init__(self, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        same = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
        return bool(base.is_absolute_url and same and url.raw_path.startswith(base.raw_path))

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            err = RequestNetworkException()
            err.add_note(str(exc))
            raise err from exc


class ScimDirectory:
    """One SCIM service provider; `with ScimDirectory(url, token) as d: d.users_of(...)`."""

    def __init__(self, base_url: str, token: str, timeout: float = TIMEOUT) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"},
            timeout=timeout,
        )
        provider = ScimProvider(
            models=[User, EnterpriseUser],
            resource_types=[ResourceType.from_resource(User[EnterpriseUser])],
        )
        self._scim = HttpxSCIMClient(self._http, provider=provider)  # fmt: skip

    def __enter__(self) -> ScimDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def users_of(self, account_id: str) -> list[DirectoryUser]:
        """Every user of the account, following the pages until totalResults."""
        users: list[DirectoryUser] = []
        start = 1
        while True:
            query = SearchRequest(filter=account_filter(account_id), startIndex=start,
                                  count=PAGE_SIZE)  # fmt: skip
            with _translated():
                page = self._scim.query(User[EnterpriseUser], query_parameters=query)
            assert isinstance(page, ListResponse)
            got = page.resources or []
            users += [DirectoryUser(u.id, u.user_name, bool(u.active)) for u in got]
            start += len(got)
            if not got or start > (page.total_results or 0):
                return users

    def deactivate(self, user_id: str) -> dict[str, Any]:
        """PATCH replace active=false (RFC 7644 §3.5.2.3); the user as the directory has it."""
        op = PatchOp[User](operations=[PatchOperation(op="replace", path="active", value=False)])
        with _translated():
            user = self._scim.modify(User, user_id, op)
        active = getattr(user, "active", False)
        return {"user_id": user_id, "active": bool(active), "status": 200 if user else 204}

    def delete(self, user_id: str) -> dict[str, Any]:
        """DELETE /Users/{id}; a 404 counts as done (it is gone, perhaps by our earlier try)."""
        try:
            with _translated():
                self._scim.delete(User, user_id)
        except Exception as exc:  # noqa: BLE001 - re-raised unless it is the 404
            if getattr(exc, "status", None) != 404:
                raise
            return {"user_id": user_id, "deleted": True, "status": 404}
        return {"user_id": user_id, "deleted": True, "status": 204}

    def service_provider_config(self) -> dict[str, Any]:
        r = self._http.get("ServiceProviderConfig")
        if r.status_code >= 400:
            raise classify_status(VENDOR, r.status_code, _detail(r), r.headers.get("Retry-After"))
        return r.json()


@contextmanager
def _translated() -> Iterator[None]:
    """scim2-client's and scim2-models' exceptions as the integration core's."""
    try:
        yield
    except RequestNetworkException as exc:
        raise VendorUnavailable(VENDOR, f"no answer: {'; '.join(exc.__notes__ or [])}") from exc
    except (SCIMClientException, SCIMException) as exc:
        response = getattr(exc, "source", None)
        if not isinstance(response, httpx.Response):
            raise
        raise classify_status(VENDOR, response.status_code, _detail(response),
                              response.headers.get("Retry-After")) from exc  # fmt: skip


def _detail(response: httpx.Response) -> str:
    """The SCIM error's `detail` (RFC 7644 §3.12), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])[:500]
    return str(body)[:300]


def directory() -> ScimDirectory:
    s = integration_settings()
    return ScimDirectory(s.scim_base_url, s.scim_token)


def check() -> str:
    """One read-only call: the service provider's configuration."""
    s = integration_settings()
    if not s.scim_on:
        return "SCIM: off (set OFFBOARDING_SCIM_URL and OFFBOARDING_SCIM_TOKEN)"
    with directory() as d:
        cfg = d.service_provider_config()
    patch = (cfg.get("patch") or {}).get("supported")
    flt = (cfg.get("filter") or {}).get("supported")
    return f"SCIM: {s.scim_base_url} answers; patch supported={patch}, filter supported={flt}"
