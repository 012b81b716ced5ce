"""Property-based contract test: every operation of /api/v1/openapi.json against the real app.

Schemathesis loads the OpenAPI document from the WSGI application in process and, for each operation,
generates valid and invalid requests (examples, coverage and fuzzing phases, positive and negative modes)
and checks each answer against the document: no 5xx, every status code documented, the documented
content type and headers, the body valid against its schema, invalid input rejected, auth enforced.

The database is real (seeded, transactional) and the payment and carrier adapters point at the running
simulators, so quotes are priced, orders are placed and balances are read for real. Purely random strings
would never name a seeded plan, line, order or provider, so half of the fuzzed cases have their *valid*
identifiers swapped for seeded ones (`before_generate_case`); invalid components are never touched.
Secured operations get a valid admin key on every other case, so both the 200 and the 401 paths run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from topup.domain.catalogue import BELGIAN_DEMO_NETWORKS, BELGIAN_DEMO_PLANS
from topup.services import notifications

pytestmark = pytest.mark.django_db(transaction=True)

OPENAPI_PATH = "/api/v1/openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
MSISDNS = ["0470 12 34 56", "+32 475 00 00 01", "0486123456", "+32499112233"]
PLAN_IDS = [plan.id for plan in BELGIAN_DEMO_PLANS]
NETWORK_IDS = [network.id for network in BELGIAN_DEMO_NETWORKS]
PROVIDERS = ["sandbox"]
# Ids that exist only once the test runs (an order placed by the `known_order` fixture).
KNOWN: dict[str, list[str]] = {"order_id": [], "order_token": []}


def _load_contract() -> Any:
    # Collection-time: only the OpenAPI document is fetched, which needs no database.
    from topup.wsgi import application  # noqa: PLC0415

    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, application)
    schema.config.generation.update(modes=list(GenerationMode), max_examples=25)
    return schema


contract = _load_contract()


def _steer(case: Any, pick: int) -> Any:
    """Swap generated identifiers for seeded ones, in the components that were generated valid."""
    meta = case._meta
    if meta is None:
        return case

    def valid(location: ParameterLocation) -> bool:
        return not meta.is_negative_at(location)

    def choice(values: list[str]) -> str:
        return values[pick % len(values)]

    path = case.operation.path
    if isinstance(case.body, dict) and valid(ParameterLocation.BODY):
        body = dict(case.body)
        if isinstance(body.get("plan_id"), str):
            body["plan_id"] = choice(PLAN_IDS)
        if isinstance(body.get("msisdn"), str):
            body["msisdn"] = choice(MSISDNS)
        case.body = body
    if case.path_parameters and valid(ParameterLocation.PATH):
        params = dict(case.path_parameters)
        if "msisdn" in params:
            params["msisdn"] = choice(MSISDNS).replace(" ", "")
        if "provider" in params:
            params["provider"] = choice(PROVIDERS)
        if "order_id" in params and KNOWN["order_id"]:
            params["order_id"] = choice(KNOWN["order_id"])
        case.path_parameters = params
    if case.headers and "X-Order-Token" in case.headers and valid(ParameterLocation.HEADER):
        case.headers = {**case.headers, "X-Order-Token": choice(KNOWN["order_token"] or ["none"])}
    if case.query and valid(ParameterLocation.QUERY):
        query = dict(case.query)
        if path.endswith("/lookup") and "msisdn" in query:
            query["msisdn"] = choice(MSISDNS)
        if path.endswith("/plans") and "network" in query:
            query["network"] = choice(NETWORK_IDS)
        case.query = query
    return case


@contract.hook
def before_generate_case(context: Any, strategy: Any) -> Any:
    steered = st.tuples(strategy, st.integers(min_value=0, max_value=1000)).map(lambda t: _steer(*t))
    return st.one_of(strategy, steered)


@pytest.fixture
def admin_key(seeded: None) -> str:
    from topup.channels.api.auth import create_key  # noqa: PLC0415

    return create_key(["admin"], name="openapi-contract")


@pytest.fixture
def known_order(seeded: None, payments_simulator: str, carriers_simulator: str) -> Iterator[str]:
    """One real order, so that GET /orders/{order_id} also answers 200."""
    response = Client().post(
        "/api/v1/orders",
        {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "card"},
        content_type="application/json",
        headers={"Idempotency-Key": "contract-known-order"},
    )
    assert response.status_code == 201, response.content
    KNOWN["order_id"] = [response.json()["id"]]
    KNOWN["order_token"] = [response.json()["order_token"]]
    # One-time codes go out by SMS; the SMPP path has its own tests against the SMSC simulator, so the
    # contract run only needs a sender that accepts the messages.
    notifications.configure(sms=_AcceptingSms())
    yield KNOWN["order_id"][0]
    notifications.configure()
    KNOWN["order_id"] = []
    KNOWN["order_token"] = []


class _AcceptingSms:
    def send(self, to: str, text: str) -> None:
        assert to.startswith("+")


@pytest.fixture
def every_other_case() -> Iterator[bool]:
    """Alternates True/False: which generated cases of a secured operation carry the valid key."""
    return itertools.cycle([True, False])


_idempotency = itertools.count()


def _order_headers(case: Any) -> dict[str, str]:
    """POST /orders needs an Idempotency-Key, which the OpenAPI document does not declare (yet)."""
    if case.method.upper() == "POST" and case.path.endswith("/orders"):
        declared = {k.lower() for k in (case.headers or {})}
        if "idempotency-key" not in declared:
            return {"Idempotency-Key": f"contract-{next(_idempotency)}"}
    return {}


# `known_order` brings the seeded database and both simulators (the adapters are pointed at them).
@pytest.mark.usefixtures("known_order")
@contract.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    # The seeded database and the simulators are meant to be shared by all the examples of an operation.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_every_operation_honours_the_openapi_contract(
    case: Any, admin_key: str, every_other_case: Iterator[bool]
) -> None:
    headers = _order_headers(case)
    if case.operation.definition.raw.get("security") and next(every_other_case):
        headers["Authorization"] = f"Bearer {admin_key}"
    case.call_and_validate(headers=headers, checks=CHECKS)
