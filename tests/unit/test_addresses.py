"""The address policy of URL downloads (issue 26): which addresses an export's URL may reach.

Pure functions on addresses and host names: nothing here connects to anything.
"""

from __future__ import annotations

import ipaddress

import pytest
from click.testing import CliRunner

from importer.addresses import (
    AddressPolicy,
    AddressRefusedError,
    literal_address,
    normal_allowed_host,
    special_purpose,
)
from importer.cli import cli
from importer.cli_settings import download_limits


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "reserved"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("100.64.0.1", "shared"),
        ("100.127.255.255", "shared"),
        ("169.254.169.254", "link-local"),
        ("192.0.0.8", "reserved"),
        ("192.0.0.9", "reserved"),  # a globally reachable anycast of a refused block
        ("192.0.2.1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("198.51.100.1", "documentation"),
        ("203.0.113.1", "documentation"),
        ("192.88.99.1", "reserved"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("::8.8.8.8", "IPv4-compatible"),  # deprecated form: refused whatever it embeds
        ("::ffff:0:808:808", "IPv4-translated"),
        ("64:ff9b::127.0.0.1", "NAT64 of 127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
        ("64:ff9b:1::1", "local-use NAT64"),
        ("2002:7f00:1::", "6to4 of 127.0.0.1"),
        ("2002:a00:1::1", "6to4 of 10.0.0.1"),
        ("2001::1", "Teredo"),
        ("2001:2::1", "benchmarking"),
        ("2001:db8::1", "documentation"),
        ("2001:10::1", "reserved"),
        ("3fff::1", "documentation"),
        ("5f00::1", "reserved"),
        ("100::1", "discard-only"),
        ("fc00::1", "private"),
        ("fd00:ec2::254", "private"),  # AWS's IPv6 instance metadata
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("4000::1", "reserved"),  # outside 2000::/3
        ("1::1", "reserved"),
    ],
)
def test_special_purpose_addresses_are_named(address: str, kind: str) -> None:
    found = special_purpose(ipaddress.ip_address(address))
    assert found is not None
    assert kind in found, found


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "100.63.255.255",  # just below the shared block
        "100.128.0.0",  # just above it
        "172.15.255.255",
        "172.32.0.0",
        "192.31.196.1",  # AS112: globally reachable
        "192.175.48.1",  # AS112
        "223.255.255.255",
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::8.8.8.8",  # NAT64 of a public address
        "2002:808:808::1",  # 6to4 of a public address
        "2620:4f:8000::1",  # AS112 direct delegation
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert special_purpose(ipaddress.ip_address(address)) is None


def test_the_list_does_not_rely_on_pythons_is_private() -> None:
    """Python 3.11's ipaddress misjudges some of these (before its fix)."""
    assert special_purpose(ipaddress.ip_address("::ffff:127.0.0.1")) is not None
    assert special_purpose(ipaddress.ip_address("192.0.0.9")) is not None
    assert special_purpose(ipaddress.ip_address("64:ff9b::a9fe:a9fe")) is not None
    assert special_purpose(ipaddress.ip_address("2002:7f00:1::")) is not None
    assert special_purpose(ipaddress.ip_address("100.64.0.1")) is not None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("[0:0:0:0:0:ffff:7f00:1]", "::ffff:7f00:1"),
        ("fe80::1%25eth0", "fe80::1%eth0"),
    ],
)
def test_every_spelling_of_an_address_is_read_as_it(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host",
    ["localhost", "files.example.com", "1.2.3.4.5", "256.1.1.1", "1.16777216", "0x1g", "08", "a1"],
)
def test_names_and_impossible_numbers_are_not_addresses(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "127.1",
        "0177.0.0.1",
        "0",
        "[::1]",
        "::ffff:7f00:1",
        "localhost",
        "localhost.",
        "LocalHost",
        "files.localhost",
        "169.254.169.254",
        "10.0.0.1",
        "[fd00::1]",
        "not:an:address",  # connected to as an address, yet unreadable
    ],
)
def test_refused_hosts_are_refused_before_any_lookup(host: str) -> None:
    with pytest.raises(AddressRefusedError, match="refused by the address policy"):
        AddressPolicy().check_host(host)


def test_a_name_is_judged_on_every_address_it_resolves_to() -> None:
    policy = AddressPolicy()
    policy.check_host("files.example.com")  # a name: judged when it is resolved
    policy.check_resolved("files.example.com", ["93.184.216.34", "2606:2800:220:1::1"])
    with pytest.raises(AddressRefusedError) as caught:
        # resolved to a public address when looked at, to the metadata address when connected
        policy.check_resolved("files.example.com", ["93.184.216.34", "169.254.169.254"])
    assert "169.254.169.254 (from files.example.com) is a link-local address" in str(caught.value)
    assert "--allow-host files.example.com" in str(caught.value)
    with pytest.raises(AddressRefusedError, match="loopback"):
        policy.check_resolved("files.example.com", ["::ffff:127.0.0.1"])
    with pytest.raises(AddressRefusedError, match="loopback"):
        policy.check_resolved("files.example.com", ["::1%1"])


def test_an_allowed_host_is_allowed_at_any_address_with_its_subdomains() -> None:
    policy = AddressPolicy(allow_hosts=("files.internal", "127.0.0.1", "fd00::5"))
    for host in ("files.internal", "FILES.internal.", "a.files.internal", "a.b.files.internal"):
        assert policy.allows_host(host)
        policy.check_resolved(host, ["10.0.0.7"])
    for host in ("otherfiles.internal", "files.internal.evil.example", "internal", "localhost"):
        assert not policy.allows_host(host)
    # an allowed address in any of its spellings, and nothing else on that address
    for host in ("127.0.0.1", "2130706433", "127.1", "0x7f.1", "[::ffff:127.0.0.1]", "[fd00::5]"):
        assert policy.allows_host(host)
        policy.check_host(host)
    for host in ("127.0.0.2", "[::1]", "[fd00::6]"):
        assert not policy.allows_host(host)
        with pytest.raises(AddressRefusedError):
            policy.check_host(host)


def test_allow_private_urls_allows_every_address() -> None:
    policy = AddressPolicy(allow_private=True)
    for host in ("127.0.0.1", "0x7f.1", "localhost", "[::1]", "169.254.169.254"):
        policy.check_host(host)
    policy.check_resolved("files.internal", ["10.0.0.1", "::1"])


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("files.example.com", "files.example.com"),
        ("Files.Example.COM.", "files.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),
    ],
)
def test_allow_host_values_are_kept_in_one_spelling(value: str, kept: str) -> None:
    assert normal_allowed_host(value) == kept


@pytest.mark.parametrize(
    "value", ["", " ", "http://files.example.com", "files.example.com:8080", "a/b", "u@h", "[::1"]
)
def test_allow_host_takes_a_host_alone(value: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        normal_allowed_host(value)


def test_the_options_become_the_downloads_policy() -> None:
    policy = download_limits({}).addresses
    assert policy == AddressPolicy()
    policy = download_limits(
        {"allow_hosts": ("files.internal", "127.0.0.1"), "allow_private_urls": False}
    ).addresses
    assert policy.allow_hosts == ("files.internal", "127.0.0.1")
    assert download_limits({"allow_private_urls": True}).addresses.allow_private


@pytest.mark.parametrize("command", ["run", "plan", "fetch-attachments"])
def test_every_command_that_fetches_urls_has_the_options(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--allow-host HOST" in result.output
    assert "--allow-private-urls" in result.output
