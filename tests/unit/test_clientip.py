"""The client behind trusted proxies (CONTRACT §9): the rightmost untrusted X-Forwarded-For hop."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidserver.clientip import client_address, parse_address, parse_networks

ALB = parse_networks("10.0.0.0/16")
TWO_TIERS = parse_networks("10.0.0.0/16, 2001:db8::/32, 192.0.2.7")


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("203.0.113.9", ["198.51.100.1"], ()) == "203.0.113.9"


def test_from_an_untrusted_peer_the_header_is_ignored() -> None:
    # A client talking to the node directly cannot name someone else.
    assert client_address("203.0.113.9", ["198.51.100.1"], ALB) == "203.0.113.9"


def test_behind_the_balancer_the_client_is_the_hop_it_appended() -> None:
    assert client_address("10.0.3.4", ["198.51.100.1"], ALB) == "198.51.100.1"


def test_a_spoofed_leftmost_entry_is_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.1.1.1"; the balancer appended the real address.
    assert client_address("10.0.3.4", ["1.1.1.1, 198.51.100.1"], ALB) == "198.51.100.1"
    # Split over several header lines, the order is the same.
    assert client_address("10.0.3.4", ["1.1.1.1", "198.51.100.1"], ALB) == "198.51.100.1"


def test_a_client_claiming_to_be_a_proxy_gains_nothing() -> None:
    # The client wrote a trusted address itself; the hop the balancer appended still wins.
    assert client_address("10.0.3.4", ["10.0.9.9, 198.51.100.1"], ALB) == "198.51.100.1"


def test_chains_of_trusted_proxies_are_skipped_from_the_right() -> None:
    header = ["1.1.1.1, 198.51.100.1, 192.0.2.7, 2001:db8::5"]
    assert client_address("10.0.0.2", header, TWO_TIERS) == "198.51.100.1"


def test_all_hops_trusted_names_the_leftmost() -> None:
    assert client_address("10.0.0.2", ["10.0.1.1, 10.0.2.2"], ALB) == "10.0.1.1"


def test_no_header_from_a_proxy_leaves_the_proxy() -> None:
    assert client_address("10.0.0.2", [], ALB) == "10.0.0.2"


def test_garbage_stops_at_the_last_trusted_hop() -> None:
    # Junk cannot mint a fresh rate-limit key per request.
    assert client_address("10.0.0.2", ["not-an-ip, 10.0.4.4"], ALB) == "10.0.4.4"
    assert client_address("10.0.0.2", ["unknown"], ALB) == "10.0.0.2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("198.51.100.1", "198.51.100.1"),
        (" 198.51.100.1:4431 ", "198.51.100.1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
    ],
)
def test_addresses_as_proxies_write_them(text: str, expected: str) -> None:
    assert str(parse_address(text)) == expected


@pytest.mark.parametrize("text", ["", "unknown", "_hidden", "1.2.3", "[::1"])
def test_non_addresses(text: str) -> None:
    assert parse_address(text) is None


def test_networks_parse_and_name_the_bad_one() -> None:
    assert parse_networks("") == ()
    assert parse_networks(" 10.0.0.0/8 ,, ::1 ") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_networks("10.0.0.0/8, 10.0.0.0/33")


addresses = st.ip_addresses(v=4).map(str)


@settings(deadline=None)  # timing belongs to benchmarks; a loaded CI machine is slow
@given(spoofed=st.lists(addresses, max_size=5), client=addresses, proxy_hops=st.integers(0, 3))
def test_whatever_a_client_prepends_the_answer_is_its_own_address(
    spoofed: list[str], client: str, proxy_hops: int
) -> None:
    proxies = parse_networks("10.0.0.0/16")
    if parse_address(client) in proxies[0]:
        return  # a client inside the proxy network is a proxy by definition
    hops = [*spoofed, client, *(f"10.0.{i}.1" for i in range(proxy_hops))]
    assert client_address("10.0.200.1", [", ".join(hops)], proxies) == client
