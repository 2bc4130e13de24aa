"""Builds the sandbox FastAPI app: every API replica on one server, plus admin endpoints for tests and demos."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.responses import Response

from sandbox.fitbit_data import FitbitHealth, generate_health
from sandbox.google_health_api import GoogleHealth, build_google_health, legacy_fitbit_router
from sandbox.google_health_api import build_router as google_health_router
from sandbox.hubspot_api import build_router as hubspot_router
from sandbox.hubspot_data import generate_portal
from sandbox.hubspot_store import HubSpotStore, object_type
from sandbox.life import LifeConfig, SyntheticLife
from sandbox.notion_api import build_router as notion_router
from sandbox.notion_data import generate_workspace
from sandbox.notion_store import NotionStore
from sandbox.traffic import Traffic

SYNTHETIC_NOTICE = "All data served here is synthetic: a generated person, not a real account."
# first path segment -> the API name faults are queued under (traffic.py)
REPLICAS = {"notion": "notion", "hubspot": "hubspot", "fitbit": "fitbit", "google": "google_health"}


@dataclass
class SandboxConfig:
    """What the sandbox serves and how strict it is. Tokens are sandbox-only placeholders."""

    life: LifeConfig = field(default_factory=LifeConfig)
    notion_token: str = "sandbox-notion-token"
    notion_result_cap: int = 10_000
    hubspot_token: str = "sandbox-hubspot-token"
    hubspot_search_cap: int = 10_000
    hubspot_max_query_length: int = 2000
    hubspot_rate_limit: int | None = None  # requests per 10 s window (HubSpot Free: 100)
    # the fitbit pipeline's Google OAuth client (the Google Health API replica and its token endpoint)
    fitbit_client_id: str = "000000000000-sandbox.apps.googleusercontent.com"
    fitbit_client_secret: str = "sandbox-google-client-secret"
    fitbit_heart_rate_interval: int = 4  # mean seconds between heart-rate samples (~7.5 M a year)
    now: datetime | None = None


@dataclass
class Sandbox:
    """In-process handle on the replicas' state (tests mutate it directly; HTTP admin does the same)."""

    config: SandboxConfig
    life: SyntheticLife
    traffic: Traffic
    notion: NotionStore
    hubspot: HubSpotStore | None = None
    fitbit: FitbitHealth | None = None
    google_health: GoogleHealth | None = None


def build_sandbox(config: SandboxConfig | None = None) -> Sandbox:
    config = config or SandboxConfig()
    life = SyntheticLife(config.life)
    sandbox = Sandbox(
        config=config,
        life=life,
        traffic=Traffic(),
        notion=NotionStore(generate_workspace(life, now=config.now), result_cap=config.notion_result_cap),
        hubspot=HubSpotStore(generate_portal(life, now=config.now), search_cap=config.hubspot_search_cap,
                             max_query_length=config.hubspot_max_query_length),
    )
    sandbox.fitbit = generate_health(life, heart_rate_interval=config.fitbit_heart_rate_interval)
    sandbox.google_health = build_google_health(sandbox.fitbit, config.fitbit_client_id, config.fitbit_client_secret)
    if config.hubspot_rate_limit:
        sandbox.traffic.set_rate_limit("hubspot", config.hubspot_rate_limit, window_seconds=10.0)
    return sandbox


def create_app(sandbox: Sandbox) -> FastAPI:
    app = FastAPI(title="personal-data sandbox", description=SYNTHETIC_NOTICE)
    app.state.sandbox = sandbox

    @app.middleware("http")
    async def answer_faults(request: Request, call_next):
        """Slow and malformed answers queued with /_sandbox/faults/<api>/slow|malformed (traffic.py)."""
        api = REPLICAS.get(request.url.path.strip("/").split("/", 1)[0])
        delay, malformed = sandbox.traffic.take_body_fault(api) if api else (0.0, False)
        if delay:
            await asyncio.sleep(delay)
            if await request.is_disconnected():  # the client gave up waiting: nothing to answer
                return Response(status_code=499)
        response = await call_next(request)
        if not malformed:
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(body[: max(1, len(body) // 2)], status_code=response.status_code, headers=headers)
    app.include_router(notion_router(sandbox.notion, sandbox.traffic, sandbox.config.notion_token), prefix="/notion")
    app.include_router(hubspot_router(sandbox.hubspot, sandbox.traffic, sandbox.config.hubspot_token), prefix="/hubspot")
    app.include_router(google_health_router(sandbox.google_health, sandbox.traffic))
    app.include_router(legacy_fitbit_router(sandbox.traffic))

    @app.get("/_sandbox/health")
    def health():
        return {"ok": True, "notice": SYNTHETIC_NOTICE}

    @app.get("/_sandbox/config")
    def sandbox_config():
        """What a pipeline needs to point at this sandbox (ids and placeholder tokens)."""
        return {"notice": SYNTHETIC_NOTICE, "life": {"seed": sandbox.config.life.seed,
                "start": sandbox.config.life.start.isoformat(), "days": sandbox.config.life.days},
                "notion": {"databases": sandbox.notion.ws.database_ids, "token": sandbox.config.notion_token},
                "hubspot": {"token": sandbox.config.hubspot_token},
                "faults": {"pending": sandbox.traffic.pending_faults(),
                           "knobs": ["POST /_sandbox/faults/{api} {statuses: [429, 503, ...]}",
                                     "POST /_sandbox/faults/{api}/malformed {count}",
                                     "POST /_sandbox/faults/{api}/slow {seconds, count}",
                                     "POST /_sandbox/rate_limit/{api} {max_requests, window_seconds}",
                                     "DELETE /_sandbox/faults/{api}"]}}

    @app.get("/_sandbox/requests")
    def requests_made():
        return dict(sandbox.traffic.counts)

    @app.post("/_sandbox/requests/reset")
    def reset_requests():
        sandbox.traffic.reset()
        return {"ok": True}

    @app.post("/_sandbox/faults/{api}")
    def inject(api: str, statuses: list[int] = Body(..., embed=True)):
        sandbox.traffic.inject(api, statuses)
        return {"ok": True}

    @app.post("/_sandbox/faults/{api}/malformed")
    def inject_malformed(api: str, count: int = Body(1, embed=True)):
        sandbox.traffic.inject_malformed(api, count)
        return {"ok": True}

    @app.post("/_sandbox/faults/{api}/slow")
    def inject_slow(api: str, seconds: float = Body(..., embed=True), count: int = Body(1, embed=True)):
        sandbox.traffic.inject_delay(api, seconds, count)
        return {"ok": True}

    @app.delete("/_sandbox/faults/{api}")
    def clear_faults(api: str):
        sandbox.traffic.clear_faults(api)
        return {"ok": True}

    @app.post("/_sandbox/rate_limit/{api}")
    def rate_limit(api: str, max_requests: int | None = Body(None, embed=True), window_seconds: float = Body(1.0, embed=True)):
        sandbox.traffic.set_rate_limit(api, max_requests, window_seconds)
        return {"ok": True}

    @app.post("/_sandbox/notion/pages/{page_id}")
    def edit_page(page_id: str, changes: dict = Body(..., embed=True)):
        if page_id not in sandbox.notion.ws.pages:
            raise HTTPException(404, "no such page")
        return sandbox.notion.render_page(sandbox.notion.edit_page(page_id, changes))

    @app.post("/_sandbox/notion/pages/{page_id}/trash")
    def trash_page(page_id: str):
        if page_id not in sandbox.notion.ws.pages:
            raise HTTPException(404, "no such page")
        return sandbox.notion.render_page(sandbox.notion.trash_page(page_id))

    @app.post("/_sandbox/notion/data_sources/{data_source_id}/rename")
    def rename(data_source_id: str, old_name: str = Body(..., embed=True), new_name: str = Body(..., embed=True)):
        return {"property_id": sandbox.notion.rename_property(data_source_id, old_name, new_name)}

    def _hubspot_record(type_name: str, record_id: str) -> tuple[str, str]:
        obj_type = object_type(type_name)
        if obj_type is None or record_id not in sandbox.hubspot.portal.objects[obj_type]:
            raise HTTPException(404, "no such record")
        return obj_type, record_id

    @app.post("/_sandbox/hubspot/{type_name}/bulk_stamp")
    def hubspot_bulk_stamp(type_name: str, ids: list[str] = Body(..., embed=True), changes: dict = Body(..., embed=True)):
        obj_type = object_type(type_name)
        if obj_type is None or any(i not in sandbox.hubspot.portal.objects[obj_type] for i in ids):
            raise HTTPException(404, "no such record")
        return {"stamp": sandbox.hubspot.bulk_stamp(obj_type, ids, changes).isoformat()}

    @app.post("/_sandbox/hubspot/{type_name}/{record_id}")
    def hubspot_edit(type_name: str, record_id: str, changes: dict = Body(..., embed=True)):
        obj_type, rid = _hubspot_record(type_name, record_id)
        return sandbox.hubspot.render(sandbox.hubspot.edit(obj_type, rid, changes), list(changes))

    @app.post("/_sandbox/hubspot/{type_name}/{record_id}/edit_between_pages")
    def hubspot_edit_between_pages(type_name: str, record_id: str, changes: dict = Body(..., embed=True),
                                   after_pages: int = Body(1, embed=True)):
        obj_type, rid = _hubspot_record(type_name, record_id)
        if after_pages < 1:
            raise HTTPException(422, "after_pages is at least 1")
        sandbox.hubspot.edit_between_pages(obj_type, rid, changes, after_pages)
        return {"type": obj_type, "id": rid, "after_pages": after_pages}

    @app.post("/_sandbox/hubspot/{type_name}/{record_id}/archive")
    def hubspot_archive(type_name: str, record_id: str):
        obj_type, rid = _hubspot_record(type_name, record_id)
        return sandbox.hubspot.render(sandbox.hubspot.archive(obj_type, rid))

    return app
