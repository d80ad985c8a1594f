"""Schemathesis hooks for fuzzing the tradedesk API (run.py loads them with SCHEMATHESIS_HOOKS).

- `error_body_names_the_problem`: the custom check. Every 4xx (and 5xx) answer, from the responder
  or from nginx, must be `Content-Type: application/json` with a body `{"error": "<message>"}`
  whose message is not blank. A 4xx has no other field; a 5xx may add `id` (an order's 502/504).
- `TradedeskAuth`: the fuzzer's credentials, per operation: the API token (`Authorization: Bearer`)
  wherever a token is accepted (a quarter of those cases use the session cookie instead), the
  browser session cookie (with `Sec-Fetch-Site: same-origin`, as a browser sends it) for
  `POST /api/tokens`, which a token may not call, and nothing on the open endpoints.
- `keep_own_token`: the fuzzer's own token is never revoked (that would turn the rest of the run
  into 401s).
- `wait` on the chat long-poll is capped at a quarter of a second when it is a valid number:
  a long-poll on a quiet room is held for `wait` seconds, up to 30, and there is no setting that
  lowers that ceiling. Invalid values (negative, above 30, not a number) go through unchanged.
- `Statistics`: every answer's status per operation, written to $TDK_FUZZ_STATS as JSON at the
  end for run.py's summary (approximate: shrinking re-runs cases).

The run's settings come from the environment, set by run.py: TDK_FUZZ_TOKEN, TDK_FUZZ_TOKEN_ID,
TDK_FUZZ_SESSION, TDK_FUZZ_STATS.
"""
import ast
import collections
import json
import math
import os
import re
import sys
import threading
import zlib

import schemathesis

# CPython before 3.12 has a race in ast.parse between threads ("SystemError: AST constructor
# recursion depth mismatch", python/cpython#106905). Hypothesis parses lambdas' source to describe
# them, and with two workers that failed a case now and then; one parse at a time avoids it.
if sys.version_info < (3, 12):
    _parse = ast.parse
    _parse_lock = threading.Lock()

    def _serialized_parse(*args, **kwargs):
        with _parse_lock:
            return _parse(*args, **kwargs)

    ast.parse = _serialized_parse

TOKEN = os.environ["TDK_FUZZ_TOKEN"]
TOKEN_ID = os.environ["TDK_FUZZ_TOKEN_ID"]
SESSION = os.environ["TDK_FUZZ_SESSION"]
STATS_PATH = os.environ.get("TDK_FUZZ_STATS")

# A valid `wait` is held for this long at most (seconds).
WAIT_CAP = 0.25
DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


# -- the custom check ------------------------------------------------------------------------------

@schemathesis.check
def error_body_names_the_problem(ctx, response, case):
    """An error answer is JSON `{"error": "<non-empty message>"}`."""
    status = response.status_code
    if status < 400:
        return None
    content_type = ";".join(response.headers.get("content-type", []))
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json":
        raise AssertionError(f"{status} answered with Content-Type {content_type or '(none)'!r}, not "
                             f"application/json; body: {_excerpt(response.content)}")
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"{status} body is not JSON ({error}): {_excerpt(response.content)}") from None
    if not isinstance(body, dict):
        raise AssertionError(f"{status} body is not a JSON object: {_excerpt(response.content)}")
    message = body.get("error")
    if not isinstance(message, str) or not message.strip():
        raise AssertionError(f"{status} body has no non-empty string 'error': {_excerpt(response.content)}")
    allowed = {"error"} if status < 500 else {"error", "id"}
    extra = sorted(set(body) - allowed)
    if extra:
        raise AssertionError(f"{status} body has fields besides 'error': {extra}: {_excerpt(response.content)}")
    return None


def _excerpt(content, limit=300):
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else str(content)
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


# -- credentials -----------------------------------------------------------------------------------

# Operations whose document says `security: []`: they get no credentials.
OPEN_OPERATIONS = {"register", "login", "logout", "getHealth"}
# Operations a bearer token may not call: the session cookie instead.
SESSION_OPERATIONS = {"createToken"}
# Of the other operations' cases, one in SESSION_SHARE goes with the session cookie instead of the
# token (chosen from the case's data, so that a seed replays the same choice).
SESSION_SHARE = 4


@schemathesis.auth()
class TradedeskAuth:
    # `get` is cached across operations: it returns the same credentials for all, and `set` picks.
    def get(self, case, context):
        return {"token": TOKEN, "session": SESSION}

    def set(self, case, credentials, context):
        operation_id = context.operation.definition.raw.get("operationId", "")
        if operation_id in OPEN_OPERATIONS:
            return
        if operation_id in SESSION_OPERATIONS or _choice(case) % SESSION_SHARE == 0:
            # As a browser sends it: same-origin, else a state-changing request is refused (403).
            case.cookies = {**(case.cookies or {}), "tradedesk_session": credentials["session"]}
            case.headers = {**(case.headers or {}), "Sec-Fetch-Site": "same-origin"}
        else:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {credentials['token']}"}


def _choice(case):
    data = repr((case.path_parameters, case.query, case.body if isinstance(case.body, (dict, list, str)) else None))
    return zlib.crc32(data.encode("utf-8", "surrogatepass"))


# -- generated data adjustments --------------------------------------------------------------------

@schemathesis.hook("before_call").apply_to(method="DELETE", path="/api/tokens/{id}")
def keep_own_token(context, case, kwargs):
    """Never revoke the token the fuzzer authenticates with: aim at an id that cannot exist."""
    # The responder reads the id with Int64(_), which also takes "+1" and "001".
    if case.path_parameters and re.fullmatch(r"\+?0*" + TOKEN_ID, str(case.path_parameters.get("id"))):
        case.path_parameters = {**case.path_parameters, "id": 9_000_000_000_000 + int(TOKEN_ID)}


@schemathesis.hook("before_call").apply_to(method="GET", path="/api/rooms/{id}/messages")
def short_long_polls(context, case, kwargs):
    """A valid `wait` (0–30 s) becomes at most WAIT_CAP; anything invalid is left as generated."""
    query = case.query or {}
    if "wait" not in query:
        return
    value = query["wait"]
    if isinstance(value, str) and DECIMAL.fullmatch(value):
        seconds = float(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        return
    if math.isfinite(seconds) and WAIT_CAP < seconds <= 30:
        case.query = {**query, "wait": WAIT_CAP}


# -- statistics ------------------------------------------------------------------------------------

@schemathesis.check
class Statistics:
    """Counts answers by operation and status (always passes); written at the end of the run."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.defaultdict(collections.Counter)

    def after_response(self, ctx, response, case):
        with self.lock:
            self.counts[case.operation.label][str(response.status_code)] += 1

    def after_run(self, ctx):
        if STATS_PATH:
            with self.lock, open(STATS_PATH, "w") as f:
                json.dump({label: dict(counter) for label, counter in sorted(self.counts.items())}, f, indent=1)
