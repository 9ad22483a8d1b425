"""A labgrid place as a serial port: `labgrid://PLACE` (or `labgrid://PLACE/RESOURCE` when the
place has several serial ports) names the NetworkSerialPort of a place in a labgrid board farm.

The place must already be acquired by this user on this host (or allowed to it), as labgrid's
own tools require (`labgrid-client -p PLACE acquire`): edgetx never takes a board from under
someone else, and never leaves one locked behind it. The coordinator is labgrid's:
LG_COORDINATOR, else its default; LG_PROXY and exporters that require SSH forwarding work as
in labgrid-client. labgrid is imported only for such a port, so edgetx runs without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from edgetx.errors import UserError

SCHEME = "labgrid://"
DEFAULT_COORDINATOR = "127.0.0.1:20408"  # labgrid's own, when LG_COORDINATOR is unset
SERIAL_CLASS = "NetworkSerialPort"
READY_TIMEOUT_S = 10.0  # as labgrid's RemotePlace waits for a resource
READY_POLL_S = 0.1


def is_place(port: str) -> bool:
    return port.startswith(SCHEME)


def serial_url(port: str) -> str:
    """The pyserial URL of port: a labgrid place's serial port, resolved through the
    coordinator (socket:// for raw TCP, rfc2217:// for RFC 2217); any other port as given."""
    if not is_place(port):
        return port
    place, _, wanted = port.removeprefix(SCHEME).partition("/")
    if not place:
        raise UserError(f"{port!r} names no place; write labgrid://PLACE")
    try:
        from labgrid import Target
        from labgrid.driver.exception import ExecutionError
        from labgrid.remote import client
        from labgrid.resource import NetworkSerialPort
        from labgrid.util.proxy import ProxyError, proxymanager
    except ImportError:
        raise UserError(
            f"{port} needs labgrid; install it with 'pip install labgrid' "
            "(edgetx is tested with labgrid 26.0.1)"
        ) from None
    address = os.environ.get("LG_COORDINATOR", DEFAULT_COORDINATOR)
    where = f"{port} (coordinator {address}, from LG_COORDINATOR or labgrid's default)"
    try:
        with _session(client, address) as session:
            lg_place = session.get_acquired_place(place)
            entries = session.get_target_resources(lg_place)
            name, entry = _serial_entry(port, lg_place.name, wanted, entries)
            # An exporter starts ser2net for a local serial port once the place is acquired,
            # and publishes its TCP port moments later.
            deadline = time.monotonic() + READY_TIMEOUT_S
            while not (entry.avail and entry.args.get("port")):
                if time.monotonic() > deadline:
                    raise UserError(
                        f"{where}: serial port {name} of place {lg_place.name} is not available "
                        f"after {READY_TIMEOUT_S:.0f} s; is its exporter running? (see "
                        "'labgrid-client resources')"
                    )
                session.loop.run_until_complete(asyncio.sleep(READY_POLL_S))  # takes updates
            # A labgrid resource, so labgrid's proxy manager can reach it (SSH forwarding).
            resource = NetworkSerialPort(Target(lg_place.name), name, **entry.args)
            resource.extra = entry.extra
            host, tcp_port = proxymanager.get_host_and_port(resource)
    except client.UserError as e:
        raise UserError(
            f"{where}: {_text(e)}; see 'labgrid-client places', then "
            f"'labgrid-client -p {place} acquire'"
        ) from None
    except (client.Error, ExecutionError, ProxyError, OSError) as e:
        raise UserError(
            f"{where}: {_text(e)}; is labgrid-coordinator running there (else set "
            "LG_COORDINATOR=HOST:PORT), and the place's exporter?"
        ) from None
    host = f"[{host}]" if ":" in host else host
    protocol = entry.args.get("protocol", "rfc2217")  # NetworkSerialPort's default
    if protocol == "raw":
        return f"socket://{host}:{tcp_port}"
    if protocol == "rfc2217":
        # As labgrid's SerialDriver does: ser2net does not acknowledge modem-control requests.
        return f"rfc2217://{host}:{tcp_port}?ign_set_control"
    raise UserError(f"{where}: serial port {name} speaks {protocol!r}; edgetx takes raw or rfc2217")


@contextlib.contextmanager
def _session(client: Any, address: str) -> Iterator[Any]:
    """A coordinator session on an event loop of its own, all closed on exit."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # grpc.aio binds its channel to the thread's current loop
    try:
        # An unreachable coordinator makes labgrid log a traceback before it raises.
        logging.disable(logging.ERROR)
        try:
            session = client.start_session(address, loop=loop)
        finally:
            logging.disable(logging.NOTSET)
        try:
            yield session
        finally:
            loop.run_until_complete(session.stop())
            loop.run_until_complete(session.close())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _serial_entry(port: str, place: str, wanted: str, entries: dict) -> tuple[str, Any]:
    """The (name, entry) of the place's serial port: the one named in port, or its only one."""
    serial = {name: entry for (name, cls), entry in entries.items() if cls == SERIAL_CLASS}
    if wanted:
        if wanted not in serial:
            raise UserError(f"place {place} has no serial port {wanted!r}; it has {_names(serial)}")
        return wanted, serial[wanted]
    if len(serial) == 1:
        return next(iter(serial.items()))
    if not serial:
        raise UserError(
            f"place {place} has no {SERIAL_CLASS} among its resources "
            f"({_names(name for name, _ in entries)}); export the board's console as a "
            f"{SERIAL_CLASS} and add it with 'labgrid-client -p {place} add-match "
            f"EXPORTER/GROUP/{SERIAL_CLASS}'"
        )
    raise UserError(f"place {place} has serial ports {_names(serial)}; name one: {port}/NAME")


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _text(e: BaseException) -> str:
    return " ".join(map(str, e.args))  # labgrid's str() prefixes "Error: "
