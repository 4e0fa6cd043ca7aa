"""JWT identity (RR-29): pinned algorithms, forged and expired tokens, role paths, and Role rules live."""

from __future__ import annotations

import base64
import json
import time

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from edgenode.config.errors import ConfigProblem
from edgenode.identity import build_verifier, roles_at, token_of
from edgenode.options import ServeOptions

SECRET = "s3cret-for-tests-that-is-long-enough-for-hs256"
ADMIN = {"app_metadata": {"authorization": {"roles": ["admin"]}}}


def claims(roles: list[str] | None = None, exp_in: float = 3600, **extra) -> dict:
    c = {"sub": "u1", "exp": int(time.time() + exp_in), **extra}
    if roles is not None:
        c["app_metadata"] = {"authorization": {"roles": roles}}
    return c


def hs(payload: dict, key: str = SECRET) -> str:
    return jwt.encode(payload, key, algorithm="HS256")


def unsigned(payload: dict) -> str:
    def b64(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def verifier(**opts):
    problems: list[ConfigProblem] = []
    v = build_verifier(opts.pop("dev", {}), ServeOptions(**opts), problems)
    assert problems == []
    return v


def test_short_secret_warns():
    problems: list[ConfigProblem] = []
    build_verifier({"jwtSecret": "secret"}, ServeOptions(), problems)
    assert [(p.file, p.severity) for p in problems] == [("netlify.toml", "warning")]


def test_hs256_valid_token_gives_roles():
    ident = verifier(jwt_secret=SECRET).verify(hs(claims(["admin", "editor"])))
    assert ident is not None and ident.roles == ["admin", "editor"] and ident.claims["sub"] == "u1"


@pytest.mark.parametrize("name, token", [
    ("alg none", unsigned(claims(["admin"]))),
    ("wrong secret", hs(claims(["admin"]), "another-secret")),
    ("expired", hs(claims(["admin"], exp_in=-10))),
    ("no exp", hs({"app_metadata": ADMIN["app_metadata"]})),
    ("garbage", "not.a.jwt"),
    ("tampered", hs(claims(["editor"]))[:-4] + "AAAA"),
])
def test_forged_or_expired_hs_tokens_are_no_identity(name, token):
    assert verifier(jwt_secret=SECRET).verify(token) is None, name


def test_audience_and_not_before():
    v = verifier(jwt_secret=SECRET)
    assert v.verify(hs(claims(["a"], aud="https://api.example"))).roles == ["a"]
    assert v.verify(hs(claims(["a"], nbf=int(time.time()) + 600))) is None


def test_no_configured_secret_verifies_nothing():
    v = verifier()
    assert not v.configured
    # netlify dev's default secret is "secret"; edgenode has no default, so this token means nothing.
    assert v.verify(hs(claims(["admin"]), "secret")) is None


def test_dev_table_secret_and_role_path():
    v = verifier(dev={"jwtSecret": SECRET, "jwtRolePath": "roles"})
    assert v.verify(hs({"exp": int(time.time()) + 60, "roles": ["r1"]})).roles == ["r1"]


def test_role_paths():
    assert roles_at({"app_metadata": {"roles": ["a"]}}, "app_metadata.authorization.roles") == ["a"]  # fallback
    assert roles_at({"x": {"y": "solo"}}, "x.y") == ["solo"]  # a string is one role
    assert roles_at({}, "x.y") == []


def test_rs256_pem(tmp_path, rsa_key):
    key_file = tmp_path / "pub.pem"
    key_file.write_bytes(pem(rsa_key))
    v = verifier(jwt_public_key=str(key_file))
    good = jwt.encode(claims(["admin"]), rsa_key, algorithm="RS256")
    assert v.verify(good).roles == ["admin"]
    # HS/RS confusion: an HS256 token "signed" with the public key PEM as the HMAC secret.
    confused = _hs_with_raw_key(claims(["admin"]), pem(rsa_key))
    assert v.verify(confused) is None
    assert v.verify(unsigned(claims(["admin"]))) is None
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert v.verify(jwt.encode(claims(["admin"]), other, algorithm="RS256")) is None  # wrong key
    assert v.verify(jwt.encode(claims(["admin"], exp_in=-5), rsa_key, algorithm="RS256")) is None  # expired


def _hs_with_raw_key(payload: dict, key: bytes) -> str:
    """HMAC-sign with arbitrary bytes (PyJWT itself refuses PEM keys as HMAC secrets, as it should)."""
    import hashlib
    import hmac

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def test_es256_pem_rejects_rs_and_hs(tmp_path, ec_key, rsa_key):
    key_file = tmp_path / "ec.pem"
    key_file.write_bytes(pem(ec_key))
    v = verifier(jwt_public_key=str(key_file))
    assert v.verify(jwt.encode(claims(["a"]), ec_key, algorithm="ES256")).roles == ["a"]
    assert v.verify(jwt.encode(claims(["a"]), rsa_key, algorithm="RS256")) is None
    assert v.verify(_hs_with_raw_key(claims(["a"]), pem(ec_key))) is None


def test_jwks_with_kid(tmp_path, rsa_key, ec_key):
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    rj = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    ej = json.loads(ECAlgorithm.to_jwk(ec_key.public_key()))
    rj["kid"], ej["kid"] = "r1", "e1"
    f = tmp_path / "jwks.json"
    f.write_text(json.dumps({"keys": [rj, ej]}))
    v = verifier(jwt_public_key=str(f))
    assert v.verify(jwt.encode(claims(["x"]), rsa_key, algorithm="RS256", headers={"kid": "r1"})).roles == ["x"]
    assert v.verify(jwt.encode(claims(["y"]), ec_key, algorithm="ES256", headers={"kid": "e1"})).roles == ["y"]
    # the RSA key signed, but the header names the EC key: pinned algorithm ES256 refuses it
    assert v.verify(jwt.encode(claims(["x"]), rsa_key, algorithm="RS256", headers={"kid": "e1"})) is None
    assert v.verify(jwt.encode(claims(["x"]), rsa_key, algorithm="RS256", headers={"kid": "nope"})) is None


def test_unreadable_key_is_a_problem_not_a_crash(tmp_path):
    problems: list[ConfigProblem] = []
    v = build_verifier({}, ServeOptions(jwt_public_key=str(tmp_path / "missing.pem")), problems)
    assert not v.configured and "cannot use JWT public key" in problems[0].reason


def test_token_sources():
    assert token_of({"Authorization": "Bearer abc"}) == "abc"
    assert token_of({"Cookie": "a=1; nf_jwt=xyz"}) == "xyz"
    assert token_of({"Authorization": "Basic dTpw"}) is None


# -- live --------------------------------------------------------------------------------------

SITE = {
    "index.html": "home", "login.html": "login", "404.html": "page404", "admin/users.html": "admin-users",
    "_redirects": "/admin/* /admin/:splat 200! Role=admin\n/admin/* /login 401!\n",
}


async def status_body(url: str, **kw) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s:
        async with s.get(url, allow_redirects=False, **kw) as r:
            return r.status, await r.text()


async def test_live_hs256(edgenode, make_site):
    site = make_site(SITE)
    u = edgenode(site, jwt_secret=SECRET).url + "/admin/users"
    assert await status_body(u, cookies={"nf_jwt": hs(claims(["admin"]))}) == (200, "admin-users")
    assert await status_body(u, headers={"Authorization": f"Bearer {hs(claims(['admin']))}"}) == (200, "admin-users")
    for bad in (hs(claims(["editor"])), hs(claims(["admin"], exp_in=-1)), unsigned(claims(["admin"])),
                hs(claims(["admin"]), "wrong")):
        assert await status_body(u, cookies={"nf_jwt": bad}) == (401, "login")


async def test_live_dev_table_secret(edgenode, make_site):
    site = make_site({**SITE, "netlify.toml": f'[dev]\njwtSecret = "{SECRET}"\njwtRolePath = "r"\n'})
    u = edgenode(site).url + "/admin/users"
    assert await status_body(u, cookies={"nf_jwt": hs(claims(r=["admin"]))}) == (200, "admin-users")


async def test_live_without_secret_warns_and_verifies_nothing(edgenode, make_site):
    site = make_site(SITE)
    srv = edgenode(site)
    assert await status_body(srv.url + "/admin/users", cookies={"nf_jwt": hs(claims(["admin"]), "secret")}) \
        == (401, "login")
    warnings = [p for p in srv.node.sites.holders[0].site.problems if p.severity == "warning"]
    assert warnings and "Role rules need a JWT secret" in warnings[0].reason and warnings[0].line == 1


async def test_live_rs256(edgenode, make_site, tmp_path, rsa_key):
    key_file = tmp_path / "pub.pem"
    key_file.write_bytes(pem(rsa_key))
    u = edgenode(make_site(SITE), jwt_public_key=str(key_file)).url + "/admin/users"
    good = jwt.encode(claims(["admin"]), rsa_key, algorithm="RS256")
    assert await status_body(u, cookies={"nf_jwt": good}) == (200, "admin-users")
    assert await status_body(u, cookies={"nf_jwt": _hs_with_raw_key(claims(["admin"]), pem(rsa_key))}) \
        == (401, "login")


async def test_live_jwks(edgenode, make_site, tmp_path, ec_key, rsa_key):
    from jwt.algorithms import ECAlgorithm

    jwk = json.loads(ECAlgorithm.to_jwk(ec_key.public_key()))
    jwk["kid"] = "k1"
    f = tmp_path / "jwks.json"
    f.write_text(json.dumps({"keys": [jwk]}))
    u = edgenode(make_site(SITE), jwt_public_key=str(f)).url + "/admin/users"
    good = jwt.encode(claims(["admin"]), ec_key, algorithm="ES256", headers={"kid": "k1"})
    assert await status_body(u, headers={"Authorization": f"Bearer {good}"}) == (200, "admin-users")
    forged = jwt.encode(claims(["admin"]), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    assert await status_body(u, headers={"Authorization": f"Bearer {forged}"}) == (401, "login")
    assert await status_body(u, cookies={"nf_jwt": unsigned(claims(["admin"]))}) == (401, "login")
