from __future__ import annotations

from typing import Dict, Iterator

import pytest

from tests.services.core_banking.server import CoreBankingServer

CUSTOMERS = ("C1001", "C1002", "C1003", "C1004")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreBankingServer]:
    with CoreBankingServer(tmp_path_factory.mktemp("core-banking")) as running:
        yield running


@pytest.fixture(scope="session")
def tokens(server: CoreBankingServer) -> Dict[str, str]:
    return {customer: server.login(customer) for customer in CUSTOMERS}


@pytest.fixture()
def faults_reset(server: CoreBankingServer) -> Iterator[CoreBankingServer]:
    server.set_faults(0, 0.0)
    yield server
    server.set_faults(0, 0.0)


def bearer(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
