"""amlgen what-if / deploy against bad option values, a hanging endpoint, echoed secrets and a proxy's HTML page.

Everything runs through the real CLI (main() in-process) against the loopback ARM stand-in or a local socket that
never answers, with the fake credential of the deploy tests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from urllib.parse import quote, quote_plus

import pytest

pytest.importorskip("azure.mgmt.resource.deployments", reason="the deploy extra: pip install -e '.[test]'")
pytest.importorskip("trustme", reason="the test extra: pip install -e '.[test]'")

try:
    from tests.armstandin import Fault, _arm_error
    from tests.deploy_fixtures import SUBSCRIPTION, arm, fake_credential, standin, standin_ca  # noqa: F401
    from tests.test_deploy import _spec, amlgen, with_group  # noqa: F401
except ImportError:  # tests/ itself is on sys.path (no tests/__init__.py)
    from armstandin import Fault, _arm_error
    from deploy_fixtures import SUBSCRIPTION, arm, fake_credential, standin, standin_ca  # noqa: F401
    from test_deploy import _spec, amlgen, with_group  # noqa: F401

from generator import deploy, redact

SPEC = "examples/defaults.yaml"


def _no_arm_calls(standin) -> bool:
    return not standin.server.received(path_contains="/subscriptions/")


# -- malformed option values: usage errors (exit 2), one line, before anything is asked of Azure -----------------

BAD_OPTIONS = [
    (("--arm-endpoint", "https://[::1"), "--arm-endpoint 'https://[::1'"),
    (("--arm-endpoint", "http://127.0.0.1:8443"), "not an https:// URL"),
    (("--arm-endpoint", ""), "--arm-endpoint '' (or $AMLGEN_ARM_ENDPOINT): empty"),
    (("--arm-endpoint", "https://127.0.0.1:99999"), "--arm-endpoint 'https://127.0.0.1:99999'"),
    (("--arm-endpoint", "https://user:pw@127.0.0.1"), "give the scheme, host and optional port"),
    (("--arm-endpoint", "https://"), "give the scheme, host and optional port"),
    (("--arm-endpoint", "management.azure.com"), "not an https:// URL"),
    (("-s", ""), "--subscription empty: a subscription ID is a GUID"),
    (("-s", "   "), "--subscription empty"),
    (("-s", "my-subscription"), "--subscription 'my-subscription': a subscription ID is a GUID"),
    (("-s", SUBSCRIPTION + "\n"), "a subscription ID is a GUID"),
    (("-g", ""), "--resource-group '': a resource group name has 1-90"),
    (("-g", "rg-ml."), "does not end with '.'"),
    (("-g", "rg/ml"), "--resource-group 'rg/ml'"),
    (("-g", "r" * 91), "a resource group name has 1-90"),
    (("-g", "rg-ml\n"), "a resource group name has 1-90"),
]


@pytest.mark.parametrize("command", ["what-if", "deploy"])
@pytest.mark.parametrize("option, message", BAD_OPTIONS, ids=[" ".join(o) or "empty" for o, _ in BAD_OPTIONS])
def test_malformed_option_value_is_a_one_line_usage_error(command, option, message, amlgen, standin):
    with_group(standin)
    extra = ("--yes",) if command == "deploy" else ()
    done = amlgen(command, SPEC, *amlgen.azure, *option, *extra)
    assert done.code == 2, done.err
    assert done.err.startswith("amlgen: ") and done.err.count("\n") == 1, done.err
    assert message in done.err
    assert "Traceback" not in done.err and "internal error" not in done.err
    assert _no_arm_calls(standin)


@pytest.mark.parametrize("option, message", [
    (("--location", ""), "--location '': a region name"),
    (("--location", "west/europe"), "--location 'west/europe'"),
    (("--write-config", ""), "--write-config '': give the path"),
])
def test_malformed_deploy_only_option_is_a_usage_error(option, message, amlgen, standin):
    with_group(standin)
    done = amlgen("deploy", SPEC, *amlgen.azure, "--yes", *option)
    assert done.code == 2 and message in done.err and done.err.count("\n") == 1, done.err
    assert _no_arm_calls(standin)


def test_malformed_endpoint_from_the_environment_is_a_usage_error(amlgen, standin, monkeypatch):
    monkeypatch.setenv(deploy.ARM_ENDPOINT_ENV, "https://[::1")
    done = amlgen("what-if", SPEC, *amlgen.azure)
    assert done.code == 2 and "(or $AMLGEN_ARM_ENDPOINT)" in done.err and "Traceback" not in done.err
    assert _no_arm_calls(standin)


def test_a_good_endpoint_with_a_path_and_the_stand_in_still_work(amlgen, standin):
    """The checks refuse only malformed values: the stand-in's own https URL (with a trailing slash) passes."""
    with_group(standin)
    done = amlgen("what-if", SPEC, *amlgen.azure, "--arm-endpoint", standin.url + "/")
    assert done.code == 0, done.err


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_request_timeout_must_be_a_positive_number(value, amlgen, standin):
    done = amlgen("what-if", SPEC, *amlgen.azure, "--request-timeout", value)
    assert done.code == 2 and "--request-timeout" in done.err
    assert _no_arm_calls(standin)


# -- an endpoint that accepts the connection and never answers -------------------------------------------------

class SilentServer:
    """Accepts connections on 127.0.0.1 and never sends a byte (with tls, completes the TLS handshake first)."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.held: list[socket.socket] = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.accepted += 1
            if self.context is not None:
                try:
                    conn.settimeout(5)
                    conn = self.context.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    conn.close()
                    continue
            self.held.append(conn)  # and never answer

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self.held:
            conn.close()
        self.listener.close()


@pytest.fixture(params=["tcp", "tls"])
def silent(request, standin_ca):
    context = None
    if request.param == "tls":  # the handshake completes (the stand-in's CA signs it): the read timeout hits
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        standin_ca.issue_cert("127.0.0.1").configure_cert(context)
    server = SilentServer(context)
    try:
        yield server
    finally:
        server.close()


def test_endpoint_that_never_answers_says_so_while_waiting_and_exits_naming_it(silent, amlgen, standin):
    began = time.monotonic()
    done = amlgen("what-if", SPEC, *amlgen.azure, "--arm-endpoint", silent.url, "--request-timeout", "1")
    took = time.monotonic() - began

    assert done.code == 1, done.err
    assert silent.accepted >= 1
    assert f"  waiting: no answer yet from {silent.url}/ to POST …/" in done.err
    assert "(amlgen gives up after 1 s without an answer; --request-timeout)" in done.err
    last = done.err.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"amlgen: what-if of {SPEC}: ") and silent.url in last, done.err
    assert ("accepted the connection but sent no answer within 1 s" in last
            or "no connection (TCP and TLS handshake) within 1 s" in last), last
    assert "Traceback" not in done.err
    assert took < 20, f"gave up after {took:.1f} s"


def test_connection_options_reach_the_sdk_clients(arm):
    """connect and read timeouts are set on the clients' transport (azure-core's default is 300 s each)."""
    arm.request_timeout = 7.0
    for client in arm.clients():
        config = client._client._pipeline._transport.connection_config
        assert (config.timeout, config.read_timeout) == (7.0, 7.0)
    arm.request_timeout = 0.0
    config = arm.clients()[1]._client._pipeline._transport.connection_config
    assert (config.timeout, config.read_timeout) == (deploy.CONNECT_TIMEOUT, deploy.REQUEST_TIMEOUT)


# -- AMLGEN_SECRET_* values echoed back by what-if ------------------------------------------------------------

KEYS_SPEC = ("name: churn-keys\ndatastores:\n  legacy:\n    type: fileShare\n    fileShare: reports\n"
             "    credentials: accountKey\n    account: /subscriptions/00000000-0000-0000-0000-000000000000/"
             "resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st\n")
SECRET_ENV = "AMLGEN_SECRET_DATASTORELEGACYACCOUNTKEY"
SECRETS = {
    "quote": 'k3y"with"quotes-9f2',
    "backslash": "C:\\keys\\store\\k9-4410",
    "newline": "first-line-77\nsecond-line-88",
    "non-ascii": "clé-secrète-ünïcödé-42",
    "astral": "key-😀-beyond-bmp-31",
    "url-ish": "a/b+c=d%e&f g?h#i-0003",
    "long account key": "Zm9vYmFyYmF6cXV4" * 5 + "x/Y+z==",  # 87 characters: what-if text clips it
}


def _what_if_echoing(secret: str) -> dict:
    ds = ("/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-ml/providers/"
          "Microsoft.MachineLearningServices/workspaces/churn-keys/datastores/legacy")
    return {"status": "Succeeded", "properties": {"changes": [
        {"resourceId": ds, "changeType": "Modify", "delta": [
            {"path": "properties.credentials.secrets.key", "propertyChangeType": "Modify",
             "before": "previous-value", "after": secret},
            {"path": "properties.description", "propertyChangeType": "Modify", "before": "",
             "after": json.dumps({"key": secret})},  # a JSON document inside a string: escaped twice in the text
            {"path": "properties.endpointUrl", "propertyChangeType": "Create",
             "after": "https://st.example/?sig=" + quote(secret, safe="")},
            {"path": "properties.notesForm", "propertyChangeType": "Create",
             "after": "q=" + quote_plus(secret)},
            {"path": "properties.padded", "propertyChangeType": "Create", "after": "x" * 40 + secret},
            {"path": "properties.nested", "propertyChangeType": "Create", "after": {"k": [secret]}},
            {"path": "tags.owner", "propertyChangeType": "Create", "after": secret[:3] + "-not-secret"},
        ]}]}}


def _spellings(secret: str) -> list[str]:
    """Every form the secret could be printed in (amlgen prints none)."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             json.dumps(json.dumps(secret))[1:-1], quote(secret, safe=""), quote(secret), quote_plus(secret)}
    # and any 8 characters of it in a row, raw or escaped (a clipped value must not leave a prefix behind)
    forms |= {secret[i:i + redact.MIN_LENGTH] for i in range(len(secret) - redact.MIN_LENGTH + 1)}
    return sorted(forms)


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_what_if_never_prints_a_secure_value_in_any_spelling(kind, fmt, amlgen, standin, monkeypatch, tmp_path):
    secret = SECRETS[kind]
    spec = _spec(amlgen, tmp_path, "keys.yaml", KEYS_SPEC)
    with_group(standin)
    monkeypatch.setenv(SECRET_ENV, secret)
    standin.server.what_if_override = _what_if_echoing(secret)

    done = amlgen("what-if", str(spec), *amlgen.azure, "--format", fmt)

    assert done.code == 0, done.err
    shown = done.out + done.err
    leaked = [form for form in _spellings(secret) if form in shown]
    assert not leaked, f"printed: {leaked}\n{shown}"
    assert shown.count("***") >= 6
    assert "-not-secret" in shown  # a short piece of it alone is not masked: ordinary text stays readable
    if fmt == "json":
        doc = json.loads(done.out)
        deltas = doc[str(spec)]["changes"][0]["deltas"]
        assert {d["path"]: d["after"] for d in deltas}["properties.credentials.secrets.key"] == "***"
    sent = standin.server.received("POST", "/whatIf")[-1]
    assert sent.body["properties"]["parameters"]["datastoreLegacyAccountKey"] == {"value": secret}  # Azure gets it


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_error_quoting_the_secret_escaped_is_masked(fmt, amlgen, standin, monkeypatch, tmp_path):
    secret = SECRETS["quote"] + "-é\\"
    spec = _spec(amlgen, tmp_path, "keys.yaml", KEYS_SPEC)
    with_group(standin)
    monkeypatch.setenv(SECRET_ENV, secret)
    standin.server.add_fault(Fault("POST", "/whatIf", 400, _arm_error(
        "InvalidTemplate", f"The value {json.dumps(secret)} of parameter 'key' is not valid.")))
    done = amlgen("what-if", str(spec), *amlgen.azure, "--format", fmt)
    assert done.code == 1
    shown = done.out + done.err
    assert not [form for form in _spellings(secret) if form in shown], shown
    assert "InvalidTemplate" in shown and "***" in shown


@pytest.mark.parametrize("value", ["", "Q", "QzX", "Q1w2E3r"])
def test_secure_value_too_short_to_mask_is_refused_with_the_reason(value, amlgen, standin, monkeypatch, tmp_path):
    spec = _spec(amlgen, tmp_path, "keys.yaml", KEYS_SPEC)
    with_group(standin)
    monkeypatch.setenv(SECRET_ENV, value)
    done = amlgen("what-if", str(spec), *amlgen.azure)
    assert done.code == 2, done.err
    assert done.err.startswith(f"amlgen: {SECRET_ENV} holds {len(value)} character(s): amlgen refuses secure "
                               f"values shorter than {redact.MIN_LENGTH} characters")
    assert done.err.count("\n") == 1
    if value:
        assert value not in done.err.replace(SECRET_ENV, "")
    assert _no_arm_calls(standin)


def test_secure_value_of_the_minimum_length_is_accepted_and_masked(amlgen, standin, monkeypatch, tmp_path):
    secret = "k" * (redact.MIN_LENGTH - 1) + "9"
    spec = _spec(amlgen, tmp_path, "keys.yaml", KEYS_SPEC)
    with_group(standin)
    monkeypatch.setenv(SECRET_ENV, secret)
    standin.server.what_if_override = _what_if_echoing(secret)
    done = amlgen("what-if", str(spec), *amlgen.azure)
    assert done.code == 0, done.err
    assert secret not in done.out + done.err and "***" in done.out


# -- a proxy's HTML 403 page: one line from amlgen, no SDK log or traceback ------------------------------------

@contextlib.contextmanager
def bare_root_logger():
    """The root logger as a user's process has it: no handlers. (pytest adds its own during each test, which would
    swallow what the SDK logs; without any, Python's last-resort handler prints warnings, tracebacks included, to
    stderr.)"""
    saved = logging.root.handlers[:]
    logging.root.handlers.clear()
    try:
        yield
    finally:
        logging.root.handlers[:] = saved


@pytest.mark.parametrize("command, method, path, action", [
    ("what-if", "POST", "/whatIf", f"what-if of {SPEC}"),
    ("deploy", "PUT", "/deployments/", f"deployment amlgen-churn-dev of {SPEC}"),
])
def test_html_error_page_gives_one_line_and_no_sdk_traceback(command, method, path, action, amlgen, standin):
    with_group(standin)
    standin.server.proxy_forbidden(method, path)
    with bare_root_logger():
        done = amlgen(command, SPEC, *amlgen.azure, *(("--yes",) if command == "deploy" else ()))
    assert done.code == 1
    last = done.err.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"amlgen: {action}"), done.err
    assert "HTTP 403; fix: the identity needs Contributor on resource group rg-ml" in last
    assert done.err.count("\n") == 1, done.err
    for noise in ("Traceback", "deserializ", "failsafe", "<html", "azure."):
        assert noise not in done.err


def test_html_error_page_with_verbose_shows_the_sdk_log(amlgen, standin):
    """--verbose lets every azure.* logger through (to stderr), amlgen's line still last."""
    with_group(standin)
    standin.server.proxy_forbidden("POST", "/whatIf")
    with bare_root_logger():
        done = amlgen("what-if", SPEC, *amlgen.azure, "--verbose")
    assert done.code == 1
    assert "azure sdk: azure." in done.err
    assert "failsafe deserialization" in done.err
    assert done.err.rstrip("\n").splitlines()[-1].startswith(f"amlgen: what-if of {SPEC}: HTTP 403")
    with bare_root_logger():
        quiet = amlgen("what-if", SPEC, *amlgen.azure)  # and the next run without --verbose is quiet again
    assert quiet.code == 1 and quiet.err.count("\n") == 1, quiet.err


def test_every_error_leaving_what_if_or_deploy_is_masked(monkeypatch):
    """Not only DeployError: a usage error or an unexpected exception can quote a secure value too, and main()
    prints it."""
    import click
    import pytest

    from generator import cli_deploy

    secret = "s3cr3t-value-123"
    monkeypatch.setattr(cli_deploy, "_SECRETS", cli_deploy.redact.Secrets())
    cli_deploy._SECRETS.add(secret)
    for error in (click.UsageError(f"bad {secret}"), ValueError(f"boom {secret}")):
        def fail(error=error):
            raise error
        command = cli_deploy._redacting(click.Command("x", callback=fail))
        with pytest.raises(type(error)) as caught:
            command.callback()
        shown = caught.value.message if isinstance(caught.value, click.ClickException) else str(caught.value)
        assert secret not in shown and "***" in shown
