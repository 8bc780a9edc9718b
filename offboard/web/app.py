"""The web service: decision pages behind signed, single-use, expiring links. A GET only
shows; only the POST of the form acts. OpenAPI at /docs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from offboard.service.decision_pages import decision_outcome, open_decision, prepare_decision
from offboard.web.deliveries import deliver, delivery_error, outcome_within
from offboard.web.inbound import router as inbound_router
from offboard.web.intake import router as intake_router
from offboarding.cases.store import OffboardingError

PAGES = Path(__file__).resolve().parents[2] / "templates" / "pages"
_env = Environment(loader=FileSystemLoader(str(PAGES)), autoescape=select_autoescape())
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


def _page(status: int = 200, **ctx: object) -> HTMLResponse:
    html = _env.get_template("decision.html.j2").render(**ctx)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def usage_chart(weekly: list[int], width: int = 240, height: int = 40) -> dict | None:
    """The karte's weekly usage as the bars of a small inline SVG (no script, no request)."""
    if not weekly:
        return None
    top = max(max(weekly), 1)
    step = width / len(weekly)
    bars = [
        {"x": round(i * step + 1, 1), "w": round(step - 2, 1),
         "h": round(max(1.0, v / top * (height - 2)), 1), "v": v}
        for i, v in enumerate(weekly)
    ]  # fmt: skip
    for b in bars:
        b["y"] = round(height - b["h"], 1)
    return {"width": width, "height": height, "bars": bars, "weeks": len(weekly)}


def _not_delivered(exc: BaseException) -> str:
    return (
        f"the decision could not be delivered ({type(exc).__name__}); nothing was recorded. "
        "Open the link again in a moment to give it again."
    )


def _outcome_page(token: str, result: dict | None) -> HTMLResponse:
    if result is None or result.get("recorded") is False:
        return _page(
            title="Decision on its way",
            pending="Your decision is on its way to the case. This page shows the outcome as "
            "soon as the run has recorded it; you may close it, nothing more is needed.",
            refresh={"seconds": 3, "url": f"/decide/{token}/outcome"},
        )
    if result.get("accepted"):
        msg = f"Recorded: {result['decision']}. The case is now {result['status']}."
        return _page(title="Decision recorded", done=msg)
    return _page(title="Decision not accepted", error=result.get("why") or "refused")


def create_app() -> FastAPI:
    app = FastAPI(
        title="offboarding",
        description="Decision pages, the signed intake API and the inbound channels.",
    )
    app.include_router(intake_router)
    app.include_router(inbound_router)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/decide/{token}", response_class=HTMLResponse)
    async def show(token: str) -> HTMLResponse:
        try:
            page = await run_in_threadpool(open_decision, token)
        except OffboardingError as exc:
            return _page(410 if "no longer" in str(exc) or "used" in str(exc) else 403,
                         title="Decision link", error=str(exc))  # fmt: skip
        claims = page["claims"]
        return _page(
            title=f"Case {claims.case_id}: {claims.input_key}",
            summary=page["summary"],
            fields=page["fields"],
            person=claims.person,
            usage=usage_chart(page.get("usage") or []),
        )

    @app.post("/decide/{token}", response_class=HTMLResponse)
    async def submit(token: str, request: Request) -> HTMLResponse:
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        try:
            prepared = await run_in_threadpool(prepare_decision, token, form)
            result = await outcome_within(deliver(token, *prepared))
        except OffboardingError as exc:
            return _page(400, title="Decision not recorded", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the person is told; the link still works
            return _page(503, title="Decision not recorded", error=_not_delivered(exc))
        return _outcome_page(token, result)

    @app.get("/decide/{token}/outcome", response_class=HTMLResponse)
    async def outcome(token: str) -> HTMLResponse:
        """Where the posted decision stands; refreshes itself until the run has recorded it."""
        try:
            result = await run_in_threadpool(decision_outcome, token)
        except OffboardingError as exc:
            return _page(403, title="Decision link", error=str(exc))
        if result is None and (failed := delivery_error(token)) is not None:
            error = str(failed) if isinstance(failed, OffboardingError) else _not_delivered(failed)
            return _page(400, title="Decision not recorded", error=error)
        return _outcome_page(token, result)

    return app
