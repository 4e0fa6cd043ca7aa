"""Tokens: only a JWT that verifies with the configured key, with its pinned algorithm and valid
times, opens a Role-gated path. Everything else is "no identity", never an error or a crash."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edgenode.testing import RunningEdgenode
from tests.conftest import write_site
from tests.hostile.conftest import exchange, first_status

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
GATE = "/admin/*  /admin/:splat  200!  Role=admin\n/admin/*  /login  401!\n"
ADMIN_ROLES = {"app_metadata": {"authorization": {"roles": ["admin"]}}}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def claims(**extra) -> dict:
    return {"sub": "u1", "exp": int(time.time()) + 600, **ADMIN_ROLES, **extra}


@pytest.fixture(scope="module")
def rsa_keys():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private, public_pem, other


@pytest.fixture(scope="module")
def servers(tmp_path_factory, rsa_keys):
    root = tmp_path_factory.mktemp("tokens")
    site = write_site(root / "site", {"index.html": "home", "login.html": "LOGIN PAGE",
                                      "admin/secret.html": "ADMIN ONLY", "_redirects": GATE})
    _, public_pem, _ = rsa_keys
    (root / "public.pem").write_bytes(public_pem)
    hs = RunningEdgenode(site, jwt_secret=SECRET)
    rs = RunningEdgenode(site, jwt_public_key=str(root / "public.pem"))
    yield {"hs": hs, "rs": rs}
    hs.stop()
    rs.stop()


def ask(url: str, cookie: str | None = None, bearer: str | None = None, extra: str = "") -> tuple[int, bytes]:
    head = "GET /admin/secret HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n"
    if cookie is not None:
        head += f"Cookie: {cookie}\r\n"
    if bearer is not None:
        head += f"Authorization: Bearer {bearer}\r\n"
    raw, _ = exchange(url, (head + extra + "\r\n").encode("latin-1"))
    return first_status(raw), raw.partition(b"\r\n\r\n")[2]


def test_valid_tokens_open_the_gate(servers, rsa_keys):
    private, _, _ = rsa_keys
    assert ask(servers["hs"].url, cookie="nf_jwt=" + jwt.encode(claims(), SECRET, "HS256")) == (200, b"ADMIN ONLY")
    assert ask(servers["rs"].url, bearer=jwt.encode(claims(), private, "RS256")) == (200, b"ADMIN ONLY")


def hs_bad_tokens(public_pem: bytes, private, other) -> dict[str, str]:
    now = int(time.time())
    hs = lambda c, key=SECRET, alg="HS256", headers=None: jwt.encode(c, key, alg, headers=headers)  # noqa: E731
    return {
        "alg none": unsigned({"alg": "none", "typ": "JWT"}, claims()),
        "alg None": unsigned({"alg": "None"}, claims()),
        "alg NONE": unsigned({"alg": "NONE"}, claims()),
        "alg none with a signature": unsigned({"alg": "none"}, claims()) + "c2ln",
        "wrong secret": hs(claims(), "another-secret-that-is-long-enough-too"),
        "HS512 with the right secret": hs(claims(), alg="HS512"),
        "RS256 token on an HS node": jwt.encode(claims(), private, "RS256"),
        "expired": hs(claims(exp=now - 60)),
        "expired long ago": hs(claims(exp=1)),
        "not yet valid": hs(claims(nbf=now + 3600)),
        "issued in the future": hs(claims(iat=now + 3600)),
        "no exp": hs({"sub": "u1", **ADMIN_ROLES}),
        "exp not a number": hs(claims(exp="tomorrow")),
        "exp as a string": hs(claims(exp="1e400")),
        "tampered payload": (lambda t: t.split(".")[0] + "." + b64(json.dumps(claims(sub="root")).encode())
                             + "." + t.split(".")[2])(hs(claims(**{"app_metadata": {}}))),
        "signature stripped": hs(claims()).rsplit(".", 1)[0] + ".",
        # kid pointing at an empty file, signed with the empty key that file would give.
        "kid path traversal": _hs_with_raw_key(b"", claims(), {"kid": "../../../../dev/null"}),
        "jku to elsewhere": hs(claims(), "x" * 40, headers={"jku": "http://127.0.0.1:9/keys.json"}),
        "garbage": "garbage",
        "three dots of nothing": "..",
        "not base64": "###.$$$.%%%",
        "header not JSON": b64(b"not json") + "." + b64(b"{}") + ".sig",
        "header is a list": b64(b"[1,2]") + "." + b64(b"{}") + ".sig",
        "deeply nested header": b64(b"[" * 2500 + b"]" * 2500) + "." + b64(b"{}") + ".sig",
        "huge token": "a" * 7000 + "." + "b" * 100 + ".c",
        "non-ASCII": "\u00e9\u00e9.\u00e9.\u00e9",
    }


def test_hs_node_refuses_every_bad_token(servers, rsa_keys):
    private, public_pem, other = rsa_keys
    url = servers["hs"].url
    for name, token in hs_bad_tokens(public_pem, private, other).items():
        for how in ("cookie", "bearer"):
            kw = {"cookie": "nf_jwt=" + token} if how == "cookie" else {"bearer": token}
            try:
                status, body = ask(url, **kw)
            except UnicodeEncodeError:
                continue
            assert (status, body) == (401, b"LOGIN PAGE"), (name, how, status, body[:100])
    assert ask(url)[0] == 401


def test_rs_node_refuses_confusion_and_wrong_keys(servers, rsa_keys):
    private, public_pem, other = rsa_keys
    url = servers["rs"].url
    bad = {
        # The classic confusion: HS256 signed with the RSA public key as the HMAC secret.
        "HS256 with the public key as secret": _hs_with_raw_key(public_pem, claims()),
        "HS256 with the PEM text": _hs_with_raw_key(public_pem.strip(), claims()),
        "RS256 by another key": jwt.encode(claims(), other, "RS256"),
        "RS512 by the right key": jwt.encode(claims(), private, "RS512"),
        "PS256 by the right key": jwt.encode(claims(), private, "PS256"),
        "alg none": unsigned({"alg": "none"}, claims()),
        "expired": jwt.encode(claims(exp=int(time.time()) - 5), private, "RS256"),
        "not yet valid": jwt.encode(claims(nbf=int(time.time()) + 600), private, "RS256"),
        "garbage": "x.y.z",
    }
    for name, token in bad.items():
        assert ask(url, bearer=token) == (401, b"LOGIN PAGE"), name
        assert ask(url, cookie="nf_jwt=" + token) == (401, b"LOGIN PAGE"), name


def _hs_with_raw_key(key: bytes, payload: dict, header: dict | None = None) -> str:
    import hashlib
    import hmac

    head = {"alg": "HS256", "typ": "JWT", **(header or {})}
    signing = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(payload).encode())}"
    return signing + "." + b64(hmac.new(key, signing.encode(), hashlib.sha256).digest())


GARBAGE_COOKIES = [
    "nf_jwt=", "nf_jwt", "nf_jwt=;nf_jwt=;", "=;=;=", ";;;;", "nf_jwt=\"unterminated", "a=b; nf_jwt=%ZZ",
    "nf_jwt=" + "x" * 7000, "; ".join(f"c{i}=v" for i in range(300)), "nf_jwt=a.b.c; nf_jwt=d.e.f",
    "nf_jwt=\\x00", "nf_country=ZZ; nf_lang=\u00ff",
]


@pytest.mark.parametrize("cookie", GARBAGE_COOKIES)
def test_garbage_cookies_are_no_identity(servers, cookie):
    try:
        status, body = ask(servers["hs"].url, cookie=cookie)
    except UnicodeEncodeError:
        pytest.skip("not encodable as a header")
    assert (status, body) in ((401, b"LOGIN PAGE"), (431, body)), (status, body[:100])


def test_valid_token_next_to_garbage(servers):
    good = jwt.encode(claims(), SECRET, "HS256")
    assert ask(servers["hs"].url, cookie=f"junk=%%%; nf_jwt={good}; =x") == (200, b"ADMIN ONLY")


@pytest.mark.parametrize("roles", [None, "admin", ["user"], {"admin": True}, [["admin"]], 7, [None], ""])
def test_odd_role_claims_never_crash(servers, roles):
    c = claims()
    c["app_metadata"] = {"authorization": {"roles": roles}}
    status, body = ask(servers["hs"].url, cookie="nf_jwt=" + jwt.encode(c, SECRET, "HS256"))
    assert status in (200, 401)
    assert status == 200 if roles == "admin" else status == 401, (roles, status)


def test_node_serves_after_token_abuse(servers):
    raw, _ = exchange(servers["hs"].url, b"GET /login HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert raw.endswith(b"LOGIN PAGE")
