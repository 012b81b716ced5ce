"""The phone side of the simulator: test hooks standing in for ES9+ (LPA ↔ SM-DP+), not part of ES2+.

    POST /sim/download        {"activation_code": "LPA:1$addr$matching", "eid"?}  download and install
    POST /sim/delete          {"iccid"}                                          the customer deletes it
    GET  /sim/profiles/{iccid}                                                   state and history

A download checks eligibility (released, EID, attempts), then goes Downloaded, then Installed, pausing
`step_delay_ms` between steps; each step is notified to the operator (points 1, 3, 4). A refused download is
notified as Failed at point 1; three refusals put the profile in Error (8.8.5 / 6.4). A wrong matching id
cannot be notified: without a profile there is no ICCID to report.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from topup.domain.errors import InvalidInput
from topup.domain.identifiers import parse_activation_code, parse_eid, parse_iccid
from topup.simulators.serving import json_object
from topup.simulators.smdp import codes
from topup.simulators.smdp.codes import Es2Error
from topup.simulators.smdp.context import CONTEXT, MAX_DOWNLOAD_ATTEMPTS, Context
from topup.simulators.smdp.notifier import BPP_DOWNLOAD, BPP_INSTALLATION, DELETION, ELIGIBILITY
from topup.simulators.smdp.state import Profile


def _refused(status: int, error: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": error, "message": message, **extra}, status=status)


def _es2_refusal(profile: Profile, error: Es2Error) -> web.Response:
    return _refused(
        409,
        "download_refused",
        error.message,
        iccid=profile.iccid,
        state=profile.state,
        subjectCode=error.subject_code,
        reasonCode=error.reason_code,
    )


def _eligibility(ctx: Context, profile: Profile, eid: str) -> Es2Error | None:
    """Why `eid` may not download `profile` now (counting a wrong EID as a failed attempt), else None."""
    if profile.state == "Error" or profile.download_attempts >= MAX_DOWNLOAD_ATTEMPTS:
        return codes.attempts_exceeded(profile.iccid)
    if profile.state != "Released":
        return codes.not_available(profile.iccid, profile.state)
    if profile.eid is not None and profile.eid != eid:
        profile.download_attempts += 1
        if profile.download_attempts >= MAX_DOWNLOAD_ATTEMPTS:
            ctx.state.record(profile, "Error", "download attempts exceeded")
            return codes.attempts_exceeded(profile.iccid)
        ctx.state.save(profile)
        return codes.eid_mismatch(eid)
    return None


def _step(ctx: Context, profile: Profile, point_id: int, name: str) -> dict[str, Any]:
    notification = ctx.notifier.publish(profile, point_id)
    at = notification["timestamp"]
    return {"step": name, "state": profile.state, "notificationPointId": point_id, "at": at}


async def _install(ctx: Context, profile: Profile) -> web.Response:
    """Eligibility passed: notify it, then download and install with a pause between the steps."""
    steps = [_step(ctx, profile, ELIGIBILITY, "eligibility")]
    for point_id, state, name in ((BPP_DOWNLOAD, "Downloaded", "download"),
                                  (BPP_INSTALLATION, "Installed", "installation")):  # fmt: skip
        await asyncio.sleep(ctx.faults.faults.step_delay_ms / 1000)
        if profile.state not in ("Released", "Downloaded"):  # cancelled by the operator meanwhile
            error = codes.not_available(profile.iccid, profile.state)
            ctx.notifier.publish(profile, point_id, error)
            return _es2_refusal(profile, error)
        ctx.state.record(profile, state, name)
        steps.append(_step(ctx, profile, point_id, name))
    body = {"iccid": profile.iccid, "eid": profile.eid, "profileType": profile.profile_type}
    return web.json_response({**body, "state": profile.state, "steps": steps})


async def download(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await json_object(request)
    if body is None or not isinstance(body.get("activation_code"), str):
        return _refused(400, "invalid_request", 'expected {"activation_code": "LPA:1$...", "eid"?}')
    try:
        code = parse_activation_code(body["activation_code"])
        eid = parse_eid(body["eid"]) if isinstance(body.get("eid"), str) else None
    except InvalidInput as exc:
        return _refused(400, exc.code, exc.message)
    if code.smdp_address.lower() != ctx.smdp_address.lower():
        return _refused(404, "unknown_smdp_address", f"this SM-DP+ is {ctx.smdp_address}")
    profile = ctx.state.by_matching_id(code.matching_id)
    if profile is None:
        return _refused(404, "unknown_matching_id", "no profile has this matching id")
    eid = eid or profile.eid
    if eid is None:
        return _refused(400, "eid_required", "the order has no EID: the phone must give its own")
    if profile.iccid in ctx.downloading:
        return _refused(409, "download_in_progress", "this profile is being downloaded", iccid=profile.iccid)
    error = _eligibility(ctx, profile, eid)
    if error is not None:
        ctx.notifier.publish(profile, ELIGIBILITY, error)
        return _es2_refusal(profile, error)
    profile.eid = eid
    ctx.state.save(profile)
    ctx.downloading.add(profile.iccid)
    try:
        return await _install(ctx, profile)
    finally:
        ctx.downloading.discard(profile.iccid)


async def delete(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await json_object(request)
    if body is None or not isinstance(body.get("iccid"), str):
        return _refused(400, "invalid_request", 'expected {"iccid": "89..."}')
    profile = _find(ctx, body["iccid"])
    if profile is None:
        return _refused(404, "unknown_iccid", "no such profile")
    if profile.state != "Installed":
        return _refused(409, "not_installed", f"profile is {profile.state}", iccid=profile.iccid)
    ctx.state.record(profile, "Unavailable", "deleted")
    ctx.notifier.publish(profile, DELETION)
    return web.json_response({"iccid": profile.iccid, "state": profile.state})


def _find(ctx: Context, iccid: str) -> Profile | None:
    try:
        return ctx.state.find(parse_iccid(iccid))
    except InvalidInput:
        return None


async def profile_status(request: web.Request) -> web.Response:
    profile = _find(request.app[CONTEXT], request.match_info["iccid"])
    if profile is None:
        return _refused(404, "unknown_iccid", "no such profile")
    return web.json_response(profile.as_json())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/sim/download", download)
    app.router.add_post("/sim/delete", delete)
    app.router.add_get("/sim/profiles/{iccid}", profile_status)
