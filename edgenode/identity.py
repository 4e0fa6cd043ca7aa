"""Identity phase: the verified JWT of a request (`nf_jwt` cookie or `Authorization: Bearer`), RR-29.

The key material is configured, never guessed: an HS256 secret (`--jwt-secret`, `[dev] jwtSecret`)
or a public key (`--jwt-public-key`: a PEM file, RS256 or ES256 by key type, or a JWKS file). The
algorithm is pinned by the key, so `alg: none`, HS/RS confusion, a bad signature, a missing or past
`exp` all mean "no identity". Unlike `netlify dev`, there is no default secret ("secret"): without a
configured key no token verifies, and the site's Role rules are reported at load time.
"""

from __future__ import annotations

import json
import logging
import warnings
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from edgenode.config.errors import ConfigProblem
from edgenode.routing.conditions import parse_cookies

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode
    from edgenode.sites import Site

log = logging.getLogger("edgenode.identity")
# A short HS256 secret is reported once, at load time (build_verifier), not on every request.
warnings.filterwarnings("ignore", category=jwt.warnings.InsecureKeyLengthWarning)
MIN_SECRET_BYTES = 32

DEFAULT_ROLE_PATH = "app_metadata.authorization.roles"
FALLBACK_ROLE_PATH = "app_metadata.roles"  # Netlify Identity's own tokens
LEEWAY_SECONDS = 0


@dataclass(slots=True)
class Identity:
    claims: dict[str, Any]
    roles: list[str] = field(default_factory=list)
    token: str = ""


@dataclass(slots=True)
class Verifier:
    """Key material and its pinned algorithm(s); `keys` maps kid (or "") -> (key, algorithm)."""

    keys: dict[str, tuple[Any, str]]
    role_path: str = DEFAULT_ROLE_PATH

    @property
    def configured(self) -> bool:
        return bool(self.keys)

    def verify(self, token: str) -> Identity | None:
        try:
            header = jwt.get_unverified_header(token)
        # ValueError: a cookie with bytes that are not UTF-8 reaches here with surrogate escapes;
        # RecursionError: a header of deeply nested JSON. Both are just "no identity".
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
            return None
        entry = self.keys.get(str(header.get("kid") or ""))
        if entry is None and len(self.keys) == 1:  # a single key needs no kid
            entry = next(iter(self.keys.values()))
        if entry is None:
            return None
        key, alg = entry
        try:
            # No audience is configured, so an `aud` claim (Auth0 and the like set one) is not checked.
            claims = jwt.decode(token, key, algorithms=[alg], options={"require": ["exp"], "verify_aud": False},
                                leeway=LEEWAY_SECONDS)
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
            return None
        return Identity(claims, roles_at(claims, self.role_path), token)


def roles_at(claims: dict[str, Any], path: str) -> list[str]:
    """The roles list at a dotted claim path; a string counts as one role (redirects.md 9)."""
    for p in dict.fromkeys((path, FALLBACK_ROLE_PATH)):
        node: Any = claims
        for part in p.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [str(r) for r in node]
    return []


def _load_public_keys(path: str) -> dict[str, tuple[Any, str]]:
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        jwks = json.loads(text)
        keys: dict[str, tuple[Any, str]] = {}
        for jwk in jwks.get("keys", [jwks]):
            kty = jwk.get("kty")
            if kty == "RSA":
                keys[str(jwk.get("kid") or "")] = (RSAAlgorithm.from_jwk(jwk), "RS256")
            elif kty == "EC":
                keys[str(jwk.get("kid") or "")] = (ECAlgorithm.from_jwk(jwk), "ES256")
            else:
                raise ValueError(f"unsupported JWK key type {kty!r} (RSA or EC)")
        if not keys:
            raise ValueError("JWKS has no keys")
        return keys
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(data)
    if isinstance(key, rsa.RSAPublicKey):
        return {"": (key, "RS256")}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"": (key, "ES256")}
    raise ValueError("public key must be RSA (RS256) or EC P-256 (ES256)")


def build_verifier(dev: dict[str, Any], options: Any, problems: list[ConfigProblem]) -> Verifier:
    """Key from the flags first, then `[dev]`. A key that cannot be read is a problem, not a crash."""
    role_path = getattr(options, "jwt_role_path", None) or dev.get("jwtRolePath") or DEFAULT_ROLE_PATH
    public = getattr(options, "jwt_public_key", None)
    secret = getattr(options, "jwt_secret", None) or dev.get("jwtSecret")
    keys: dict[str, tuple[Any, str]] = {}
    if public:
        try:
            keys = _load_public_keys(public)
        except (OSError, ValueError) as e:
            problems.append(ConfigProblem(public, 0, f"cannot use JWT public key: {e}"))
    elif secret:
        if not isinstance(secret, str):
            problems.append(ConfigProblem("netlify.toml", 0, "[dev] jwtSecret must be a string"))
        else:
            keys = {"": (secret, "HS256")}
            if len(secret.encode()) < MIN_SECRET_BYTES:
                problems.append(ConfigProblem("netlify.toml" if not getattr(options, "jwt_secret", None)
                                              else "--jwt-secret", 0,
                                              f"JWT secret is shorter than {MIN_SECRET_BYTES} bytes: "
                                              "tokens signed with it are easy to forge", "warning"))
    return Verifier(keys, str(role_path))


# One verifier per deploy: built when the site loads, dropped with it.
_verifiers: weakref.WeakKeyDictionary[Site, Verifier] = weakref.WeakKeyDictionary()


def load_verifier(site: Site, options: Any) -> Verifier:
    v = build_verifier(site.config.dev, options, site.problems)
    _verifiers[site] = v
    return v


def verifier_for(site: Site, options: Any) -> Verifier:
    v = _verifiers.get(site)
    if v is None:
        v = load_verifier(site, options)
    return v


def token_of(headers: Any) -> str | None:
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    cookie = headers.get("Cookie")
    if not cookie or "nf_jwt" not in cookie:  # the common case costs one substring test
        return None
    return parse_cookies(cookie).get("nf_jwt") or None


def identify(node: EdgeNode, ex: Exchange) -> None:
    ex.identity = None
    token = token_of(ex.request.headers)
    if token is None:
        return
    verifier = verifier_for(ex.site, node.options)
    if verifier.configured:
        ex.identity = verifier.verify(token)
