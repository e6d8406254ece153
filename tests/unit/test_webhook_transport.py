"""The outgoing webhooks' SSRF-safe transport: which URLs it refuses, and how it calls the ones it accepts.

The resolver is a parameter (host, port -> addresses), so DNS that answers differently on the second look is a
plain function here; receivers are real HTTP and HTTPS servers on 127.0.0.1 in threads.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from warroom.webhooks.transport import (
    MAX_RESPONSE_BYTES,
    UnsafeDestination,
    address_is_public,
    check_destination,
    post,
    retry_after_seconds,
)

PUBLIC = "93.184.215.14"


def resolver_of(*answers: list[str]):
    """A resolver giving each look the next answer (the last one repeats), and counting the looks."""
    looks: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        looks.append(host)
        return answers[min(len(looks), len(answers)) - 1]

    resolve.looks = looks  # type: ignore[attr-defined]
    return resolve


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} should never reach the resolver")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "192.0.0.8",
        "::1",
        "::",
        "fd00::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::",
        "64:ff9b::a00:1",
        "64:ff9b::7f00:1",
        "64:ff9b:1::1",
        "2001::1",
        "2001:db8::1",
    ],
)
def test_addresses_that_are_not_public(address):
    assert not address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::"])
def test_public_addresses(address):
    assert address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data/", "address_not_public"),
        ("https://10.0.0.5/hook", "address_not_public"),
        ("https://127.0.0.1/hook", "address_not_public"),
        ("https://2130706433/", "address_not_public"),  # 127.0.0.1 in decimal
        ("https://017700000001/", "address_not_public"),  # in octal
        ("https://0x7f000001/", "address_not_public"),  # in hex
        ("https://0x7f.1/", "address_not_public"),  # two parts
        ("https://0251.0376.0251.0376/", "address_not_public"),  # 169.254.169.254 in octal
        ("https://[::ffff:127.0.0.1]/", "address_not_public"),
        ("https://[::ffff:a9fe:a9fe]/", "address_not_public"),
        ("https://[fd12:3456::1]/", "address_not_public"),
        ("https://[fe80::1%25eth0]/", "address_not_public"),  # a scoped link-local address
        ("https://[64:ff9b::a9fe:a9fe]/", "address_not_public"),
        ("http://93.184.215.14/", "scheme_not_allowed"),
        ("ftp://93.184.215.14/", "scheme_not_allowed"),
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("https://user:secret@93.184.215.14/", "credentials_in_url"),
        ("https://user@93.184.215.14/", "credentials_in_url"),
        ("https://93.184.215.14:22/", "port_not_allowed"),
        ("https://93.184.215.14:25/", "port_not_allowed"),
        ("https://93.184.215.14:0/", "port_not_allowed"),
        ("https://93.184.215.14:99999/", "invalid_url"),
        ("https:///nohost", "invalid_host"),
        ("https://exa mple.org/", "invalid_url"),
        ("https://ex\u00e4mple.org/", "invalid_url"),
        ("https://under_score.example.org/", "invalid_host"),
        ("https://93.184.215.14/#frag", "invalid_url"),
    ],
)
def test_deployed_refuses_unsafe_urls_without_asking_dns(url, reason):
    with pytest.raises(UnsafeDestination) as refused:
        check_destination(url, local=False, resolver=no_dns)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (["10.0.0.7"], "address_not_public"),
        (["169.254.169.254"], "address_not_public"),
        ([PUBLIC, "127.0.0.1"], "address_not_public"),  # every address must be public, not only the first
        (["::ffff:192.168.0.1"], "address_not_public"),
        (["fe80::1%eth0"], "address_not_public"),
        ([], "unresolvable"),
    ],
)
def test_a_name_is_refused_when_any_address_it_resolves_to_is_not_public(answer, reason):
    with pytest.raises(UnsafeDestination) as refused:
        check_destination("https://hooks.example.org/war-room", local=False, resolver=resolver_of(answer))
    assert refused.value.reason == reason


def test_a_name_that_does_not_resolve_is_refused():
    def fails(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnsafeDestination) as refused:
        check_destination("https://nowhere.example.org/", local=False, resolver=fails)
    assert refused.value.reason == "unresolvable"


def test_dns_that_answers_differently_on_the_second_look_is_judged_on_each_look():
    # GIVEN a name that resolves to a public address, then (rebinding) to the metadata endpoint
    resolve = resolver_of([PUBLIC], ["169.254.169.254"])
    # WHEN it is checked at subscription time THEN it passes, to that public address
    first = check_destination("https://hooks.example.org:8443/x?y=1", local=False, resolver=resolve)
    assert first.addresses == (PUBLIC,)
    assert (first.host, first.port, first.target, first.host_header) == (
        "hooks.example.org",
        8443,
        "/x?y=1",
        "hooks.example.org:8443",
    )
    # AND at the delivery's own look it is refused: the request is never made to what the name now says
    with pytest.raises(UnsafeDestination):
        check_destination("https://hooks.example.org:8443/x?y=1", local=False, resolver=resolve)
    assert resolve.looks == ["hooks.example.org", "hooks.example.org"]


def test_local_development_allows_http_to_loopback_only():
    assert check_destination("http://127.0.0.1:8080/hook", local=True, resolver=no_dns).addresses == ("127.0.0.1",)
    assert check_destination("http://localhost:8080/h", local=True, resolver=resolver_of(["127.0.0.1", "::1"]))
    for url in ("http://10.0.0.5:8080/", "http://169.254.169.254/", "http://[::ffff:127.0.0.1]:8080/"):
        with pytest.raises(UnsafeDestination):
            check_destination(url, local=True, resolver=no_dns)
    # plain http to a public address stays refused; https to it is fine
    with pytest.raises(UnsafeDestination) as refused:
        check_destination("http://hooks.example.org/", local=True, resolver=resolver_of([PUBLIC]))
    assert refused.value.reason == "scheme_not_allowed"
    assert check_destination("https://hooks.example.org/", local=True, resolver=resolver_of([PUBLIC]))


def test_retry_after_in_seconds_or_as_a_date():
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 02 Dec 2026 12:10:00 GMT", now=now.timestamp()) == 600
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


class Receiver(BaseHTTPRequestHandler):
    """Answers each POST from the server's ``answers`` list (status, headers, body); records what it got."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.server.received.append((self.path, dict(self.headers), self.rfile.read(length)))  # type: ignore[attr-defined]
        status, headers, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received, server.answer = [], (204, {}, b"")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_request_goes_to_the_checked_address_with_the_host_name_kept(receiver):
    # GIVEN a name resolving to the receiver's loopback address (local development)
    port = receiver.server_address[1]
    destination = check_destination(
        f"http://hooks.localhost:{port}/in?x=1", local=True, resolver=resolver_of(["127.0.0.1"])
    )
    # WHEN a body is posted
    result = post(destination, b'{"ok":true}', {"Content-Type": "application/json"})
    # THEN it arrived with the name in Host (not the address), and the answer is a success
    assert (result.status_code, result.error) == (204, None)
    [(path, headers, body)] = receiver.received
    assert (path, body, headers["Host"]) == ("/in?x=1", b'{"ok":true}', f"hooks.localhost:{port}")


def test_a_redirect_is_a_failure_and_is_not_followed(receiver):
    port = receiver.server_address[1]
    receiver.answer = (302, {"Location": f"http://127.0.0.1:{port}/elsewhere"}, b"")
    destination = check_destination(f"http://127.0.0.1:{port}/hook", local=True)
    result = post(destination, b"{}", {})
    assert result.status_code == 302 and "redirect" in result.error
    assert [path for path, _, _ in receiver.received] == ["/hook"]


def test_an_error_answer_carries_its_retry_after_and_a_capped_excerpt(receiver):
    port = receiver.server_address[1]
    receiver.answer = (503, {"Retry-After": "3600"}, b"x" * (4 * MAX_RESPONSE_BYTES))
    result = post(check_destination(f"http://127.0.0.1:{port}/", local=True), b"{}", {})
    assert (result.status_code, result.error, result.retry_after_s) == (503, "answered 503", 3600)
    assert result.body_excerpt == "x" * 200


def test_a_receiver_that_never_answers_times_out():
    # GIVEN a socket that accepts connections (the kernel's backlog) and never answers
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        destination = check_destination(f"http://127.0.0.1:{silent.getsockname()[1]}/", local=True)
        result = post(destination, b"{}", {}, total_timeout_s=0.3)
    finally:
        silent.close()
    assert result.status_code is None and "timed out" in result.error


def test_nothing_listening_is_a_connection_failure():
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()
    result = post(check_destination(f"http://127.0.0.1:{port}/", local=True), b"{}", {})
    assert result.status_code is None and result.error


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (also its own CA) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(receiver, tmp_path):
    """The receiver behind TLS with a certificate for hooks.test; records the SNI name each handshake asked for."""
    cert, key = _certificate(tmp_path, "hooks.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.sni = []
    context.sni_callback = lambda sock, name, ctx: receiver.sni.append(name)
    receiver.socket = context.wrap_socket(receiver.socket, server_side=True)
    return receiver, cert


def test_https_connects_to_the_checked_address_with_sni_and_the_certificate_of_the_name(tls_receiver, tmp_path):
    receiver, cert = tls_receiver
    port = receiver.server_address[1]
    trusted = ssl.create_default_context(cafile=str(cert))
    destination = check_destination(f"https://hooks.test:{port}/in", local=True, resolver=resolver_of(["127.0.0.1"]))
    # WHEN posting: the connection is to 127.0.0.1, TLS names hooks.test and checks its certificate
    result = post(destination, b"{}", {}, verify=trusted)
    assert (result.status_code, result.error) == (204, None)
    assert receiver.sni == ["hooks.test"]
    assert receiver.received[0][1]["Host"] == f"hooks.test:{port}"
    # AND a certificate for another name is refused, nothing sent
    other, _ = _certificate(tmp_path, "other.test")
    refused = post(destination, b"{}", {}, verify=ssl.create_default_context(cafile=str(other)))
    assert refused.status_code is None and "CERTIFICATE" in refused.error.upper()
    assert len(receiver.received) == 1
