"""The SSRF-safe HTTP transport of outgoing webhooks: a URL is checked, resolved once, and called at that address.

Example
-------
>>> destination = check_destination("https://hooks.example.org/war-room", local=False)
>>> destination.addresses                 # every address the name resolved to, each one public
('93.184.215.14',)
>>> result = post(destination, body, headers)   # to 93.184.215.14, TLS and Host for hooks.example.org
>>> result.status_code, result.error
(204, None)

A subscription's URL is a request the server makes on an admin's behalf, so it must not reach the network
the server sits in (the cloud metadata endpoint, the database, the VPC). The rules:

* **scheme**: ``https`` only, except in local development (``AWS_SAM_LOCAL=true``, set by ``warroom dev`` and
  ``sam local``), where ``http`` is also accepted, to loopback addresses only;
* **no credentials** in the URL, a host name of letters, digits, hyphens and dots, and a port that is the
  scheme's default, 443, or 1024 and above (no SMTP, SSH or other well-known services);
* **every address the host resolves to must be public**: not private, loopback, link-local (169.254.169.254,
  the metadata endpoint, among them), CGNAT 100.64/10, multicast, reserved, unspecified, documentation or
  benchmarking ranges, IPv6 unique-local, site-local or link-local, nor an IPv4-mapped, IPv4-compatible,
  6to4, NAT64 or Teredo form of one of those. IPv4 written in decimal, octal or hex (``http://2130706433/``,
  ``http://0x7f.1/``) is read as the address it is and judged as such, never handed to the resolver. In local
  development loopback addresses (and only those) are accepted too;
* the host is resolved **once per attempt**, and the request goes to the checked address, with the host name
  kept for TLS (SNI, and the certificate is verified against the name) and the ``Host`` header, so a DNS
  answer that changes between the check and the connection (rebinding) cannot move the request;
* **no redirects** are followed (a 3xx is the attempt's failure), environment proxies are ignored, the
  response body is read up to ``MAX_RESPONSE_BYTES`` and the attempt gives up after about ``TOTAL_TIMEOUT_S``.

The resolver is a parameter (``host, port -> addresses``), so tests can answer differently on the second look.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

Resolver = Callable[[str, int], Sequence[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_CHARS = 2048
MAX_RESPONSE_BYTES = 64 * 1024
TOTAL_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 5.0
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$"
)
# Forms inet_aton() reads as an IPv4 address (decimal, octal, hex, fewer than four parts) -- and many resolvers too.
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$")
_NOT_PUBLIC_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class UnsafeDestination(ValueError):
    """A URL the transport will not call; ``reason`` is a short code (``address_not_public``, ...)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Destination:
    """A checked URL: what to connect to (``addresses``), and what to tell TLS and the server (``host``)."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class PostResult:
    """What one attempt got: a status code (None when no answer came), an error, the Retry-After it asked."""

    status_code: int | None
    error: str | None
    retry_after_s: float | None = None
    duration_ms: float = 0.0
    body_excerpt: str = ""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now (both families, TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_is_public(address: Address) -> bool:
    """Whether ``address`` is on the public internet (see the module's docstring for what is not)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_is_public(address.ipv4_mapped)
        if address.sixtofour is not None:
            return address_is_public(address.sixtofour)
        if address.teredo is not None or address in _NAT64_LOCAL or address in _IPV4_COMPATIBLE:
            return False
        if address in _NAT64:
            return address_is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.scope_id:
            return False
        return (
            not (
                address.is_private
                or address.is_loopback
                or address.is_link_local
                or address.is_site_local
                or address.is_multicast
                or address.is_reserved
                or address.is_unspecified
            )
            and address.is_global
        )
    return not any(address in network for network in _NOT_PUBLIC_V4) and address.is_global


def _literal_address(host: str) -> Address | None:
    """The address ``host`` stands for when it is an IP literal in any form a resolver would accept, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            raise UnsafeDestination("invalid_host", "The host is neither a name nor an IP address.") from None
    return None


def _allowed(address: Address, local: bool) -> bool:
    return address_is_public(address) or (local and address.is_loopback)


def check_destination(url: str, *, local: bool, resolver: Resolver = system_resolver) -> Destination:
    """Check ``url`` and resolve its host once; raises :class:`UnsafeDestination` saying why it is refused.

    ``local`` is local development (http and loopback allowed); deployed, only https to public addresses.
    """
    if len(url) > MAX_URL_CHARS or not url.isascii() or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeDestination("invalid_url", "The URL must be ASCII without spaces, at most 2048 characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeDestination("invalid_url", "The URL cannot be read.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or (scheme == "http" and not local):
        raise UnsafeDestination("scheme_not_allowed", "Only https URLs are accepted.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeDestination("credentials_in_url", "The URL must not carry credentials.")
    if parts.fragment:
        raise UnsafeDestination("invalid_url", "The URL must not have a fragment.")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeDestination("invalid_host", "The URL has no host.")
    port = port if port is not None else (443 if scheme == "https" else 80)
    if port == 0 or (port < 1024 and port not in (80, 443)):
        raise UnsafeDestination("port_not_allowed", "The port must be 80, 443 or 1024 and above.")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    literal = _literal_address(host)
    if literal is not None:
        if not _allowed(literal, local):
            raise UnsafeDestination("address_not_public", "The URL's address is not a public internet address.")
        if scheme == "http" and not literal.is_loopback:
            raise UnsafeDestination("scheme_not_allowed", "Plain http is accepted for loopback addresses only.")
        return Destination(url, scheme, str(literal), port, target, (str(literal),))
    if "%" in host or not _HOST_NAME.match(host):
        raise UnsafeDestination("invalid_host", "The host name is not valid.")
    try:
        resolved = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(host, port)]
    except (OSError, UnicodeError, ValueError):
        raise UnsafeDestination("unresolvable", "The host name does not resolve.") from None
    if not resolved:
        raise UnsafeDestination("unresolvable", "The host name does not resolve.")
    # Every address, not only the first: a name answering one public and one private address is refused.
    if not all(_allowed(address, local) for address in resolved):
        raise UnsafeDestination("address_not_public", "The host name resolves to an address that is not public.")
    if scheme == "http" and not all(address.is_loopback for address in resolved):
        raise UnsafeDestination("scheme_not_allowed", "Plain http is accepted for loopback addresses only.")
    return Destination(url, scheme, host, port, target, tuple(str(a) for a in resolved))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds from now; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def post(
    destination: Destination,
    body: bytes,
    headers: Mapping[str, str],
    *,
    verify: ssl.SSLContext | bool = True,
    total_timeout_s: float = TOTAL_TIMEOUT_S,
) -> PostResult:
    """POST ``body`` to the checked ``destination``: at its checked addresses, in order, until one connects."""
    started = time.monotonic()
    timeout = httpx.Timeout(min(READ_TIMEOUT_S, total_timeout_s), connect=min(CONNECT_TIMEOUT_S, total_timeout_s))
    request_headers = {**headers, "Host": destination.host_header}
    last_error = "no address to connect to"
    # trust_env=False: an HTTP(S)_PROXY in the environment must not carry the request somewhere unchecked.
    with httpx.Client(verify=verify, timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for address in destination.addresses:
            literal = f"[{address}]" if ":" in address else address
            url = f"{destination.scheme}://{literal}:{destination.port}{destination.target}"
            extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
            try:
                request = client.build_request("POST", url, content=body, headers=request_headers)
                request.extensions.update(extensions)
                response = client.send(request, stream=True)
            except httpx.ConnectError as error:
                last_error = _describe(error)
                if isinstance(error.__context__, ssl.SSLError) or "CERTIFICATE" in str(error).upper():
                    break  # the address answered with a certificate we refuse: another address would not help
                continue
            except httpx.HTTPError as error:
                return PostResult(None, _describe(error), duration_ms=_elapsed_ms(started))
            try:
                excerpt = _read_capped(response, started, total_timeout_s)
            except httpx.HTTPError as error:
                return PostResult(response.status_code, _describe(error), duration_ms=_elapsed_ms(started))
            except TimeoutError:
                return PostResult(
                    response.status_code, "timed out reading the answer", duration_ms=_elapsed_ms(started)
                )
            finally:
                response.close()
            status = response.status_code
            error = None
            if 300 <= status < 400:
                error = f"answered {status} (redirects are not followed)"
            elif not 200 <= status < 300:
                error = f"answered {status}"
            return PostResult(
                status,
                error,
                retry_after_seconds(response.headers.get("retry-after")),
                _elapsed_ms(started),
                excerpt,
            )
    return PostResult(None, last_error, duration_ms=_elapsed_ms(started))


def _read_capped(response: httpx.Response, started: float, total_timeout_s: float) -> str:
    """Read at most ``MAX_RESPONSE_BYTES`` of the body within the total time; the first 200 characters."""
    received = bytearray()
    for chunk in response.iter_raw(chunk_size=8192):
        received += chunk
        if len(received) >= MAX_RESPONSE_BYTES:
            break
        if time.monotonic() - started > total_timeout_s:
            raise TimeoutError
    return received[:200].decode("utf-8", "replace").replace("\x00", "")


def _describe(error: Exception) -> str:
    kind = {
        httpx.ConnectTimeout: "connect timed out",
        httpx.ReadTimeout: "timed out waiting for the answer",
        httpx.WriteTimeout: "timed out sending",
        httpx.PoolTimeout: "timed out",
    }.get(type(error))
    if kind:
        return kind
    text = str(error).replace("\x00", "")[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
