"""The OpenAPI document (SPEC §3, §5) and the shape of every error the API gives.

The committed openapi/openapi.json must be the document the app serves; every route of SPEC §3 is in it,
with the bearer scheme on the API and none on the public routes. Errors under /api/ (and unknown routes
anywhere) are RFC 9457 problem details; the verification routes answer in their own shapes, except 429.
"""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.settings import load_settings
from tests.support import ROOT, Service

COMMITTED = ROOT / "openapi" / "openapi.json"
SCRIPT = ROOT / "scripts" / "openapi.py"
PROBLEM_JSON = "application/problem+json"

# SPEC §3, with path parameters written {…}: the contract other programs depend on.
SPEC_ROUTES = {
    ("post", "/api/v1/sessions"),
    ("get", "/api/v1/sessions"),
    ("get", "/api/v1/sessions/{…}"),
    ("put", "/api/v1/sessions/{…}/attendees"),
    ("post", "/api/v1/certificate-requests"),
    ("get", "/api/v1/certificate-requests"),
    ("post", "/api/v1/certificate-requests/{…}/notified"),
    ("get", "/api/v1/certificates/{…}/pdf"),
    ("get", "/api/v1/certificates"),
    ("post", "/api/v1/certificates/{…}/revoke"),
    ("get", "/v/{…}"),
    ("get", "/healthz"),
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location("openapi_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def differences(left: Any, right: Any, path: str = "$") -> list[str]:
    """Where two JSON documents differ, as JSON paths (the first few are enough to act on)."""
    if isinstance(left, dict) and isinstance(right, dict):
        found = []
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                found.append(f"{path}.{key} ({'only served' if key in right else 'only committed'})")
            else:
                found += differences(left[key], right[key], f"{path}.{key}")
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            d
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if left == right else [path]


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, re.sub(r"\{[^}]*\}", "{…}", path)): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


@pytest.fixture
def served(service: Service) -> dict[str, Any]:
    response = service.client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


# --- the committed document -------------------------------------------------------------------------


def test_committed_document_is_the_served_one(served: dict[str, Any]):
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    changed = differences(committed, served)
    assert not changed, (
        "openapi/openapi.json differs from the served /schema/openapi.json at "
        f"{', '.join(changed[:10])}; run `python scripts/openapi.py` and commit the result."
    )


def test_script_builds_the_served_document_without_a_server_or_database(served: dict[str, Any]):
    assert load_script().build_document() == served


def test_script_check_mode(tmp_path: Path):
    current = tmp_path / "openapi.json"
    command = [sys.executable, str(SCRIPT), "--output", str(current)]

    written = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert written.returncode == 0, written.stderr
    text = current.read_text(encoding="utf-8")
    assert (
        text.endswith("}\n")
        and text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    assert text == COMMITTED.read_text(encoding="utf-8")

    same = subprocess.run([*command, "--check"], capture_output=True, text=True, timeout=60, check=False)
    assert same.returncode == 0, same.stderr

    current.write_text(text.replace('"title": "certledger"', '"title": "stale"'), encoding="utf-8")
    stale = subprocess.run([*command, "--check"], capture_output=True, text=True, timeout=60, check=False)
    assert stale.returncode == 1
    assert "differs" in stale.stderr and "scripts/openapi.py" in stale.stderr
    assert "Traceback" not in stale.stderr
    assert '"stale"' in current.read_text(encoding="utf-8")  # --check writes nothing


# --- what the document says ---------------------------------------------------------------------------


def test_every_route_of_the_spec_is_documented(served: dict[str, Any]):
    documented = set(operations(served))
    missing = SPEC_ROUTES - documented
    assert not missing, f"SPEC §3 routes missing from the OpenAPI document: {sorted(missing)}"
    assert served["openapi"].startswith("3.")


def test_bearer_scheme_is_documented_on_the_api_and_only_there(served: dict[str, Any]):
    scheme = served["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    for (method, path), operation in operations(served).items():
        if path.startswith("/api/"):
            assert operation.get("security") == [{"bearer": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
        else:
            # Public routes: no security on the operation and none inherited from the document.
            assert not operation.get("security") and not served.get("security"), (method, path)


def test_api_errors_are_documented_as_problem_details(served: dict[str, Any]):
    problem = served["components"]["schemas"]["ProblemDetails"]
    assert {"status", "title"} <= set(problem["required"])
    for (method, path), operation in operations(served).items():
        for status, response in operation["responses"].items():
            if path.startswith("/api/") and status.startswith(("4", "5")):
                content = response.get("content", {})
                assert list(content) == [PROBLEM_JSON], (method, path, status)
                assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/ProblemDetails"}
    bodies = {key: op for key, op in operations(served).items() if "requestBody" in op}
    assert bodies, "no documented request bodies"
    for key, operation in bodies.items():
        assert {"400", "413", "415", "422"} <= set(operation["responses"]), key


def test_verification_route_documents_its_own_shapes(served: dict[str, Any]):
    verify = operations(served)[("get", "/v/{…}")]
    responses = verify["responses"]
    assert set(responses["200"]["content"]) == {"application/json", "text/html"}
    assert set(responses["404"]["content"]) == {"application/json", "text/html"}
    invalid = responses["404"]["content"]["application/json"]["schema"]
    assert invalid == {"$ref": "#/components/schemas/Invalid"}
    assert list(responses["429"]["content"]) == [PROBLEM_JSON]
    assert "Retry-After" in responses["429"]["headers"]
    assert "400" not in responses


def test_pdf_is_documented_as_a_pdf(served: dict[str, Any]):
    pdf = operations(served)[("get", "/api/v1/certificates/{…}/pdf")]["responses"]["200"]
    assert list(pdf["content"]) == ["application/pdf"]


# --- what the app answers -----------------------------------------------------------------------------


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text
    return body


def test_401_without_and_with_a_bad_token(service: Service):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = service.client.get("/api/v1/sessions", headers=headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_403_for_the_wrong_role_and_the_wrong_level(service: Service):
    wrong_role = service.intake.post(
        "/api/v1/sessions",
        json={"date": "2026-03-04", "duration_minutes": 90, "facilitators": ["Jane Doe"], "level": "hub"},
    )
    assert_problem(wrong_role, 403)
    hub_only = service.facilitator(levels=("hub",))
    wrong_level = hub_only.post(
        "/api/v1/sessions",
        json={"date": "2026-03-04", "duration_minutes": 90, "facilitators": ["Jane Doe"], "level": "central"},
    )
    assert "central" in assert_problem(wrong_level, 403)["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sessions/ses_does_not_exist",
        "/api/v1/certificate-requests/req_does_not_exist",
        "/api/v1/certificates/CL-NOPE/pdf",
    ],
)
def test_404_for_an_unknown_id(service: Service, path: str):
    assert_problem(service.admin.get(path), 404)


@pytest.mark.parametrize("path", ["/api/v1/no-such-route", "/api/nothing", "/api", "/nothing-here", "/v1"])
def test_404_for_an_unknown_route_under_api_and_elsewhere(service: Service, path: str):
    for caller in (service.admin, service.anonymous):
        body = assert_problem(caller.get(path), 404)
        assert body["instance"] == path


def test_405_for_a_method_the_route_does_not_have(service: Service):
    response = service.admin.client.delete(
        "/api/v1/sessions", headers={"Authorization": f"Bearer {service.admin.token}"}
    )
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"] and "POST" in response.headers["allow"]


def test_400_for_a_body_that_is_not_json(service: Service):
    response = service.admin.post(
        "/api/v1/sessions", content=b'{"date": "2026-03-04",', headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in assert_problem(response, 400)["detail"]


def test_422_names_the_field_that_breaks_a_rule(service: Service):
    response = service.admin.post(
        "/api/v1/sessions",
        json={"date": "2026-03-04", "duration_minutes": 10, "facilitators": ["Jane Doe"], "level": "hub"},
    )
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["duration_minutes"]
    assert "duration_minutes" in body["detail"]


def test_verification_routes_answer_in_their_own_shapes(service: Service):
    for path in ("/v/not-a-token", "/v/", "/verify/not-a-token"):
        as_json = service.client.get(path, headers={"Accept": "application/json"})
        assert as_json.status_code == 404
        assert as_json.headers["content-type"].startswith("application/json")
        assert as_json.json() == {"status": "invalid"}
        page = service.client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "could not be verified" in page.text.lower()
        assert page.headers["x-content-type-options"] == "nosniff"


def test_verification_429_is_problem_details(env: dict[str, str]):
    limited = {**env, "CERTLEDGER_PUBLIC_RATE_LIMIT": "2"}
    with TestClient(create_app(load_settings(limited), render_processes=0)) as client:
        answers = [client.get("/v/x", headers={"Accept": "application/json"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 429]
    assert_problem(answers[2], 429)
    assert int(answers[2].headers["retry-after"]) >= 1
