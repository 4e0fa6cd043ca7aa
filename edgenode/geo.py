"""Geo phase: country, subdivision and city of the client, and its preferred language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode


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


def first_language(accept_language: str | None) -> str:
    if not accept_language:
        return "en"
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first or "en"


def locate(node: EdgeNode, ex: Exchange) -> None:
    country = node.options.country.upper() if node.options.country else None
    ex.geo = Geo(country=country, language=first_language(ex.request.headers.get("Accept-Language")))
