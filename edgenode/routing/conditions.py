"""Rule conditions: Country, Language, Cookie, Role (RR-26..RR-31). Pure: facts in, verdict out.

`RequestFacts` is everything about a request that a rule can look at. The rules phase builds it from
the Exchange; `edgenode explain` builds it from its command line. The `nf_country` / `nf_lang` cookie
overrides happen here, so the real geo data in `ex.geo` stays untouched for handlers and logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_COUNTRY = "US"  # netlify dev's default when nothing else says (RR-26)
DEFAULT_LANGUAGE = "en"


@dataclass(slots=True)
class RequestFacts:
    path: str  # decoded path the rules match on
    query_string: str = ""  # raw, without '?'
    scheme: str = "http"
    host: str = ""
    country: str | None = None  # from geo (--country, MaxMind, trusted header); None = unknown
    language: str | None = None  # first Accept-Language entry, lower case
    cookies: dict[str, str] = field(default_factory=dict)
    roles: list[str] | None = None  # None: no verified identity; [] valid token without roles

    @property
    def effective_country(self) -> str:
        """The country the Country condition sees: nf_country cookie, else geo, else US."""
        c = self.cookies.get("nf_country") or self.country or DEFAULT_COUNTRY
        return c.strip().upper()

    @property
    def effective_language(self) -> str:
        lang = self.cookies.get("nf_lang") or self.language or DEFAULT_LANGUAGE
        return lang.strip().lower()


def parse_cookies(header: str | None) -> dict[str, str]:
    """`a=1; b=2` -> {"a": "1", "b": "2"}. Lenient: a malformed pair is skipped, never an error."""
    out: dict[str, str] = {}
    if not header:
        return out
    for part in header.split(";"):
        name, eq, value = part.partition("=")
        name = name.strip()
        if name and name not in out:
            out[name] = value.strip().strip('"') if eq else ""
    return out


def language_matches(wanted: str, visitor: str) -> bool:
    """Rule `zh` matches visitor `zh` and `zh-tw`; rule `zh-tw` matches only `zh-tw` (RR-27)."""
    wanted = wanted.lower()
    return visitor == wanted or visitor.startswith(wanted + "-")


def failed_condition(conditions: dict[str, list[str]], facts: RequestFacts) -> str | None:
    """None when every condition passes (AND across keys, OR within a list); else why not, for explain."""
    for key, values in conditions.items():
        if key == "Country":
            c = facts.effective_country
            if not any(v.upper() == c for v in values):
                return f"Country={','.join(values)}: visitor country is {c}"
        elif key == "Language":
            lang = facts.effective_language
            if not any(language_matches(v, lang) for v in values):
                return f"Language={','.join(values)}: visitor language is {lang}"
        elif key == "Cookie":
            if not any(v in facts.cookies for v in values):
                return f"Cookie={','.join(values)}: no such cookie"
        elif key == "Role":
            if facts.roles is None:
                return f"Role={','.join(values)}: no verified token"
            if "*" in values:
                continue
            if not any(r in values for r in facts.roles):
                shown = ",".join(facts.roles) or "none"
                return f"Role={','.join(values)}: visitor roles are {shown}"
    return None
