"""moto's server with one request at a time: `python tests/moto_server.py PORT`.

DynamoDB applies each conditional write atomically; moto's threaded server does not
(a condition and its update can interleave with another request's), so concurrency
tests of our conditional writes would see races DynamoDB never has. Requests still
arrive on many connections at once; only their handling is serialised.
"""

import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

moto = DomainDispatcherApplication(create_backend_app)
one_at_a_time = threading.Lock()


def serialised(environ, start_response):
    with one_at_a_time:
        return list(moto(environ, start_response))


if __name__ == "__main__":
    run_simple(
        "127.0.0.1",
        int(sys.argv[1]),
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )
