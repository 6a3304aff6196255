"""Which addresses an export's URL may make the importer connect to (the address policy).

Attachment URLs and inline images come from the export, whose bodies customers wrote: an
``<img src="http://169.254.169.254/...">`` must not make the importer fetch a cloud instance's
metadata and store it in the Help Scout account. So, unless the user allows it
(``--allow-host HOST``, ``--allow-private-urls``), a URL download never connects to an address
of the IANA special-purpose registries (IPv4 and IPv6) that is not globally reachable:
loopback, private, link-local, shared (100.64/10), multicast, broadcast, documentation,
benchmarking, reserved and unspecified addresses. The lists are written out here rather than
taken from :mod:`ipaddress` (Python 3.11's ``is_private``/``is_global`` predate their fixes).

- An IPv4-mapped IPv6 address (``::ffff:127.0.0.1``) is judged as the IPv4 address it is; the
  NAT64 well-known prefix (``64:ff9b::/96``) and 6to4 (``2002::/16``) as the IPv4 address they
  embed (refused when that one is); the local-use NAT64 prefix, IPv4-compatible and
  IPv4-translated forms, Teredo (in ``2001::/23``, refused whole) and everything outside
  ``2000::/3`` are refused.
- Blocks of the registries that hold a few globally reachable assignments (``192.0.0.0/24``,
  ``2001::/23``) are refused whole: no attachment is served from a PCP or TURN anycast address.
- Hosts are judged by the address actually connected to: an IP literal in any spelling a
  resolver accepts (``2130706433``, ``0x7f.1``, ``127.1``, ``0177.0.0.1``, ``0``) is read as
  that address before any connection, and a name is judged on every address it resolves to, at
  connect time (:meth:`AddressPolicy.check_resolved`, the downloader's resolver), so a name
  that resolves to a public address when looked at and to a private one when connected to
  cannot slip through. One refused address among several refuses the name; ``localhost`` and
  its subdomains (RFC 6761) are refused by name, whatever they resolve to.
- An allowed host (``--allow-host``) is allowed at any port, with its subdomains; an allowed IP
  address in any spelling of it. ``--allow-private-urls`` allows every address.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote

from yarl import URL

from importer.errors import ImporterError

__all__ = [
    "AddressPolicy",
    "AddressRefusedError",
    "IPAddress",
    "literal_address",
    "normal_allowed_host",
    "special_purpose",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _nets4(*pairs: tuple[str, str]) -> tuple[tuple[ipaddress.IPv4Network, str], ...]:
    return tuple((ipaddress.IPv4Network(net), what) for net, what in pairs)


def _nets6(*pairs: tuple[str, str]) -> tuple[tuple[ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.IPv6Network(net), what) for net, what in pairs)


#: IANA IPv4 Special-Purpose Address Registry (RFC 6890 and later), without the blocks that
#: are globally reachable (192.31.196.0/24 AS112, 192.52.193.0/24 AMT, 192.175.48.0/24
#: AS112), plus multicast (224.0.0.0/4); the first match names the kind
IPV4_REFUSED = _nets4(
    ("0.0.0.0/32", "an unspecified address"),
    ("0.0.0.0/8", "a reserved address ('this network')"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared address (carrier-grade NAT)"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "a reserved address (IETF protocol assignments)"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a reserved address (deprecated 6to4 relay anycast)"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
)

#: IANA IPv6 Special-Purpose Address Registry, without the globally reachable blocks
#: (64:ff9b::/96 and 2002::/16 are judged by the IPv4 address they embed, 2620:4f:8000::/48
#: AS112 is allowed), plus site-local and multicast; anything outside 2000::/3 that is not
#: named here is reserved too (IANA IPv6 Address Space registry)
IPV6_REFUSED = _nets6(
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("::ffff:0:0:0/96", "a reserved address (IPv4-translated)"),
    ("::/96", "a reserved address (IPv4-compatible)"),
    ("64:ff9b:1::/48", "a private address (local-use NAT64)"),
    ("100::/64", "a reserved address (discard-only)"),
    ("100:0:0:1::/64", "a reserved address (dummy prefix)"),
    ("2001::/32", "a reserved address (Teredo)"),
    ("2001:2::/48", "a benchmarking address"),
    ("2001:db8::/32", "a documentation address"),
    ("2001::/23", "a reserved address (IETF protocol assignments)"),
    ("3fff::/20", "a documentation address"),
    ("5f00::/16", "a reserved address (segment routing)"),
    ("fc00::/7", "a private address (unique local)"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a private address (deprecated site-local)"),
    ("ff00::/8", "a multicast address"),
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def special_purpose(address: IPAddress) -> str | None:
    """What special-purpose address ``address`` is ("a loopback address", "a private
    address", ...), or None when it is a globally reachable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return special_purpose(address.ipv4_mapped)
        embedded: ipaddress.IPv4Address | None = None
        via = ""
        if address in _NAT64:
            embedded, via = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
        elif address.sixtofour is not None:
            embedded, via = address.sixtofour, "6to4"
        if embedded is not None:
            kind = special_purpose(embedded)
            return None if kind is None else f"{kind} ({via} of {embedded})"
        for network, what in IPV6_REFUSED:
            if address in network:
                return what
        return None if address in _GLOBAL_UNICAST else "a reserved address"
    for network4, what in IPV4_REFUSED:
        if address in network4:
            return what
    return None


_HEX = re.compile(r"[0-9a-f]+")
_OCTAL = re.compile(r"[0-7]+")
_DECIMAL = re.compile(r"[0-9]+")


def _ipv4_number(part: str) -> int | None:
    """One part of a numeric IPv4 host (``0x7f``, ``0177``, ``127``), as resolvers read it."""
    part = part.lower()
    if part.startswith("0x"):
        digits = part[2:]
        if not digits:
            return 0
        return int(digits, 16) if _HEX.fullmatch(digits) else None
    if len(part) > 1 and part.startswith("0"):
        return int(part[1:], 8) if _OCTAL.fullmatch(part[1:]) else None
    return int(part) if _DECIMAL.fullmatch(part) else None


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``host`` read as a numeric IPv4 address in any of the spellings ``inet_aton`` and URL
    parsers accept (1 to 4 parts, each decimal, octal or hex, the last filling the rest), or
    None when it is not one."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # one trailing dot: "127.0.0.1."
    if not 1 <= len(parts) <= 4 or any(not part for part in parts):
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 256 ** (5 - len(values)):
        return None
    total = last
    for index, value in enumerate(leading):
        total += value << (8 * (3 - index))
    return ipaddress.IPv4Address(total)


def literal_address(host: str) -> IPAddress | None:
    """The IP address ``host`` (a URL's host, brackets or not) spells, in any spelling, or None
    when it is a name."""
    text = unquote(host.strip())
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return _numeric_ipv4(text)


def _unwrapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _name(host: str) -> str:
    """A host name as compared with the allowed ones: lowercase, without trailing dots."""
    return host.strip().lower().rstrip(".")


def normal_allowed_host(value: str) -> str:
    """An ``--allow-host`` value as it is kept: a name lowercased and IDNA-encoded, or an IP
    address in its usual spelling.

    :raises ValueError: when it is not a host name or an IP address (a scheme, a port, a path).
    """
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    address = literal_address(text)
    if address is not None:
        return str(_unwrapped(address))
    if not text or ":" in text or re.search(r"[/@?#\s\[\]\\%]", text):
        raise ValueError(
            f"{value!r} is not a host name or an IP address (give the host alone, without "
            "scheme, port or path: it is allowed at any port, with its subdomains)"
        )
    try:
        raw = URL.build(scheme="http", host=text).raw_host
    except (ValueError, UnicodeError) as exc:
        raise ValueError(f"{value!r} is not a host name ({exc})") from exc
    name = _name(raw or "")
    if not name:
        raise ValueError(f"{value!r} is not a host name")
    return name


_UNREADABLE = "not an address the policy can read"


class AddressRefusedError(ImporterError):
    """A URL's host is, or resolves to, an address the policy refuses (the downloader turns it
    into the file's ``DownloadError``)."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        self.host = host
        self.address = address
        self.kind = kind
        shown = address if _name(host) == address else f"{address} (from {host})"
        super().__init__(
            f"refused by the address policy: {shown} is {kind} "
            f"(--allow-host {_allow_hint(host, address)} or --allow-private-urls fetches it)"
        )


def _allow_hint(host: str, address: str) -> str:
    literal = literal_address(host)
    return str(_unwrapped(literal)) if literal is not None else _name(host) or address


@dataclass(frozen=True)
class AddressPolicy:
    """The hosts allowed whatever their address (``--allow-host``, kept as
    :func:`normal_allowed_host` gives them), or every address (``--allow-private-urls``)."""

    allow_hosts: tuple[str, ...] = ()
    allow_private: bool = False

    def allows_host(self, host: str) -> bool:
        """Whether ``host`` (a URL's host) is allowed whatever its address: the policy allows
        private addresses, or it is an allowed host, a subdomain of one, or an allowed address
        in any spelling."""
        if self.allow_private:
            return True
        if not self.allow_hosts:
            return False
        address = literal_address(host)
        if address is not None:
            return str(_unwrapped(address)) in self.allow_hosts
        name = _name(host)
        return any(name == allowed or name.endswith("." + allowed) for allowed in self.allow_hosts)

    def check_host(self, host: str) -> None:
        """Refuse ``host`` before any connection when it is an IP literal the policy refuses,
        or a ``localhost`` name (another name is judged on the addresses it resolves to:
        :meth:`check_resolved`).

        :raises AddressRefusedError: when it is refused.
        """
        if self.allows_host(host):
            return
        address = literal_address(host)
        if address is None:
            if ":" in host:  # connected to as an address, yet none we can read: never
                raise AddressRefusedError(host, host, _UNREADABLE)
            name = _name(host)
            if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: loopback only
                raise AddressRefusedError(host, name, "a loopback name (RFC 6761)")
            return
        kind = special_purpose(address)
        if kind is not None:
            raise AddressRefusedError(host, str(_unwrapped(address)), kind)

    def check_resolved(self, host: str, addresses: list[str]) -> None:
        """Refuse the name ``host`` when one of the addresses it resolved to (those about to be
        connected to) is refused.

        :raises AddressRefusedError: naming the first refused address.
        """
        if self.allows_host(host):
            return
        for text in addresses:
            try:
                address: IPAddress = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                raise AddressRefusedError(host, text, _UNREADABLE) from None
            kind = special_purpose(address)
            if kind is not None:
                raise AddressRefusedError(host, str(_unwrapped(address)), kind)
