"""Outbound HTTP to an address someone typed: refused when it is not on the public internet (SSRF).

Company enrichment (leads.enrichment) reads a prospect's website and webhooks (hooks.delivery) post
to a customer's endpoint; both check each hop's host with checked_address and then connect, through
PinnedAdapter, to the address they checked.
"""

import ipaddress
import socket
import sys
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.util.connection import create_connection


class AddressRefused(Exception):
    """Why a URL may not be fetched; the message is shown or stored as it is."""


def checked_address(url: str, *, allow_private: bool) -> str:
    """The address to connect to for `url`: http(s) only, and every address its host resolves to global (SSRF).

    `allow_private` is each caller's switch for tests and local use (ENRICH_ALLOW_PRIVATE,
    WEBHOOKS_ALLOW_PRIVATE).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise AddressRefused(f"Only http and https pages are read, not {parts.scheme or 'a relative URL'}.")
    if not parts.hostname:
        raise AddressRefused("The website address has no host.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"The host {parts.hostname} does not resolve.") from exc
    if not allow_private:
        for info in infos:
            _check_address(info[4][0], parts.hostname)
    return infos[0][4][0]


def _check_address(address: str, host: str) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        raise AddressRefused(f"{host} is a private, loopback, link-local or reserved address: not fetched.")


class PinnedAdapter(HTTPAdapter):
    """Connects to the address that was checked, whatever the name resolves to a second later (DNS rebinding).

    The request keeps the name: its Host header, TLS server name and certificate check are the site's.
    Only the socket is opened to the checked address, in the one method urllib3 opens it (urllib3 2.x,
    pinned in requirements.txt; tests/leads/test_enrichment.py proves it).
    """

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__(max_retries=0)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        pool = super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        address, base = self._address, pool.ConnectionCls

        class Pinned(base):
            def _new_conn(self):
                sock = create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
                sys.audit("http.client.connect", self, self.host, self.port)
                return sock

        pool.ConnectionCls = Pinned
        return pool
