"""Fetching a video from a URL without letting the server be used to reach places it should not.

    limits = FetchLimits(max_bytes=200 << 20, allow=("10.0.0.0/8",))
    fetch_to_file("https://example.org/clip.mp4", "/tmp/x.mp4", limits)

Rules: http and https only; the host is resolved here and every address it resolves to must be public (not
private, loopback, link-local, multicast, reserved...) unless an allow-listed network contains it; the connection
goes to the address that was checked (no second lookup an attacker could answer differently); redirects are
followed by hand, each hop checked the same way, at most `max_redirects`; connect, read and total timeouts; the
body is counted while it streams and cut off at `max_bytes`.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from . import __version__
from .errors import VidtypeError

REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024


class FetchError(VidtypeError):
    """The URL could not be fetched (the origin failed, or answered with an error)."""

    code = "fetch_failed"
    status = 502


class InvalidURL(FetchError):
    code = "invalid_url"
    status = 400


class URLRefused(FetchError):
    """The URL points somewhere the server does not fetch from (a private address, another scheme)."""

    code = "url_refused"
    status = 403


class FetchTimeout(FetchError):
    code = "fetch_timeout"
    status = 504


class FetchTooLarge(FetchError):
    code = "fetch_too_large"
    status = 413


class TooManyRedirects(FetchError):
    code = "too_many_redirects"
    status = 502


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int | None = 200 * 1024 * 1024  # None: no cap (live streams)
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    total_timeout_s: float | None = 120.0  # None: no overall deadline (live streams)
    max_redirects: int = 5
    allow: tuple[str, ...] = ()  # networks permitted although not public


@dataclass(frozen=True)
class Destination:
    """A checked URL: where to connect (`address`) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query
    address: str


def _why_not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if getattr(ip, "ipv4_mapped", None):
        return _why_not_public(ip.ipv4_mapped)
    for attr, words in (("is_loopback", "a loopback"), ("is_link_local", "a link-local"),
                        ("is_multicast", "a multicast"), ("is_unspecified", "an unspecified"),
                        ("is_private", "a private"), ("is_reserved", "a reserved")):
        if getattr(ip, attr):
            return f"{words} address"
    return None if ip.is_global else "a non-public address"


def _allowed(ip, allow: tuple[str, ...]) -> bool:
    return any(ip in ipaddress.ip_network(entry, strict=False) for entry in allow)


def check_url(url: str, allow: tuple[str, ...] = ()) -> Destination:
    """Parse, resolve and vet one URL; raise `InvalidURL` or `URLRefused` saying why it is refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise InvalidURL(f"not a valid URL: {url!r} ({e})") from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise URLRefused(f"refused {url!r}: only http and https URLs are fetched, not {scheme or 'a bare path'!r}")
    host = parts.hostname
    if not host:
        raise InvalidURL(f"not a valid URL: {url!r} has no host")
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError(f"cannot resolve {host!r}: {e}") from e
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for a in addresses:
        ip = ipaddress.ip_address(a.split("%")[0])
        why = _why_not_public(ip)
        if why and not _allowed(ip, allow):
            shown = f"{host} is" if host == a else f"{host} resolves to {a}, which is"
            raise URLRefused(f"refused {url!r}: {shown} {why}; the server only fetches from public addresses "
                             f"unless its FETCH_ALLOW setting permits the network")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(url, scheme, host, port, target, addresses[0])


def _connection(dest: Destination, limits: FetchLimits) -> http.client.HTTPConnection:
    cls = http.client.HTTPSConnection if dest.scheme == "https" else http.client.HTTPConnection
    conn = cls(dest.host, dest.port, timeout=limits.connect_timeout_s)

    def connect_to_checked_address(address, timeout=None, source_address=None, *args):
        # Connect to the address check_url vetted; TLS still verifies the certificate against the host name.
        sock = socket.create_connection((dest.address, dest.port), limits.connect_timeout_s)
        sock.settimeout(limits.read_timeout_s)
        return sock

    conn._create_connection = connect_to_checked_address
    return conn


class Response:
    """An open, checked HTTP response: `read(n)` enforces the size cap and the overall deadline."""

    def __init__(self, conn, resp, url: str, limits: FetchLimits, deadline: float | None):
        self._conn, self._resp, self.url, self._limits, self._deadline = conn, resp, url, limits, deadline
        self.content_type = resp.getheader("Content-Type", "")
        self.bytes_read = 0

    def read(self, n: int = CHUNK) -> bytes:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise FetchTimeout(f"fetching {self.url} took longer than {self._limits.total_timeout_s:g} s")
        try:
            data = self._resp.read1(n)  # what has arrived, up to n bytes: a live stream flows on
        except (TimeoutError, socket.timeout) as e:
            raise FetchTimeout(f"{self.url} sent nothing for {self._limits.read_timeout_s:g} s") from e
        except (OSError, http.client.HTTPException) as e:
            raise FetchError(f"reading {self.url} failed: {e}") from e
        self.bytes_read += len(data)
        cap = self._limits.max_bytes
        if cap is not None and self.bytes_read > cap:
            raise FetchTooLarge(f"{self.url} is larger than the limit of {cap} bytes")
        return data

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_url(url: str, limits: FetchLimits) -> Response:
    """GET `url` following redirects by hand; every hop is checked with `check_url`."""
    deadline = time.monotonic() + limits.total_timeout_s if limits.total_timeout_s else None
    for _ in range(limits.max_redirects + 1):
        dest = check_url(url, limits.allow)
        conn = _connection(dest, limits)
        try:
            conn.request("GET", dest.target, headers={"User-Agent": f"vidtype/{__version__}", "Accept": "*/*",
                                                      "Accept-Encoding": "identity"})
            resp = conn.getresponse()
        except (TimeoutError, socket.timeout) as e:
            conn.close()
            raise FetchTimeout(f"{dest.host}:{dest.port} did not answer in time ({e or 'timeout'})") from e
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise FetchError(f"cannot fetch {url}: {e}") from e
        if resp.status in REDIRECTS:
            location = resp.getheader("Location")
            conn.close()
            if not location:
                raise FetchError(f"{url} answered {resp.status} without a Location")
            url = urljoin(url, location)
            continue
        if resp.status != 200:
            conn.close()
            raise FetchError(f"{url} answered HTTP {resp.status} {resp.reason}")
        length = resp.getheader("Content-Length")
        if limits.max_bytes is not None and length and length.isdigit() and int(length) > limits.max_bytes:
            conn.close()
            raise FetchTooLarge(f"{url} is {int(length)} bytes, more than the limit of {limits.max_bytes}")
        return Response(conn, resp, url, limits, deadline)
    raise TooManyRedirects(f"more than {limits.max_redirects} redirects starting from the URL given")


def fetch_to_file(url: str, path: str, limits: FetchLimits) -> int:
    """Download `url` into `path` under `limits`; returns the number of bytes written."""
    with open_url(url, limits) as resp, open(path, "wb") as out:
        while chunk := resp.read(CHUNK):
            out.write(chunk)
        return resp.bytes_read
