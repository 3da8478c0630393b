"""moto's DynamoDB server for the tests, answering one request at a time.

moto's own server (`python3 -m moto.server`) runs requests on threads without
locking its backend, so two concurrent conditional writes to one item can both pass
their condition: a lost update that real DynamoDB never allows (each UpdateItem and
PutItem is atomic per item). The store's conformance suite checks exactly that, so
the tests serve moto behind one lock. Usage: moto-server.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialized(environ, start_response):
    # The whole response is produced inside the lock, so no write interleaves.
    with lock:
        return list(app(environ, start_response))


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), serialized, threaded=True)
