"""FastAPI router replicating HubSpot CRM v3 objects and search, and v4 associations (mounted under /hubspot)."""

from __future__ import annotations

import uuid
from http import HTTPStatus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox.hubspot_store import (
    ASSOCIATION_TYPE_IDS,
    HubSpotStore,
    SearchError,
    decode_after,
    encode_after,
    object_type,
)
from sandbox.traffic import Traffic

MAX_LIST_LIMIT = 100
MAX_SEARCH_LIMIT = 200
MAX_BATCH_INPUTS = 1000
WINDOW_MS = 10_000
DAILY_LIMIT = 250_000


def hubspot_error(status: int, category: str, message: str, headers: dict | None = None, **extra) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def _rate_headers(traffic: Traffic) -> dict[str, str]:
    """HubSpot's per-10-seconds headers, from the sandbox's configured limit (190, Professional, when none)."""
    limit = traffic.limits.get("hubspot")
    maximum = limit.max_requests if limit else 190
    # Traffic keeps the window's hits privately; reading its length is enough for a header
    remaining = max(0, maximum - len(limit._hits)) if limit else maximum
    window = int((limit.window_seconds if limit else WINDOW_MS / 1000) * 1000)
    used = traffic.count("hubspot")
    return {"X-HubSpot-RateLimit-Max": str(maximum), "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(window),
            "X-HubSpot-RateLimit-Daily": str(DAILY_LIMIT),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, DAILY_LIMIT - used))}


def build_router(store: HubSpotStore, traffic: Traffic, token: str) -> APIRouter:
    router = APIRouter()

    def guard(request: Request, endpoint: str) -> Response | None:
        traffic.record("hubspot", endpoint)
        store.log_request(endpoint)
        refused = traffic.check("hubspot")
        if refused:
            status, wait = refused
            if status == 429:
                body = {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                        "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                        "policyName": "TEN_SECONDLY_ROLLING", "requestId": str(uuid.uuid4())}
                return JSONResponse(body, status_code=429, headers={**_rate_headers(traffic), "Retry-After": str(wait)})
            if status in (502, 503, 504):
                # answered by the gateway in front of the API: an HTML page, no JSON error body, no category
                phrase = f"{status} {HTTPStatus(status).phrase}"
                return Response(f"<html><head><title>{phrase}</title></head><body><h1>{phrase}</h1></body></html>",
                                status_code=status, media_type="text/html")
            return hubspot_error(status, "INTERNAL_ERROR", "internal error")
        if request.headers.get("authorization", "") != f"Bearer {token}":
            return hubspot_error(401, "INVALID_AUTHENTICATION",
                                 "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                                 "and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
        if len(request.url.query) > store.max_query_length:
            return JSONResponse({"status": "error", "message": "URI Too Long"}, status_code=414)
        return None

    def ok(body: dict, status: int = 200) -> JSONResponse:
        return JSONResponse(body, status_code=status, headers=_rate_headers(traffic))

    def unknown_type(name: str) -> JSONResponse:
        return hubspot_error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")

    def int_param(raw: str | None, default: int, name: str) -> int:
        try:
            return int(raw) if raw not in (None, "") else default
        except ValueError:
            raise SearchError(f"{name} must be an integer, got {raw!r}") from None

    @router.get("/crm/v3/objects/{type_name}")
    def list_objects(type_name: str, request: Request):
        if (err := guard(request, "GET /crm/v3/objects")) is not None:
            return err
        obj_type = object_type(type_name)
        if obj_type is None:
            return unknown_type(type_name)
        q = request.query_params
        try:
            limit = min(int_param(q.get("limit"), 10, "limit"), MAX_LIST_LIMIT)
            # list cursors are opaque tokens (api reference 2.6): the id they encode is the sandbox's business
            after = decode_after(q["after"]) if q.get("after") else 0
        except SearchError as e:
            return hubspot_error(400, "VALIDATION_ERROR", str(e))
        props = [p for p in (q.get("properties") or "").split(",") if p] or None
        assoc = [a for a in (q.get("associations") or "").split(",") if a] or None
        archived = (q.get("archived") or "false").lower() == "true"
        recs = [r for r in store.records(obj_type, archived) if int(r.id) > after]
        chunk = recs[:limit]
        body: dict = {"results": [store.render(r, props, assoc) for r in chunk]}
        if len(recs) > limit:
            nxt = encode_after(int(chunk[-1].id))
            body["paging"] = {"next": {"after": nxt, "link": f"{request.url.path}?after={nxt}&limit={limit}"}}
        return ok(body)

    @router.post("/crm/v3/objects/{type_name}/search")
    async def search(type_name: str, request: Request):
        if (err := guard(request, "POST /crm/v3/objects/search")) is not None:
            return err
        obj_type = object_type(type_name)
        if obj_type is None:
            return unknown_type(type_name)
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            return hubspot_error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
        try:
            limit = int_param(body.get("limit"), 10, "limit")
            if store.opaque_search_cursors and body.get("after") not in (None, ""):
                after = decode_after(str(body["after"]))
            else:
                after = int_param(body.get("after"), 0, "after")
            if not 1 <= limit <= MAX_SEARCH_LIMIT:
                raise SearchError(f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
            if after >= store.search_cap:
                # the real API answers 400 to any `after` at or past its 10,000-result window, whatever the limit:
                # HubSpot's search guide ("Limitations"), HubSpot/hubspot-api-nodejs#132 (`after` 10,000 with
                # limit 10 fails), airbytehq/airbyte#10700 (HTTP 400 past the 10K-th record)
                raise SearchError(f"Search results are limited to {store.search_cap}; 'after' {after} is beyond it")
            # `after` is an offset into the result set as it is now: sorted afresh on every request, so an edit
            # between two pages (`store.edit_between_pages`) shifts the records after the edited one
            store.begin_search(obj_type)
            recs = store.search(obj_type, body)
        except SearchError as e:
            return hubspot_error(400, "VALIDATION_ERROR", str(e))
        window = recs[after:min(after + limit, store.search_cap)]
        # a page the cap cut short still says there is more (the next `after` is then refused with 400)
        last_page = min(after + limit, store.search_cap) >= len(recs)
        # search index lag: an older copy of a record served next to its current version
        window = (store.take_stale_copies(obj_type, "first", body) if after == 0 else []) + window + (
            store.take_stale_copies(obj_type, "last", body) if last_page else [])
        out: dict = {"total": len(recs), "results": [store.render(r, body.get("properties") or None) for r in window]}
        if not last_page:
            nxt = after + limit
            out["paging"] = {"next": {"after": encode_after(nxt) if store.opaque_search_cursors else str(nxt)}}
        return ok(out)

    def assoc_results(from_type: str, rec_id: str, to_type: str) -> list[dict] | None:
        rec = store.portal.objects[from_type].get(rec_id)
        if rec is None or rec.archived:
            return None
        type_id = ASSOCIATION_TYPE_IDS.get((from_type, to_type))
        return [{"toObjectId": int(i), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id,
                                                             "label": None}]}
                for i in store.associated_ids(rec, to_type)]

    @router.get("/crm/v4/objects/{from_name}/{record_id}/associations/{to_name}")
    def record_associations(from_name: str, record_id: str, to_name: str, request: Request):
        if (err := guard(request, "GET /crm/v4/objects/associations")) is not None:
            return err
        from_type, to_type = object_type(from_name), object_type(to_name)
        if from_type is None or to_type is None:
            return unknown_type(from_name if from_type is None else to_name)
        results = assoc_results(from_type, record_id, to_type)
        if results is None:
            return hubspot_error(404, "OBJECT_NOT_FOUND", f"resource not found: {from_type} {record_id}")
        return ok({"results": results})

    @router.post("/crm/v4/associations/{from_name}/{to_name}/batch/read")
    async def batch_associations(from_name: str, to_name: str, request: Request):
        if (err := guard(request, "POST /crm/v4/associations/batch/read")) is not None:
            return err
        from_type, to_type = object_type(from_name), object_type(to_name)
        if from_type is None or to_type is None:
            return unknown_type(from_name if from_type is None else to_name)
        body = await request.json()
        inputs = body.get("inputs") or []
        if len(inputs) > MAX_BATCH_INPUTS:
            return hubspot_error(400, "VALIDATION_ERROR", f"at most {MAX_BATCH_INPUTS} inputs per batch")
        results, errors = [], []
        for item in inputs:
            rid = str(item.get("id"))
            to = assoc_results(from_type, rid, to_type)
            if to:
                results.append({"from": {"id": rid}, "to": to})
            else:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                               "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                               "message": f"No {to_type} is associated with {from_type} {rid}.",
                               "context": {"fromObjectId": [rid]}})
        out = {"status": "COMPLETE", "results": results}
        if errors:
            out.update(numErrors=len(errors), errors=errors)
        return ok(out, 207 if errors else 200)

    return router
