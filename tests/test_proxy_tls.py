"""HTTPS upstreams: verified against the CA bundle (SSL_CERT_FILE here), refused when untrusted."""

from __future__ import annotations

import datetime
import ssl

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edgenode.routing import phase
from tests.proxy_upstreams import proxy_route


def make_cert(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
async def tls_upstream(tmp_path):
    cert, key = make_cert(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    async def hello(request):
        return web.Response(text=f"secure {request.path} {request.secure}")

    app = web.Application()
    app.router.add_get("/{tail:.*}", hello)
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    yield f"https://localhost:{runner.addresses[0][1]}", cert
    await runner.cleanup()


async def test_https_upstream_trusted(edgenode, make_site, monkeypatch, tls_upstream):
    base, cert = tls_upstream
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setattr(phase, "route", proxy_route("/api/", base))
    url = edgenode(make_site({"index.html": "x"})).url
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/x") as r:
            assert r.status == 200 and await r.text() == "secure /x True"


async def test_https_upstream_untrusted_gives_502(edgenode, make_site, monkeypatch, tls_upstream, caplog):
    base, _ = tls_upstream
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setattr(phase, "route", proxy_route("/api/", base))
    url = edgenode(make_site({"index.html": "x"})).url
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/x") as r:
            assert r.status == 502
    assert any("certificate verify failed" in rec.getMessage() for rec in caplog.records)
