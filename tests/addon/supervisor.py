"""A stand-in for the Supervisor's HTTP API, as the add-on container reaches it (`http://supervisor`).

It answers the three things the add-on asks for: `GET /services/mqtt` (400 "not available" as
without the Mosquitto add-on, or the credentials given with --mqtt), `POST /discovery` (the
Wyoming announcement, answered with a uuid) and the `/core/websocket` proxy, which answers 502
as the Supervisor does while Home Assistant Core is not up. Every request is appended as one JSON
line to --log, so that the test reads what the add-on sent. Standard library only: it runs in a
container of the add-on image itself, with the image's Python.
"""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Supervisor(BaseHTTPRequestHandler):
    token = ""
    log_path = Path("/dev/null")
    mqtt: dict | None = None
    lock = threading.Lock()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        authorized = self.headers.get("Authorization") == f"Bearer {self.token}"
        self._record({"method": self.command, "path": self.path, "authorized": authorized,
                      "body": json.loads(body) if body else None})
        if self.path == "/core/websocket":
            self._answer(502, {"result": "error", "message": "Home Assistant Core is not up"})
        elif not authorized:
            self._answer(401, {"result": "error", "message": "Unauthorized"})
        elif self.command == "GET" and self.path == "/services/mqtt":
            if self.mqtt is None:
                self._answer(400, {"result": "error", "message": "Service not available"})
            else:
                self._answer(200, {"result": "ok", "data": self.mqtt})
        elif self.command == "POST" and self.path == "/discovery":
            self._answer(200, {"result": "ok", "data": {"uuid": uuid.uuid4().hex}})
        else:
            self._answer(404, {"result": "error", "message": f"no {self.path} here"})

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, entry: dict) -> None:
        with self.lock, self.log_path.open("a") as log:
            log.write(json.dumps(entry) + "\n")

    def log_message(self, format: str, *args: object) -> None:  # the JSON log says it all
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--token", required=True, help="the add-on's SUPERVISOR_TOKEN")
    parser.add_argument("--log", type=Path, required=True, help="JSON lines of the requests")
    parser.add_argument("--mqtt", type=json.loads, help="JSON of the mqtt service, if any")
    args = parser.parse_args()
    Supervisor.token, Supervisor.log_path, Supervisor.mqtt = args.token, args.log, args.mqtt
    ThreadingHTTPServer(("0.0.0.0", args.port), Supervisor).serve_forever()


if __name__ == "__main__":
    main()
