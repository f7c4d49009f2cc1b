"""Build-time changes to the frontend Reflex generates (a Reflex plugin, listed in rxconfig.py).

The tab token names a tab's state on the server and rides in the websocket URL and in every upload request.
Reflex's `state.js` makes it with `Math.random()` mixed with the clock, which is not a secret generator; this
plugin rewrites that one function to draw the token's 122 random bits from `crypto.getRandomValues` (which,
unlike `crypto.randomUUID`, also exists on plain-http origins). The server no longer trusts the token alone
(crm_app/state/binding.py), but it should not be guessable either.

The rewrite runs on every compile through Reflex's own plugin hook (`add_modify_task`). If a Reflex upgrade
changes the function so that the anchor is gone, the build fails with a clear message instead of silently
shipping the old generator.
"""

from __future__ import annotations

import re

from reflex_base.plugins.base import Plugin

STATE_JS = "utils/state.js"
MARKER = "crypto.getRandomValues(new Uint8Array(16))"
_GENERATOR = re.compile(r"export const generateUUID = \(\) => \{\n.*?\n\};\n", re.S)
SECURE_GENERATOR = """export const generateUUID = () => {
  // A version 4 UUID from the browser's CSPRNG (patched in by crm_app/frontend.py).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
"""


def secure_tab_token(source: str) -> str:
    """`state.js` with its token generator drawing from `crypto.getRandomValues`; raises if it cannot be found."""
    if MARKER in source:
        return source
    patched, count = _GENERATOR.subn(lambda _: SECURE_GENERATOR, source, count=1)
    if count != 1 or "Math.random" in patched:
        raise RuntimeError(
            f"crm_app/frontend.py cannot make the tab token secure: `generateUUID` in {STATE_JS} is not the "
            "function it knows (did Reflex change?). Update SECURE_GENERATOR's anchor before building.")
    return patched


class SecureTabToken(Plugin):
    """Rewrites Reflex's tab token generator on every compile."""

    def pre_compile(self, **context) -> None:
        """Ask the compiler to pass `utils/state.js` through `secure_tab_token` before it is written.

        Args:
            context: Reflex's pre-compile context (`add_modify_task` among it).
        """
        context["add_modify_task"](STATE_JS, secure_tab_token)
