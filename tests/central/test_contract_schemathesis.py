"""Property-based checks of the sandbox against its OpenAPI contract
(schemathesis): every documented operation, valid and invalid inputs, 100
examples each; responses must match the documented status codes and schemas.
Faults are off here, so any 5xx is a server bug: a schema-valid request must
get 2xx or a documented refusal, never 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import central as central_pkg
from central.embedded import start_embedded

CONTRACT = Path(central_pkg.__file__).with_name("openapi.yaml")
# Documented business refusals (a key or case id already used, an amount over
# the limit) are correct answers to schema-valid requests; 5xx is not.
CONFIG = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}}})
schema = schemathesis.openapi.from_path(CONTRACT, config=CONFIG)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    handle = start_embedded(tmp_path_factory.mktemp("contract"), auto_pay_s=0)
    yield handle
    handle.stop()


@schema.parametrize()
@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_sandbox_honours_its_contract(case, live):
    # as terminal T-TEST: requests naming another terminal are 403 by contract
    case.call_and_validate(base_url=live.url, headers={"Authorization": f"Bearer {live.token_for('T-TEST')}"})
