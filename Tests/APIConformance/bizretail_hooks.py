"""schemathesis hooks for the API conformance run (SCHEMATHESIS_HOOKS=bizretail_hooks).

Each generated request that carries a valid Idempotency-Key gets a fresh one. Hypothesis reuses generated values, and
two identical creates under one key are a single request to the API: the second gets the first's answer again, as
the Idempotency-Key draft requires, even after that resource was deleted. A generated case is a new request, as a
real client's would be; the replay itself is tested in IdempotencyTests and the end-to-end suites. Invalid keys (the
negative cases) are left as generated.
"""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def map_headers(context, headers):
    # At generation, so the case keeps what it was generated as (changing it before the call would validate it
    # again, and a negative case, a missing Authorization say, would turn positive).
    if headers:
        for name, value in list(headers.items()):
            if name.lower() == "idempotency-key" and isinstance(value, str) and VALID_KEY.match(value):
                headers[name] = str(uuid.uuid4())
    return headers
