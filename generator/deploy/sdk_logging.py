"""Where the Azure SDK's own log lines go: nowhere unless --verbose, then to stderr, each after its logger's name."""

from __future__ import annotations

import logging
import sys


def route_sdk_logging(verbose: bool) -> None:
    """Keep the SDK's own logging off stderr unless --verbose: azure.identity's multi-line warning chain, and the
    clients' "failsafe deserialization" warning with a traceback when an error body is not JSON (a proxy's HTML
    page). amlgen's own one-line error says what went wrong. With --verbose, every `azure.*` logger prints to
    stderr (warnings, and the requests and responses the SDK logs at INFO)."""
    sdk = logging.getLogger("azure")
    logging.getLogger("azure.identity").propagate = True  # to `azure`, routed below (was cut off on its own)
    for handler in [h for h in sdk.handlers if isinstance(h, (_SdkStderr, logging.NullHandler))]:
        sdk.removeHandler(handler)
    sdk.propagate = False  # never to the root logger (Python's last-resort handler prints warnings with tracebacks)
    if verbose:
        sdk.addHandler(_SdkStderr())
        sdk.setLevel(logging.INFO)
    else:
        sdk.addHandler(logging.NullHandler())
        sdk.setLevel(logging.NOTSET)


class _SdkStderr(logging.StreamHandler):
    """The Azure SDK's log lines (--verbose) on the sys.stderr of the moment, each after its logger's name."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("azure sdk: %(name)s: %(message)s"))

    @property
    def stream(self):  # click and tests swap sys.stderr: always write to the current one
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass
