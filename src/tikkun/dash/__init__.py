"""``tikkun serve``: watch the correction happen in a browser (optional extra ``tikkun[dash]``).

Built on Panel: each browser session gets its own page and its own run; the run goes on in a
worker thread and a periodic callback on the server's event loop pulls its new yearly rows
into the figures (docs/dashboard.md says why Panel). Nothing in tikkun's core imports this
package.
"""

from .server import DEFAULT_HOST, DEFAULT_MAX_SOULS, DEFAULT_PORT, ServeError, host_warning, is_loopback, serve

__all__ = ["DEFAULT_HOST", "DEFAULT_MAX_SOULS", "DEFAULT_PORT", "ServeError", "host_warning", "is_loopback", "serve"]
