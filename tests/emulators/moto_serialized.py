"""moto's server with one request at a time.

DynamoDB applies each write, conditional update and transaction atomically. moto's backends
hold no locks, so under the threaded server two concurrent writes to one item can interleave
and lose an update. Serialising the WSGI application restores DynamoDB's per-request atomicity
while connections are still accepted concurrently. Usage: moto_serialized.py HOST PORT
"""

import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

_lock = threading.Lock()
_app = DomainDispatcherApplication(create_backend_app)


def serialized(environ, start_response):
    with _lock:
        return list(_app(environ, start_response))


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
