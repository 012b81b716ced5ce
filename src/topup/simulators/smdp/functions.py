"""The four ES2+ functions the operator calls, as SGP.22 describes them, over `SmdpState`.

Each function takes the request body (already known to be a JSON object with a valid `header`) and returns the
function-specific part of the answer, or raises `Es2Error`. The functions are synchronous: a profile is
checked and changed without any other request interleaving.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from topup.domain.errors import InvalidInput
from topup.domain.identifiers import parse_eid, parse_iccid
from topup.simulators.smdp import codes
from topup.simulators.smdp.state import Profile, SmdpState

Body = Mapping[str, Any]
CANCELLABLE = frozenset({"Allocated", "Linked", "Confirmed", "Released", "Error", "Available", "Unavailable"})


def _text(body: Body, name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise codes.missing(name)
        return None
    if not isinstance(value, str):
        raise codes.invalid(name, "must be a string")
    return value


def _eid(body: Body) -> str | None:
    eid = _text(body, "eid")
    if eid is None:
        return None
    try:
        return parse_eid(eid)
    except InvalidInput as exc:
        raise codes.eid_invalid(eid) from exc


def _profile(state: SmdpState, body: Body) -> Profile:
    """The profile named by the mandatory `iccid` (a trailing F pad is accepted)."""
    raw = _text(body, "iccid", required=True)
    assert raw is not None
    try:
        iccid = parse_iccid(raw)
    except InvalidInput as exc:
        raise codes.iccid_unknown(raw) from exc
    profile = state.find(iccid)
    if profile is None:
        raise codes.iccid_unknown(iccid)
    return profile


def _check_eid(profile: Profile, eid: str | None) -> None:
    if eid is not None and profile.eid is not None and eid != profile.eid:
        raise codes.eid_mismatch(eid)


def download_order(state: SmdpState, body: Body) -> dict[str, Any]:
    """Reserve a profile (the given ICCID, else the first Available of profileType): Allocated, or Linked."""
    eid = _eid(body)
    profile_type = _text(body, "profileType")
    if body.get("iccid") not in (None, ""):
        profile = _profile(state, body)
        if profile.state != "Available":
            raise codes.not_available(profile.iccid, profile.state)
        if profile_type is not None and profile_type != profile.profile_type:
            raise codes.not_available(profile.iccid, f"{profile.state}, profileType {profile.profile_type}")
    elif profile_type is None:
        raise codes.missing("profileType")
    elif not state.has_pool(profile_type):
        raise codes.profile_type_unknown(profile_type)
    else:
        found = state.first_available(profile_type)
        if found is None:
            raise codes.pool_exhausted(profile_type)
        profile = found
    profile.eid = eid
    profile.download_attempts = 0
    state.record(profile, "Linked" if eid else "Allocated", "downloadOrder")
    return {"iccid": profile.iccid}


def _confirmed_answer(profile: Profile, smdp_address: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"matchingId": profile.matching_id, "smdpAddress": smdp_address}
    if profile.eid is not None:
        answer = {"eid": profile.eid, **answer}
    return answer


def confirm_order(state: SmdpState, body: Body, smdp_address: str) -> dict[str, Any]:
    """Give the profile a matchingId: Confirmed, or Released with releaseFlag; a repeat gets the same one."""
    release = body.get("releaseFlag")
    if release is None:
        raise codes.missing("releaseFlag")
    if not isinstance(release, bool):
        raise codes.invalid("releaseFlag", "must be true or false")
    profile = _profile(state, body)
    eid, matching_id = _eid(body), _text(body, "matchingId")
    _check_eid(profile, eid)
    if profile.state in ("Confirmed", "Released"):  # a repeat: same profile, same matchingId
        if matching_id is not None and matching_id != profile.matching_id:
            raise codes.matching_id_mismatch(matching_id)
        if release and profile.state == "Confirmed":
            state.record(profile, "Released", "confirmOrder")
        return _confirmed_answer(profile, smdp_address)
    if profile.state not in ("Allocated", "Linked"):
        raise codes.not_available(profile.iccid, profile.state)
    if matching_id is not None:
        if "$" in matching_id or len(matching_id.split()) != 1:
            raise codes.invalid("matchingId", "may not contain '$' or spaces")
        holder = state.by_matching_id(matching_id)
        if holder is not None and holder.iccid != profile.iccid:
            raise codes.matching_id_in_use(matching_id)
    if eid is not None:
        profile.eid = eid
    state.set_matching_id(profile, matching_id or state.new_matching_id())
    state.record(profile, "Released" if release else "Confirmed", "confirmOrder")
    return _confirmed_answer(profile, smdp_address)


def cancel_order(state: SmdpState, body: Body) -> dict[str, Any]:
    """Undo an order before download: the profile goes back to Available, or out of use (Unavailable)."""
    final = _text(body, "finalProfileStatusIndicator", required=True)
    if final not in ("Available", "Unavailable"):
        raise codes.invalid("finalProfileStatusIndicator", "must be Available or Unavailable")
    profile = _profile(state, body)
    eid, matching_id = _eid(body), _text(body, "matchingId")
    _check_eid(profile, eid)
    if matching_id is not None and profile.matching_id is not None and matching_id != profile.matching_id:
        raise codes.matching_id_mismatch(matching_id)
    if profile.state not in CANCELLABLE:
        raise codes.not_available(profile.iccid, profile.state)
    if profile.state == "Unavailable" and final == "Available":
        raise codes.not_available(profile.iccid, profile.state)
    profile.eid = None
    profile.download_attempts = 0
    state.set_matching_id(profile, None)
    state.record(profile, final, "cancelOrder")
    return {}


def release_profile(state: SmdpState, body: Body) -> dict[str, Any]:
    """Allow the download of a Confirmed profile (Released); a Released one stays so."""
    profile = _profile(state, body)
    if profile.state == "Confirmed":
        state.record(profile, "Released", "releaseProfile")
    elif profile.state != "Released":
        raise codes.not_available(profile.iccid, profile.state)
    return {}
