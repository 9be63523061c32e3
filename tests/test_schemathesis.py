"""Schemathesis over the whole OpenAPI document, against the real app over ASGI and a real SQLite file.

Every operation is exercised as each role (admin, intake, facilitator): Schemathesis's coverage phase
(boundary values, each constraint broken in turn, methods the route lacks), then Hypothesis-generated
schema-valid (positive) and schema-violating (negative) requests, then positive ones again with the ids of
real records so that success answers are checked against the document too. Checks: no server error; the
answer conforms to the document (status code, content type, body schema, headers); schema-invalid data
is refused; schema-valid data is not refused for a reason the document cannot state; auth is enforced.

Deterministic (derandomized Hypothesis, no example database); about 2,500 requests, ~30 s.
"""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.app import create_app
from service.settings import load_settings
from tests.support import ADMIN_TOKEN, RECENT, base_env, make_token

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    ignored_auth,
]
# Schema-valid requests may still break a rule the schema cannot state (an IANA time zone, a session id
# that exists, the same email twice): 422 and 404 are right answers to them. 401/403 are the roles'.
ACCEPTED = ["2xx", "401", "403", "404", "409", "422"]
# Refusing a schema-violating request: a 413 for a list longer than the document allows is refusal too.
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = {
    # The token comes from the test (one per role), not from generated Authorization headers, so the
    # budget goes to the data; ignored_auth still probes each operation without and with a bad token.
    "generation": {"with-security-parameters": False, "unique-inputs": True},
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ACCEPTED},
        "negative_data_rejection": {"expected-statuses": REFUSED},
    },
    "operations": [
        {
            # "exactly one of ?email= or ?session_id=" is a 400 that no JSON Schema of the query can express.
            "include-path": "/api/v1/certificates",
            "include-method": "GET",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
        }
    ],
}
# POST /verify/pdf takes the PDF itself as the body: any bytes (garbage must be a 200 "unknown", never a 5xx).
schemathesis.openapi.media_type("application/pdf", st.binary(max_size=4096))
EXAMPLES = {"admin": 30, "intake": 10, "facilitator": 10}
KNOWN_EXAMPLES = 10


def hypothesis_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        # Each example is a real request against a real database: slow by Hypothesis's standards.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )


def _shorten(report: str) -> str:
    # A 2 MB body in a curl line helps nobody.
    return report if len(report) <= 4000 else report[:4000] + " …"


class Fuzzer:
    """Runs cases per operation and keeps count of what ran and what failed."""

    def __init__(self, schema: Any, tokens: dict[str, str]) -> None:
        self.schema = schema
        self.tokens = tokens
        self.cases: Counter[tuple[str, str, str]] = Counter()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: list[str] = []
        self.unsatisfiable: list[tuple[str, str, str]] = []

    def operations(self) -> list[Any]:
        return [result.ok() for result in self.schema.get_all_operations()]

    def call(self, case: Any, role: str) -> Any:
        response = case.call_and_validate(
            checks=CHECKS, headers={"Authorization": f"Bearer {self.tokens[role]}"}
        )
        self.statuses[(case.operation.label, response.status_code)] += 1
        return response

    def cover(self, operation: Any, role: str) -> None:
        """Schemathesis's coverage phase: boundary values, each constraint broken in turn, missing
        required fields, wrong types and methods the route does not have; deterministic, no Hypothesis."""
        key = (role, operation.label, "coverage")
        cases = self.schema.iter_coverage_cases(
            operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=self.schema.config.generation_for(operation=operation),
        )
        for case in cases:
            self.cases[key] += 1
            try:
                self.call(case, role)
            except (Exception, BaseExceptionGroup) as exc:
                self.failures.append(f"{role} {operation.label} (coverage):\n{_shorten(str(exc))}")

    def run(self, operation: Any, role: str, mode: GenerationMode, examples: int, **fixed: Any) -> None:
        key = (role, operation.label, mode.value)

        @hypothesis_settings(examples)
        @given(case=operation.as_strategy(generation_mode=mode, **fixed))
        def fuzz(case: Any) -> None:
            self.cases[key] += 1
            self.call(case, role)

        try:
            fuzz()
        except Unsatisfiable:
            # No negative data exists for some operations (no parameters, or only free-form strings).
            self.unsatisfiable.append(key)
        except (Exception, BaseExceptionGroup) as exc:
            self.failures.append(f"{role} {operation.label} ({mode.value}):\n{_shorten(str(exc))}")


@pytest.fixture
def fuzzer(tmp_path: Path) -> Iterator[Fuzzer]:
    settings_ = load_settings(base_env(tmp_path))
    tokens = {
        "admin": ADMIN_TOKEN,
        "intake": make_token(settings_, "intake", "intake"),
        "facilitator": make_token(settings_, "facilitator", "Jane Doe", ("central", "hub")),
    }
    app = create_app(settings_, render_processes=0)
    config = schemathesis.Config.from_dict(CONFIG)
    try:
        # Loading the document starts the app's lifespan (the ledger opens) in Schemathesis's ASGI portal.
        yield Fuzzer(schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=config), tokens)
    finally:
        asgi.shutdown_lifespans()


def seed(fuzzer: Fuzzer) -> dict[str, str]:
    """Real records through the API (each answer checked against the document too); their ids."""
    schema = fuzzer.schema
    session = fuzzer.call(
        schema["/api/v1/sessions"]["POST"].Case(
            body={
                "date": RECENT.isoformat(),
                "start_time": "18:00",
                "timezone": "America/New_York",
                "duration_minutes": 90,
                "facilitators": ["Jane Doe"],
                "level": "central",
            },
            media_type="application/json",
        ),
        "facilitator",
    ).json()
    rows = [
        {
            "name": "Nguyễn Thị Minh",
            "email": "minh@example.org",
            "core_trained": True,
            "full_participation": True,
        },
        {"name": "Sam Lee", "email": "sam@example.org", "core_trained": True, "full_participation": False},
    ]
    listed = fuzzer.call(
        schema["/api/v1/sessions/{session_id}/attendees"]["PUT"].Case(
            path_parameters={"session_id": session["id"]},
            body={"attendees": rows},
            media_type="application/json",
        ),
        "facilitator",
    )
    assert listed.status_code == 200, listed.text
    asked = fuzzer.call(
        schema["/api/v1/certificate-requests"]["POST"].Case(
            body={"email": "minh@example.org", "date": RECENT.isoformat(), "facilitator": "Jane Doe"},
            media_type="application/json",
        ),
        "intake",
    ).json()
    assert asked["outcome"] == "issued", asked
    certificate = asked["certificate"]
    return {
        "session_id": session["id"],
        "request_id": asked["request_id"],
        "serial": certificate["serial"],
        "token": urlsplit(certificate["verify_url"]).path.removeprefix("/v/"),
    }


def test_the_whole_document_holds_under_schemathesis(fuzzer: Fuzzer):
    operations = fuzzer.operations()
    labels = {op.label for op in operations}
    assert len(operations) >= 14, labels  # every route of SPEC §3, /healthz and /v/{token}

    known = seed(fuzzer)
    for role, examples in EXAMPLES.items():
        for operation in operations:
            fuzzer.cover(operation, role)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzzer.run(operation, role, mode, examples)

    # The same again with the ids of real records, so that success answers are checked as well.
    for operation in operations:
        path_parameters = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
        if not path_parameters:
            continue
        for role in EXAMPLES:
            fuzzer.run(
                operation,
                role,
                GenerationMode.POSITIVE,
                KNOWN_EXAMPLES,
                path_parameters=path_parameters,
            )
    verify = fuzzer.schema["/v/{token}"]["GET"]
    fuzzer.run(
        verify,
        "admin",
        GenerationMode.POSITIVE,
        3,
        path_parameters={"token": known["token"]},
        headers={"Accept": "application/json"},
    )

    assert not fuzzer.failures, "\n\n".join(fuzzer.failures)
    # It really ran: every operation, as every role, got coverage and schema-valid cases; negative too.
    for role in EXAMPLES:
        for mode in ("coverage", "positive"):
            missing = {label for label in labels if not fuzzer.cases[(role, label, mode)]}
            assert not missing, f"no {mode} cases for {role}: {missing}"
    negative = sum(n for (_, _, mode), n in fuzzer.cases.items() if mode == "negative")
    assert negative >= 100, fuzzer.cases
    # Success answers were among them, for reads and for writes.
    succeeded = {label for (label, status), n in fuzzer.statuses.items() if 200 <= status < 300 and n}
    for label in (
        "GET /api/v1/sessions/{session_id}",
        "GET /api/v1/certificates/{serial}/pdf",
        "GET /api/v1/certificate-requests/{request_id}",
        "POST /api/v1/certificate-requests",
        "GET /v/{token}",
        "GET /healthz",
    ):
        assert label in succeeded, (label, sorted(fuzzer.statuses.items()))
    assert sum(fuzzer.cases.values()) >= 500
