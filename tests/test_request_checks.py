"""request_checks: pure checks of the request line's version, Host and target form."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edgenode.request_checks import Rejection, Target, check_request, split_target, valid_authority


def test_valid_authorities():
    for a in ("a.example", "a.example:8080", "[::1]", "[::1]:80", "127.0.0.1:1", "xn--bcher-kva.example", "",
              "a_b.example", "[fe80::1%25eth0]"):
        assert valid_authority(a), a


def test_invalid_authorities():
    for a in ("a b", "u@h", "h/x", "h:port", "h:99999", "[::1", "[::1]x", "a.example, b.example", "h\\x",
              "[zz::1]", "h:1:2"):
        assert not valid_authority(a), a


def test_absolute_form_wins_over_host():
    assert split_target("http://B.example:81/p/q?x=1", "a.example") == Target("B.example:81", "/p/q", "x=1")
    assert split_target("HTTPS://b.example", "a.example") == Target("b.example", "/", "")
    assert split_target("/p?x", "a.example") == Target("a.example", "/p", "x")
    assert isinstance(split_target("http:///p", "a"), Rejection)
    assert isinstance(split_target("http://u@b/p", "a"), Rejection)


def test_versions_and_framing():
    assert check_request((1, 1), {"Host": "a"}) is None
    assert check_request((1, 0), {}) is None
    assert check_request((2, 0), {"Host": "a"}).status == 505
    assert check_request((0, 9), {}).status == 505
    assert check_request((1, 0), {"Transfer-Encoding": "chunked"}).status == 400
    assert check_request((1, 1), {}).status == 400


@given(st.text(max_size=80))
def test_valid_authority_never_raises_and_refuses_separators(text):
    ok = valid_authority(text)
    if ok:
        assert not any(c in text for c in " /@\\?#\r\n\x00,")


@given(st.text(max_size=120), st.text(max_size=40))
def test_split_target_is_total(target, host):
    r = split_target(target, host)
    assert isinstance(r, Target | Rejection)
    if isinstance(r, Target):
        assert valid_authority(r.authority)
        assert "?" not in r.raw_path
