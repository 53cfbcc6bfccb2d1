"""Pytest fixtures for deploy tests: a running ARM stand-in, its CA bundle, and a credential that never signs in.

Import the fixtures into a test module (`from deploy_fixtures import standin, arm, fake_credential`); they are
kept out of conftest.py so that only the deploy tests pay for trustme and the stand-in.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import trustme

try:
    from tests.armstandin import ArmStandIn
except ImportError:  # tests/ is on sys.path instead (pytest's default rootdir-less import mode)
    from armstandin import ArmStandIn

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"


class FakeCredential:
    """Hands out a fixed bearer token and remembers the scopes it was asked for; never touches the network."""

    def __init__(self, token: str = "fake-token") -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: object):
        from azure.core.credentials import AccessToken

        with self._lock:
            self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


@dataclass
class StandInHandle:
    """What the `standin` fixture yields: the server, its URL and the CA bundle that trusts it."""

    server: ArmStandIn
    url: str
    ca_path: str


@pytest.fixture(scope="session")
def standin_ca() -> trustme.CA:
    """One test CA per session: generating keys is the slow part of starting a stand-in."""
    return trustme.CA()


# Threads a deploy test can leave behind: the SDK's pollers, deploy_many's workers, the what-if pool, the waiting
# notices. They must end before the test does, or what they print lands in the next test's output.
_CLIENT_THREADS = ("LROPoller", "amlgen-", "ThreadPoolExecutor")
THREAD_DEADLINE = 10.0


def join_client_threads(before: set[threading.Thread], deadline: float = THREAD_DEADLINE) -> list[str]:
    """Wait (up to `deadline` s) for the client threads started since `before`; the names of those still alive."""
    until = time.monotonic() + deadline
    started = [t for t in threading.enumerate() if t not in before and t.name.startswith(_CLIENT_THREADS)]
    for thread in started:
        thread.join(max(0.0, until - time.monotonic()))
    return [t.name for t in started if t.is_alive()]


@pytest.fixture
def standin(standin_ca: trustme.CA, tmp_path: Path) -> Iterator[StandInHandle]:
    """A fresh ARM stand-in on 127.0.0.1 (free port) for each test.

    On the way out, the client threads the test started are joined while the stand-in still answers (a poll in
    flight completes, and a stopped poller ends at its next sleep), then the stand-in stops; a thread still alive
    after THREAD_DEADLINE fails the test."""
    before = set(threading.enumerate())
    server = ArmStandIn(ca=standin_ca)
    ca_path = str(tmp_path / "standin-ca.pem")
    url = server.start(ca_path)
    try:
        yield StandInHandle(server, url, ca_path)
    finally:
        alive = join_client_threads(before)
        server.stop()
    assert not alive, f"threads still running after the test: {alive}"


@pytest.fixture
def fake_credential() -> FakeCredential:
    return FakeCredential()


@pytest.fixture
def arm(standin: StandInHandle, fake_credential: FakeCredential, monkeypatch: pytest.MonkeyPatch):
    """An ArmConnection to the stand-in with the fake credential; retries are collected in arm.retries."""
    from generator import deploy

    monkeypatch.delenv(deploy.ARM_ENDPOINT_ENV, raising=False)
    retries: list[str] = []
    conn = deploy.connect(SUBSCRIPTION, credential=fake_credential, arm_endpoint=standin.url,
                          connection_verify=standin.ca_path, on_retry=retries.append)
    conn.retries = retries  # type: ignore[attr-defined]
    return conn


@pytest.fixture
def cli_against_standin(standin: StandInHandle, fake_credential: FakeCredential, monkeypatch: pytest.MonkeyPatch,
                        run_main):
    """The real `amlgen` main() in-process, signed in with the fake credential and pointed at the stand-in."""
    from generator import deploy

    monkeypatch.setattr(deploy.signin, "make_credential", lambda *args, **kwargs: fake_credential)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin.ca_path)
    monkeypatch.setenv(deploy.ARM_ENDPOINT_ENV, standin.url)
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    return run_main
