"""``tikkun serve``: the dashboard on a Panel (Bokeh) server, one page and one run per browser session."""

from __future__ import annotations

import errno
import ipaddress
import socket

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
DEFAULT_MAX_SOULS = 600_000
DISCONNECTED = ("The connection to the tikkun server is lost (it was stopped, or cannot be reached): this page "
                "no longer follows its run. Reload the page once the server runs again.")


class ServeError(ValueError):
    """Options the server cannot start with; the message names the option."""


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_warning(host: str, port: int) -> str | None:
    """What ``tikkun serve`` says on start when it listens beyond this machine, else None."""
    if is_loopback(host):
        return None
    return (f"warning: listening on {host}:{port}, beyond this machine: anyone who can reach it can run "
            f"simulations here and read sweep folders by path; the dashboard has no login. "
            f"Use the default --host {DEFAULT_HOST} unless that is meant.")


def check_port(host: str, port: int) -> None:
    """:class:`ServeError` naming the option if ``port`` cannot be listened on at ``host``."""
    if not 0 < port < 65536:
        raise ServeError(f"--port: must be between 1 and 65535 (got {port})")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host.strip("[]"), port))
        except OSError as exc:
            # a name that does not resolve, or an address that is not this machine's: the host is wrong
            if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
                raise ServeError(f"--host {host}: cannot listen there ({exc.strerror or exc}); give an address of "
                                 f"this machine, e.g. {DEFAULT_HOST} (this machine only) or 0.0.0.0 (every address)") from None
            raise ServeError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc}); "
                             f"choose another --port") from None


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, max_souls: int = DEFAULT_MAX_SOULS,
          show: bool = False, echo=print) -> None:
    """Serve the dashboard until interrupted. Each browser session gets its own page and run
    (``pn.serve`` is given a function, called once per session)."""
    from ..scenario.schema import SoulsConfig, field_bounds

    limit = field_bounds(SoulsConfig.model_fields["count"])[1]  # the scenario's own bound
    if not 0 < max_souls <= limit:  # above it the page would offer runs every scenario refuses
        raise ServeError(f"--max-souls: must be a positive number of souls, at most {limit:,} as `souls.count` "
                         f"(got {max_souls:,})")
    check_port(host, port)
    import panel as pn

    from .app import page
    from .claims import figure_route, stop_experiments

    warning = host_warning(host, port)
    if warning:
        echo(warning)
    shown = f"[{host}]" if ":" in host else host
    origins = [f"{shown}:{port}"] + ([f"localhost:{port}", f"127.0.0.1:{port}"] if is_loopback(host) else [])
    if not is_loopback(host) and host in ("0.0.0.0", "::"):
        origins = ["*"]  # any of the machine's addresses may be the one a browser used
    # shown on every open page when its connection to this server is lost (the server stopped):
    # what the page shows is no longer updated
    pn.config.disconnect_notification = DISCONNECTED
    echo(f"tikkun dashboard: http://{shown}:{port}/ (Ctrl-C to stop)")
    def session():  # a plain function: pn.serve calls it once per browser session
        return page(max_souls)

    try:  # returns when Ctrl-C stops the server's loop
        pn.serve({"/": session}, address=host, port=port, show=show, title="tikkun",
                 websocket_origin=origins, verbose=False, threaded=False, extra_patterns=[figure_route()])
    finally:
        stop_experiments()
