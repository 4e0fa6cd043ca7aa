"""Geo phase: country, subdivision and city of the client, and its preferred language (PL-7).

Sources, later ones win: a MaxMind database (`--geoip-db`), the fixed `--country`, and a request
header only when `--trust-geo-header NAME` names it (a client must never choose its own country on a
public edge). The `nf_country` / `nf_lang` cookies only steer rule conditions (routing/conditions.py),
so `ex.geo` stays the real location.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode

log = logging.getLogger("edgenode.geo")


@dataclass(slots=True, frozen=True)
class Geo:
    country: str | None = None  # ISO alpha-2, upper case
    country_name: str | None = None
    subdivision: str | None = None
    subdivision_name: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    timezone: str | None = None
    language: str = "en"  # first Accept-Language entry (RR-27)
    source: str = ""  # where the country came from: geoip | flag | header | "" (unknown)


def first_language(accept_language: str | None) -> str:
    if not accept_language:
        return "en"
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first or "en"


@lru_cache(maxsize=512)
def country_name(code: str) -> str | None:
    try:
        import pycountry
    except ImportError:  # pragma: no cover - pycountry is a dependency
        return None
    c = pycountry.countries.get(alpha_2=code.upper())
    return getattr(c, "common_name", None) or getattr(c, "name", None) if c else None


class GeoDatabase:
    """A MaxMind (GeoIP2/GeoLite2 City or Country) database, opened once per node."""

    def __init__(self, path: str) -> None:
        import maxminddb

        self.path = path
        self.reader = maxminddb.open_database(path)

    def lookup(self, ip: str) -> Geo | None:
        try:
            rec: Any = self.reader.get(ip)
        except ValueError:  # not an IP address (a unix socket peer, say)
            return None
        if not isinstance(rec, dict):
            return None
        country = rec.get("country") or rec.get("registered_country") or {}
        subs = rec.get("subdivisions") or [{}]
        city = rec.get("city") or {}
        loc = rec.get("location") or {}
        code = country.get("iso_code")
        return Geo(
            country=code.upper() if code else None,
            country_name=(country.get("names") or {}).get("en"),
            subdivision=subs[0].get("iso_code"),
            subdivision_name=(subs[0].get("names") or {}).get("en"),
            city=(city.get("names") or {}).get("en"),
            latitude=loc.get("latitude"),
            longitude=loc.get("longitude"),
            timezone=loc.get("time_zone"),
            source="geoip" if code else "",
        )


_databases: dict[str, GeoDatabase | None] = {}


def database(path: str) -> GeoDatabase | None:
    if path not in _databases:
        try:
            _databases[path] = GeoDatabase(path)
        except Exception as e:  # a missing or corrupt file: log once, serve without geo
            log.error("cannot open GeoIP database %s: %s", path, e)
            _databases[path] = None
    return _databases[path]


@lru_cache(maxsize=256)
def _unknown(accept_language: str | None) -> Geo:
    # Geo is frozen: without a database or an override, requests share one per Accept-Language.
    return Geo(language=first_language(accept_language))


def geo_for(options: Any, client_ip: str, headers: Any) -> Geo:
    accept_language = headers.get("Accept-Language")
    if accept_language is None or len(accept_language) <= 256:  # bounded memo: no huge keys kept
        geo = _unknown(accept_language)
    else:
        geo = Geo(language=first_language(accept_language))
    language = geo.language
    if getattr(options, "geoip_db", None):
        db = database(options.geoip_db)
        found = db.lookup(client_ip) if db is not None else None
        if found is not None:
            geo = replace(found, language=language)
    if getattr(options, "country", None):
        code = options.country.strip().upper()
        if code != geo.country:
            geo = Geo(country=code, country_name=country_name(code), language=language, source="flag")
    name = getattr(options, "trust_geo_header", None)
    if name:
        value = (headers.get(name) or "").strip().upper()
        if len(value) == 2 and value.isalpha() and value != geo.country:
            geo = Geo(country=value, country_name=country_name(value), language=language, source="header")
    return geo


def locate(node: EdgeNode, ex: Exchange) -> None:
    ex.geo = geo_for(node.options, ex.request.client_ip, ex.request.headers)
