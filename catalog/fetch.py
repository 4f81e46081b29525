"""Fetch a shop's image URL without letting it reach anything but the public internet.

Rules, in the order applied (each refusal is a FetchRefused with a sentence):
1. http or https only; no credentials in the URL.
2. The host is resolved once; every address it resolves to must be public
   (no loopback, private, link-local, shared, multicast, reserved or
   unspecified address, IPv4 or IPv6, including IPv4-mapped IPv6), and the
   connection goes to that address (pinned: a second DNS answer cannot
   swap in 127.0.0.1 between the check and the connection). HTTPS still
   verifies the certificate against the host name.
3. Redirects (at most 3) are followed by hand, each target checked again.
4. The body stops at SDSTUDIO_FETCH_MAX_BYTES (a Content-Length over it is
   refused before reading) and the whole fetch at SDSTUDIO_FETCH_TIMEOUT
   seconds, however slowly the server drips.
5. What comes back is decided by the decoded bytes: it goes through the same
   photo intake as an upload (catalog.intake), never by its content type.

SDSTUDIO_FETCH_ALLOW_HOSTS lists addresses allowed despite rule 2: for tests
with a local HTTP server, never for production.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

MAX_REDIRECTS = 3
USER_AGENT = "SD-Studio-image-fetcher/1.0"


class FetchRefused(Exception):
    """The URL or its answer is refused; the message says why, for the row's report."""


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052's well-known prefix: the last 32 bits are an IPv4 address


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped, 6to4 (2002::/16), Teredo (2001::/32) or NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # (server, client): the client is where packets end up
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        ip = embedded_ipv4(ip) or ip
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local or ip.is_private)


def resolve(host: str, port: int) -> str:
    """The one address to connect to, after checking every address the name resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(gettext("The host “%(value)s” could not be resolved (%(strerror)s).")
                           % {"value": host[:100], "strerror": exc.strerror}) from None
    except (UnicodeError, ValueError):  # the IDNA codec refuses a label over 63 characters, an empty label, ...
        raise FetchRefused(gettext("“%(value)s” is not a valid host name.") % {"value": host[:100]}) from None
    addresses = [info[4][0] for info in infos]
    allowed = set(settings.SDSTUDIO_FETCH_ALLOW_HOSTS)
    for address in addresses:
        if address not in allowed and not _public(address.split("%")[0]):
            raise FetchRefused(gettext("%(host)s resolves to %(address)s, which is not a public internet address; SD Studio only fetches "
                                       "images from the public internet.") % {"host": host, "address": address})
    return addresses[0]


def _open_socket(address: str, port: int, timeout: float) -> socket.socket:
    """The fetcher's one way out: every connection it makes goes to an address ``resolve`` has checked."""
    return socket.create_connection((address, port), timeout)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = _open_socket(self._address, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        raw = _open_socket(self._address, self.port, self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # the certificate must match the name


def fetch(url: str) -> tuple[bytes, str]:
    """(body, final URL) of an image URL, under the rules above; raises FetchRefused."""
    deadline = time.monotonic() + settings.SDSTUDIO_FETCH_TIMEOUT
    limit = settings.SDSTUDIO_FETCH_MAX_BYTES
    for _ in range(MAX_REDIRECTS + 1):
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", a port that is not a number
            raise FetchRefused(gettext("The image link “%(value)s” is not a valid URL (%(exc)s).")
                               % {"value": url[:200], "exc": exc}) from None
        if parts.scheme not in ("http", "https"):
            raise FetchRefused(gettext("Only http and https image links are fetched, not %(value)s:.")
                               % {"value": parts.scheme or 'a bare path'})
        if not parts.hostname:
            raise FetchRefused(gettext("The image link has no host name."))
        if parts.username or parts.password:
            raise FetchRefused(gettext("Image links with a user name or password are not fetched."))
        port = port or (443 if parts.scheme == "https" else 80)
        address = resolve(parts.hostname, port)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchRefused(gettext("The server took longer than %(SDSTUDIO_FETCH_TIMEOUT)s s.")
                               % {"SDSTUDIO_FETCH_TIMEOUT": format(settings.SDSTUDIO_FETCH_TIMEOUT, 'g')})
        cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        # No single wait may pass the deadline; a drip of bytes is stopped by the deadline check between reads.
        connection = cls(parts.hostname, address, port, timeout=remaining)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchRefused(gettext("The server answered %(status)s without a Location.")
                                       % {"status": response.status})
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchRefused(gettext("The server answered %(status)s %(reason)s.")
                                   % {"status": response.status, "reason": response.reason})
            declared = (response.getheader("Content-Length") or "").strip()
            # isdigit() alone is true for "²", which int() refuses; a header that is no number is ignored (the cap holds)
            if declared.isascii() and declared.isdigit() and int(declared) > limit:
                raise FetchRefused(gettext("The image is %(filesizeformat)s; the limit is %(filesizeformat2)s.")
                                   % {"filesizeformat": filesizeformat(int(declared)), "filesizeformat2": filesizeformat(limit)})
            chunks, size = [], 0
            while True:
                if time.monotonic() > deadline:
                    raise FetchRefused(gettext("The server took longer than %(SDSTUDIO_FETCH_TIMEOUT)s s to send the image.")
                                       % {"SDSTUDIO_FETCH_TIMEOUT": format(settings.SDSTUDIO_FETCH_TIMEOUT, 'g')})
                chunk = response.read1(64 * 1024) if hasattr(response, "read1") else response.read(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise FetchRefused(gettext("The image is over the %(filesizeformat)s limit.")
                                       % {"filesizeformat": filesizeformat(limit)})
                chunks.append(chunk)
            return b"".join(chunks), url
        except FetchRefused:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:  # ValueError: http.client on a malformed answer
            if time.monotonic() > deadline or isinstance(exc, TimeoutError | socket.timeout):
                raise FetchRefused(gettext("The server took longer than %(SDSTUDIO_FETCH_TIMEOUT)s s to send the image.")
                                   % {"SDSTUDIO_FETCH_TIMEOUT": format(settings.SDSTUDIO_FETCH_TIMEOUT, 'g')}) from None
            raise FetchRefused(gettext("The image could not be fetched (%(name)s: %(exc)s).")
                               % {"name": type(exc).__name__, "exc": exc}) from None
        finally:
            connection.close()
    raise FetchRefused(gettext("More than %(MAX_REDIRECTS)s redirects.") % {"MAX_REDIRECTS": MAX_REDIRECTS})
