"""Who the client is behind reverse proxies: believed only from trusted peers, and only as far as the chain goes."""

import pytest

from crm_app.domain.proxies import Client, client_of, parse_networks

TRUSTED = parse_networks("10.0.0.0/8, 192.0.2.7, fd00::/8")


def _client(peer, forwarded_for=None, proto=None, scheme="http"):
    headers = [("x-forwarded-for", v) for v in ([forwarded_for] if isinstance(forwarded_for, str)
                                                 else forwarded_for or [])]
    headers += [("x-forwarded-proto", proto)] if proto else []
    return client_of(peer, scheme, headers, TRUSTED)


def test_an_untrusted_peer_is_the_client_whatever_it_claims():
    assert _client("198.51.100.4", "203.0.113.9", "https") == Client("198.51.100.4", "http")


def test_nothing_is_believed_without_trusted_proxies():
    assert client_of("10.0.0.1", "http", [("x-forwarded-for", "203.0.113.9")], ()) == Client("10.0.0.1", "http")


def test_from_a_trusted_proxy_the_client_is_the_right_most_address_that_is_not_a_proxy():
    # the client wrote "1.2.3.4" itself; 10.9.9.9 is an inner proxy of ours
    assert _client("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.9.9.9").ip == "203.0.113.9"
    assert _client("10.0.0.2", ["1.2.3.4", "203.0.113.9, 192.0.2.7"]).ip == "203.0.113.9"  # repeated headers


def test_a_chain_of_proxies_only_ends_at_the_left_most_proxy():
    assert _client("10.0.0.2", "10.5.5.5, 10.6.6.6").ip == "10.5.5.5"
    assert _client("10.0.0.2").ip == "10.0.0.2"  # a trusted peer that forwards nothing is itself the client


def test_a_garbled_entry_stops_the_walk_at_the_last_readable_hop():
    assert _client("10.0.0.2", "203.0.113.9, unknown, 10.9.9.9").ip == "10.9.9.9"


@pytest.mark.parametrize("entry, expected", [("203.0.113.9:4711", "203.0.113.9"),
                                             ("[2001:db8::1]:443", "2001:db8::1"),
                                             ("2001:db8::1", "2001:db8::1")])
def test_ports_and_ipv6_forms_are_read(entry, expected):
    assert _client("10.0.0.2", entry).ip == expected


def test_an_ipv4_mapped_peer_is_judged_by_its_ipv4_address():
    assert _client("::ffff:10.0.0.2", "203.0.113.9").ip == "203.0.113.9"


def test_the_scheme_is_the_trusted_proxys_own_report():
    assert _client("10.0.0.2", "203.0.113.9", "https").scheme == "https"
    assert _client("10.0.0.2", "203.0.113.9", "https", scheme="ws").scheme == "wss"
    assert _client("10.0.0.2", "203.0.113.9", "http, https").scheme == "https"  # the right-most, its proxy's
    assert _client("10.0.0.2", "203.0.113.9", "gopher").scheme == "http"


def test_bad_networks_are_named():
    with pytest.raises(ValueError, match="'10.0.0.300/8'"):
        parse_networks("10.0.0.0/8, 10.0.0.300/8")
    assert parse_networks(" , ") == ()
