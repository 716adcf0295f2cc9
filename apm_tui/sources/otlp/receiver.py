"""The OTLP/HTTP trace receiver: `POST /v1/traces` on a standard-library threading HTTP server.

Answers as the OTLP specification (1.x, "OTLP/HTTP Response") says:

- 200 with an `ExportTraceServiceResponse` in the request's encoding (JSON `{}` or an empty
  protobuf message on full success; `partialSuccess` {rejectedSpans, errorMessage} when some
  spans were rejected, or with a warning such as a logs request sent to the traces path);
- 400 for a body that cannot be decoded, 413 for a body over the limit (before or after gunzip),
  415 for another content type or encoding, 404 for another path, 405 for another method —
  each with a `google.rpc.Status` whose message says what was wrong, in the request's encoding
  when it is known (JSON for JSON requests), protobuf otherwise;
- 500 (a Status) if decoding fails in a way it never should: never a traceback, never a word
  on stderr (the dashboard owns the terminal).

Every response keeps the connection alive when the body was read in full. When it was not (a
413 on Content-Length), the response is sent, the sending side shut, and what the client still
sends is read and thrown away for a moment before closing, so the client reads the 413 instead
of a connection reset.

A body that does not arrive in full within `BODY_TIMEOUT_S` (a client that stalled, or sends a
byte now and then) gets a 408 and the connection closes; an idle keep-alive connection is
closed after `OtlpHandler.timeout`. At most `MAX_CONNECTIONS` are served at once (a thread
each): one more gets a 503 with `Retry-After`, which OTLP exporters retry.
"""

from __future__ import annotations

import json
import re
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from apm_tui.sources.base import SourceError
from apm_tui.sources.otlp import wire
from apm_tui.sources.otlp.otlp_json import OtlpDecodeError
from apm_tui.sources.otlp.spans import Decoded

TRACES_PATH = "/v1/traces"
#: google.rpc.Code values for the Status bodies (the specification lets clients ignore them).
INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, RESOURCE_EXHAUSTED = 3, 4, 5, 8
UNIMPLEMENTED, INTERNAL = 12, 13
READ_CHUNK = 1 << 16
BODY_TIMEOUT_S = 30.0
MAX_CONNECTIONS = 128
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)
LINGER_S = 2.0
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
MAX_TRAILERS = 64

#: Called with each decoded request and its arrival time (Unix seconds), on a server thread.
OnDecoded = Callable[[Decoded, float], None]


class RequestTooLarge(Exception):
    """The body was not read in full: the connection must close after the answer."""


class RequestTimeout(Exception):
    """The body did not arrive in time: 408, then close."""


class OtlpHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        on_decoded: OnDecoded,
        max_body: int,
        family: socket.AddressFamily = socket.AF_INET,
        *,
        body_timeout: float = BODY_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.address_family = family
        self.on_decoded = on_decoded
        self.max_body = max_body
        self.body_timeout = body_timeout
        self._max = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self.errors = 0  # exceptions the handler did not expect (counted, never printed)
        self.answers: dict[int, int] = {}
        self.last_refusal = ""  # the last error answer, "404: no such path …" (one str: atomic)
        self._answers_lock = threading.Lock()
        super().__init__(address, OtlpHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up with getfqdn(), which can wait on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.errors += 1

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._turn_away(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: it would never give its slot back
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _turn_away(self, request: socket.socket) -> None:
        # On the accepting thread, so it must not block: one non-blocking send of a 503
        # (the request itself is not read; the client may see a reset instead, and retries).
        self.count(503)
        self.last_refusal = f"503: more than {self._max} connections at once"
        try:
            request.setblocking(False)
            request.send(BUSY)
        except OSError:
            pass
        self.shutdown_request(request)

    def count(self, code: int) -> None:
        with self._answers_lock:
            self.answers[code] = self.answers.get(code, 0) + 1


class OtlpHandler(BaseHTTPRequestHandler):
    server: OtlpHttpServer
    protocol_version = "HTTP/1.1"  # keep-alive: exporters reuse their connection
    timeout = 30  # an idle or stalled connection frees its thread
    server_version = "apm-tui-otlp"
    # The status line and headers go out in one write and the body in another: with Nagle's
    # algorithm on, the body waited for the client's delayed ACK — 40 ms on every request.
    disable_nagle_algorithm = True
    _deadline = 0.0  # monotonic time by which the body being read must have arrived

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the dashboard owns the terminal

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        content_type = self.headers.get("Content-Type")
        json_reply = _is_json(content_type)
        path = urlsplit(self.path).path.rstrip("/") or "/"
        if path != TRACES_PATH:
            message = f"no such path {path[:80]!r}: POST OTLP traces to {TRACES_PATH}"
            return self._refuse(404, NOT_FOUND, message, json_reply)
        if self.command != "POST":
            message = f"use POST for {TRACES_PATH}"
            return self._refuse(405, UNIMPLEMENTED, message, json_reply, allow="POST")
        try:
            kind = wire.media_type(content_type)
            gzip = wire.is_gzip(self.headers.get("Content-Encoding"))
        except wire.UnsupportedMedia as exc:
            return self._refuse(415, INVALID_ARGUMENT, str(exc), json_reply)
        try:
            body = self._read_body()
            decoded = wire.decode_body(body, kind, "gzip" if gzip else None, self.server.max_body)
        except RequestTooLarge as exc:
            self.close_connection = True
            self._status(413, RESOURCE_EXHAUSTED, str(exc), json_reply)
            return self._linger()
        except wire.BodyTooLarge as exc:
            return self._status(413, RESOURCE_EXHAUSTED, str(exc), json_reply)
        except RequestTimeout as exc:
            self.close_connection = True
            return self._status(408, DEADLINE_EXCEEDED, str(exc), json_reply)
        except OtlpDecodeError as exc:  # and BadFraming
            return self._status(400, INVALID_ARGUMENT, str(exc), json_reply)
        except OSError:  # the client went away
            self.close_connection = True
            return None
        except SourceError as exc:  # opentelemetry-proto missing: the message says so
            return self._status(500, INTERNAL, str(exc), json_reply)
        except Exception as exc:  # a decoder bug must not become a traceback or a dead thread
            self.server.errors += 1
            message = f"internal error: {type(exc).__name__}"
            return self._status(500, INTERNAL, message, json_reply)
        self.server.on_decoded(decoded, time.time())
        return self._success(decoded, json_reply)

    def _refuse(
        self, code: int, rpc_code: int, message: str, json_reply: bool, allow: str = ""
    ) -> None:
        """Answer without looking at the body (read and dropped, or refused if too large)."""
        try:
            self._read_body()
            complete = True
        except (RequestTooLarge, OtlpDecodeError, RequestTimeout):
            complete = False
            self.close_connection = True
        except OSError:
            self.close_connection = True
            return
        self._status(code, rpc_code, message, json_reply, allow)
        if not complete:
            self._linger()

    # -- request body --------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        limit = self.server.max_body
        self._deadline = time.monotonic() + self.server.body_timeout
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._read_chunked(limit)
            length = self._content_length()
            if length > limit:
                raise RequestTooLarge(f"the body ({length} bytes) is over {limit} bytes")
            data = self._read(length)
        except TimeoutError:
            raise RequestTimeout(
                f"the body did not arrive within {self.server.body_timeout:g} s"
            ) from None
        finally:
            self.connection.settimeout(self.timeout)
        if len(data) < length:
            self.close_connection = True
            raise BadFraming("the body is shorter than its Content-Length")
        return data

    def _read(self, size: int) -> bytes:
        """Up to `size` bytes, fewer only at the end of the stream. One socket read at a time
        (`read1`) with what is left of the body's time as its timeout: a plain `read` waits
        for the whole size, and a client sending a byte now and then would never time out."""
        parts: list[bytes] = []
        got = 0
        while got < size:
            self._budget()
            part = self.rfile.read1(min(size - got, READ_CHUNK))
            if not part:
                break
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def _line(self, limit: int) -> bytes:
        self._budget()
        return self.rfile.readline(limit)

    def _budget(self) -> None:
        """What is left of the body's time, as the socket's timeout for the next read."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.connection.settimeout(min(left, self.timeout))

    def _content_length(self) -> int:
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 0  # HTTP/1.1: a request without length or chunking has no body
        raw = raw.strip()
        if not raw.isascii() or not raw.isdigit():
            self.close_connection = True
            raise BadFraming(f"bad Content-Length {raw[:40]!r}")
        return int(raw)

    def _read_chunked(self, limit: int) -> bytes:
        out = bytearray()
        while True:
            field = self._line(1024).split(b";", 1)[0].strip()
            # Hex digits only: int() would also take "-1" (read to the end of the stream,
            # past the limit), "+1", "0x1" and "1_0".
            if not CHUNK_SIZE.fullmatch(field):
                self.close_connection = True
                raise BadFraming("bad chunk size in a chunked body")
            size = int(field, 16)
            if size == 0:
                for _ in range(MAX_TRAILERS):
                    if self._line(1024) in (b"\r\n", b"\n", b""):
                        return bytes(out)
                self.close_connection = True
                raise BadFraming(f"more than {MAX_TRAILERS} trailer lines in a chunked body")
            if len(out) + size > limit:
                raise RequestTooLarge(f"the chunked body is over {limit} bytes")
            chunk = self._read(size)
            self._line(8)
            if len(chunk) < size:
                self.close_connection = True
                raise BadFraming("the chunked body is truncated")
            out += chunk

    def _linger(self) -> None:
        """After an answer to a body we did not read: let the client finish sending first."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.5)
            deadline = time.monotonic() + LINGER_S
            while time.monotonic() < deadline and self.connection.recv(READ_CHUNK):
                pass
        except OSError:
            pass

    # -- responses -----------------------------------------------------------------------------
    def _success(self, decoded: Decoded, json_reply: bool) -> None:
        rejected, message = decoded.rejected, decoded.reason
        if json_reply:
            response: dict[str, Any] = {}
            if rejected or message:
                # int64 is a decimal string in the proto3 JSON mapping.
                partial = {"rejectedSpans": str(rejected), "errorMessage": message}
                response["partialSuccess"] = partial
            self._send(200, json.dumps(response).encode(), wire.JSON)
        else:
            from apm_tui.sources.otlp.proto import encode_response

            self._send(200, encode_response(rejected, message), wire.PROTOBUF)

    def _status(
        self, code: int, rpc_code: int, message: str, json_reply: bool, allow: str = ""
    ) -> None:
        if json_reply:
            body = json.dumps({"code": rpc_code, "message": message}).encode()
        else:
            from apm_tui.sources.otlp.proto import encode_status

            body = encode_status(rpc_code, message)
        headers = {"Allow": allow} if allow else {}
        self.server.last_refusal = f"{code}: {message}"
        self._send(code, body, wire.JSON if json_reply else wire.PROTOBUF, headers)

    def _send(
        self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.server.count(code)
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            self.close_connection = True


class BadFraming(OtlpDecodeError):
    """The HTTP framing of the body is wrong (length, chunks): HTTP 400, then close."""


def _is_json(content_type: str | None) -> bool:
    try:
        return wire.media_type(content_type) == wire.JSON
    except wire.UnsupportedMedia:
        return False
