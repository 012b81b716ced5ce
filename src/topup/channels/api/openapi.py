"""What django-ninja cannot infer, added to the generated OpenAPI document in one place.

Headers read from `request.headers` (Idempotency-Key, X-Order-Token), the bodies and credentials of the
payment webhook and the SM-DP+ callback (their views read raw bytes to verify a signature), the formats of
phone numbers, ICCIDs and EIDs, and links from the answers that create an order to the operations that use
its id (for clients and for schemathesis' stateful tests). Each addition is skipped when the route
already declares it, so a route that later declares a header itself is not documented twice.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ninja import NinjaAPI
from pydantic import BaseModel

from topup.adapters.payments.signature import SCHEME
from topup.channels.api.schemas import UsageIn
from topup.domain.identifiers import EMAIL_PATTERN, MAX_EMAIL_LENGTH

Document = dict[str, Any]

# Belgian mobile numbers as people type them: national or international, digits grouped by single spaces.
MSISDN = {
    "type": "string",
    "format": "msisdn",
    "pattern": r"^(\+32 ?|0032 ?|0)4[5-9][0-9]( ?[0-9]){6}$",
    "maxLength": 40,
    "description": "a Belgian mobile number: 04xx xx xx xx, +32 4xx xx xx xx or 0032 4xx xx xx xx",
    "examples": ["0470 12 34 56", "+32470123456"],
}
ICCID = {
    "type": "string",
    "format": "iccid",
    "pattern": r"^89[0-9]{16,18}F?$",
    "maxLength": 22,
    "description": "an ICCID (E.118): 18 to 20 digits starting 89, the last one a Luhn check digit",
    "examples": ["8932000000000000006"],
}
EID = {
    "type": "string",
    "format": "eid",
    "pattern": r"^([0-9]{32})?$",
    "maxLength": 32,
    "description": "an eUICC identifier (SGP.29): 32 digits whose value modulo 97 is 1, or empty",
}
IMSI = {"type": "string", "format": "imsi", "pattern": r"^([0-9]{15})?$", "maxLength": 15}
PIN = {
    "type": "string",
    "format": "voucher-pin",
    "pattern": r"^([0-9][ ./-]?){12,15}[0-9]$",
    "maxLength": 40,
    "description": "the code printed on the voucher: its digits (spaces, dots, dashes or slashes between "
    "them are ignored), the last one a Luhn check digit",
}
EMAIL = {
    "type": "string",
    "pattern": f"^{EMAIL_PATTERN}$",
    "maxLength": MAX_EMAIL_LENGTH,
    "description": "an e-mail address (name@example.com); a Unicode domain is accepted too and is sent in "
    "its IDNA form, full-width characters count as their ASCII twins, and the address is kept in lower case",
}
OTP_CODE = {"type": "string", "pattern": "^[0-9]{6}$", "description": "the 6 digits sent by SMS"}
# The line to top up: a phone number or an eSIM's ICCID, at least one of them.
A_LINE = {
    "anyOf": [
        {"required": ["msisdn"], "properties": {"msisdn": {"minLength": 1}}},
        {"required": ["iccid"], "properties": {"iccid": {"minLength": 1}}},
    ]
}
NEEDS_A_LINE = ("QuoteIn", "OrderIn", "RedeemIn")
# Body fields that hold one of these, per request schema ("" stays allowed where the field is optional).
FIELD_FORMATS: dict[str, dict[str, dict[str, Any]]] = {
    "QuoteIn": {"msisdn": MSISDN, "iccid": ICCID},
    "OrderIn": {"msisdn": MSISDN, "iccid": ICCID},
    "RedeemIn": {"msisdn": MSISDN, "iccid": ICCID, "pin": PIN},
    "EsimOrderIn": {"eid": EID, "email": EMAIL},
    "UsageRecordIn": {"iccid": ICCID, "imsi": IMSI},
    "OtpIn": {"msisdn": MSISDN},
    "OtpVerifyIn": {"msisdn": MSISDN, "code": OTP_CODE},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Required, 1 to 255 characters (a UUID is a good key). The same key with the same body "
    "replays the first answer; with another body it is refused with 409 idempotency_conflict.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
ORDER_TOKEN = {
    "name": "X-Order-Token",
    "in": "header",
    "required": False,
    "description": "The order's own secret (`order_token` in the answer that created it). Without it, or "
    "the API key that created the order, the order is answered 404 order_not_found.",
    "schema": {"type": "string"},
}
IDEMPOTENT_WRITES = ("/orders", "/esim/orders", "/vouchers/redeem", "/orders/{order_id}/payments")
ORDER_READS = ("/orders/{order_id}", "/esim/orders/{order_id}/qr.svg", "/esim/orders/{order_id}/qr.png",
               "/esim/orders/{order_id}/cancel")  # fmt: skip
SECURITY_SCHEMES = {
    "WebhookSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "Stripe-Signature",
        "description": f"`t=<unix seconds>,{SCHEME}=<hex HMAC-SHA256(webhook secret, '<t>.' + raw body)>`; "
        "several secrets verify (rotation); the timestamp must be within 300 s.",
    },
    "CallbackKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "The key the SM-DP+ sends with its ES2+ callbacks (TOPUP_SMDP_CALLBACK_KEY).",
    },
}
PAYMENT_EVENT = {
    "type": "object",
    "description": "A provider event (Stripe's shape), signed over its raw bytes. An event we cannot use is "
    "answered 200 with its outcome; an unsigned or malformed one 400.",
    "required": ["id", "type", "data"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "type": {"type": "string", "minLength": 1, "examples": ["payment_intent.succeeded"]},
        "data": {
            "type": "object",
            "required": ["object"],
            "properties": {
                "object": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "string", "minLength": 1},
                        "object": {"type": "string", "examples": ["payment_intent"]},
                        "amount": {"type": "integer", "description": "minor units"},
                        "currency": {"type": "string", "examples": ["eur"]},
                    },
                }
            },
        },
    },
}
DOWNLOAD_PROGRESS = {
    "type": "object",
    "description": "GSMA SGP.22 ES2+ HandleDownloadProgressInfo, sent by the SM-DP+; answered 204. "
    "`notificationPointStatus.statusCodeData` (subjectCode, reasonCode, message) is read when it is an "
    "object of strings and ignored otherwise.",
    "required": [
        "header",
        "iccid",
        "profileType",
        "timestamp",
        "notificationPointId",
        "notificationPointStatus",
    ],
    "properties": {
        "header": {
            "type": "object",
            "required": ["functionRequesterIdentifier", "functionCallIdentifier"],
            "properties": {
                "functionRequesterIdentifier": {"type": "string", "minLength": 1},
                "functionCallIdentifier": {"type": "string", "minLength": 1},
            },
        },
        "eid": {"anyOf": [EID, {"type": "null"}]},
        "iccid": ICCID,
        "profileType": {"type": "string", "minLength": 1},
        "timestamp": {"type": "string", "format": "date-time"},
        "notificationPointId": {"type": "integer"},
        "notificationPointStatus": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "minLength": 1, "examples": ["Executed-Success", "Failed"]},
            },
        },
    },
}
# Routes that read their own JSON body (no ninja body parameter) but document a schema's body.
SCHEMA_BODIES: dict[str, type[BaseModel]] = {"/usage": UsageIn}
RAW_BODIES = {
    "/payments/webhooks/{provider}": ("WebhookSignature", PAYMENT_EVENT),
    "/esim/es2plus/handleDownloadProgressInfo": ("CallbackKey", DOWNLOAD_PROGRESS),
}


def _operations(document: Document, prefix: str) -> dict[str, dict[str, Any]]:
    """Each path below the API prefix (with the prefix cut off) and its operations."""
    return {path.removeprefix(prefix.rstrip("/")): ops for path, ops in document.get("paths", {}).items()}


def _add_parameter(operation: dict[str, Any], parameter: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    names = {(p.get("in"), str(p.get("name", "")).lower()) for p in parameters}
    if (parameter["in"], parameter["name"].lower()) not in names:
        parameters.append(copy.deepcopy(parameter))


def _formats(document: Document) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for schema_name, fields in FIELD_FORMATS.items():
        properties = schemas.get(schema_name, {}).get("properties", {})
        for field, wanted in fields.items():
            if field not in properties:
                continue
            declared = properties[field]
            merged = {**declared, **wanted}
            if "description" in declared:
                merged["description"] = declared["description"]
            if declared.get("default") == "" or field not in schemas[schema_name].get("required", []):
                # An optional field may be left empty: the other identifier (or none) is used instead.
                merged["pattern"] = f"^$|{wanted['pattern']}"
            properties[field] = {k: v for k, v in merged.items() if k != "examples"}
    for schema_name in NEEDS_A_LINE:
        if schema_name in schemas:
            schemas[schema_name].setdefault("anyOf", copy.deepcopy(A_LINE["anyOf"]))


def _path_and_query_formats(paths: dict[str, dict[str, Any]]) -> None:
    for path, operations in paths.items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "msisdn" and parameter.get("in") in {"query", "path"}:
                    schema = MSISDN if path.endswith("/lookup") else {**MSISDN, "pattern": _balance_pattern()}
                    parameter["schema"] = {k: v for k, v in schema.items() if k != "examples"}


def _balance_pattern() -> str:
    """`/lines/{msisdn}/balance` takes a phone number (no spaces in a path) or an eSIM's ICCID."""
    return r"^((\+32|0032|0)4[5-9][0-9]{7}|89[0-9]{16,18}F?)$"


def _links(paths: dict[str, dict[str, Any]], document: Document) -> None:
    """Links from each order-creating answer to getOrder and cancel (id, and token if any)."""
    schemas = document.get("components", {}).get("schemas", {})
    has_token = any("order_token" in schemas.get(name, {}).get("properties", {}) for name in schemas)
    targets = {
        "/orders": {"GetOrder": "/orders/{order_id}"},
        # No link to the QR codes: they exist only once the order is paid and delivered, not on creation.
        "/esim/orders": {"GetOrder": "/orders/{order_id}", "CancelEsim": "/esim/orders/{order_id}/cancel"},
        "/vouchers/redeem": {"GetOrder": "/orders/{order_id}"},
    }
    for source, links in targets.items():
        created = paths.get(source, {}).get("post", {}).get("responses", {})
        answer = next((value for status, value in created.items() if str(status) == "201"), None)
        if answer is None:
            continue
        for name, target in links.items():
            methods = paths.get(target, {})
            operation = next(iter(methods.values()), None)
            if operation is None or "operationId" not in operation:
                continue
            parameters: dict[str, str] = {"path.order_id": "$response.body#/id"}
            if has_token:
                parameters["header.X-Order-Token"] = "$response.body#/order_token"
            answer.setdefault("links", {})[name] = {
                "operationId": operation["operationId"],
                "parameters": parameters,
                "description": "the order just created",
            }


def _schema_bodies(paths: dict[str, dict[str, Any]], schemas: dict[str, Any]) -> None:
    for path, model in SCHEMA_BODIES.items():
        operation = paths.get(path, {}).get("post")
        if operation is None:
            continue
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        body = {"required": True, "content": {"application/json": {"schema": ref}}}
        operation.setdefault("requestBody", body)


def complete(document: Document, prefix: str) -> Document:
    """The generated document with the headers, bodies, credentials, formats and links described above."""
    paths = _operations(document, prefix)
    for path in IDEMPOTENT_WRITES:
        if "post" in paths.get(path, {}):
            operation = paths[path]["post"]
            existing = [
                p for p in operation.get("parameters", []) if p.get("name", "").lower() == "idempotency-key"
            ]
            for parameter in existing:
                parameter.update(required=True, schema=copy.deepcopy(IDEMPOTENCY_KEY["schema"]))
            _add_parameter(operation, IDEMPOTENCY_KEY)
    for path in ORDER_READS:
        for operation in paths.get(path, {}).values():
            _add_parameter(operation, ORDER_TOKEN)
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(copy.deepcopy(SECURITY_SCHEMES))
    for path, (scheme, body) in RAW_BODIES.items():
        operation = paths.get(path, {}).get("post")
        if operation is None:
            continue
        operation.setdefault("security", [{scheme: []}])
        operation.setdefault(
            "requestBody",
            {"required": True, "content": {"application/json": {"schema": copy.deepcopy(body)}}},
        )
    _schema_bodies(paths, components.setdefault("schemas", {}))
    _formats(document)
    _path_and_query_formats(paths)
    _links(paths, document)
    return document


def install(api: NinjaAPI) -> None:
    """Serve the completed document at the API's `openapi.json` (and in its docs page)."""
    generate: Callable[..., Any] = api.get_openapi_schema

    def completed(*, path_prefix: str | None = None, path_params: dict[str, Any] | None = None) -> Any:
        document = generate(path_prefix=path_prefix, path_params=path_params)
        prefix = path_prefix if path_prefix is not None else api.get_root_path(path_params or {})
        return complete(document, prefix)

    api.get_openapi_schema = completed  # type: ignore[method-assign]
