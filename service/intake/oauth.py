"""XOAUTH2 for IMAP and SMTP: a fresh access token from a command, and the SASL string built from it.

Google Workspace and Microsoft 365 access tokens expire within the hour, and neither service keeps basic auth
for long (SPEC §4, NOTES.md), so the intake never stores a token: before each connection it runs the
command in CERTLEDGER_OAUTH2_TOKEN_COMMAND, which prints one. Refreshing is that command's business
(`gcloud auth print-access-token`, `oauth2l fetch …`, or a site's own script).

The command is split like a shell would split it (`shlex.split`) and run without a shell: quoting works,
so a script path with spaces can be quoted, but pipes, `$VARS` and `&&` do not. Whoever needs those writes
`sh -c '…'` as the command. No shell means no second round of expansion of whatever the variable holds.

The token is a secret: no message from this module quotes what the command printed.
"""

import os
import shlex
import subprocess
from collections.abc import Mapping

TOKEN_COMMAND_VARIABLE = "CERTLEDGER_OAUTH2_TOKEN_COMMAND"  # noqa: S105 - a variable name, not a secret

# gcloud and friends may refresh over the network first; a minute is generous and still ends a hang.
TOKEN_COMMAND_TIMEOUT = 60.0


class OAuthError(Exception):
    """No access token could be had; the message names the variable and says what went wrong."""


def fetch_access_token(
    environ: Mapping[str, str] | None = None, *, timeout: float = TOKEN_COMMAND_TIMEOUT
) -> str:
    """Run the token command once and return the access token it printed on standard output."""
    command = (os.environ if environ is None else environ).get(TOKEN_COMMAND_VARIABLE, "")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise OAuthError(f"{TOKEN_COMMAND_VARIABLE} cannot be split into words: {exc}") from None
    if not argv:
        raise OAuthError(
            f"XOAUTH2 needs {TOKEN_COMMAND_VARIABLE}: a command that prints an access token "
            "(for example `gcloud auth print-access-token`)"
        )
    try:
        done = subprocess.run(  # noqa: S603 - the operator's own command, run without a shell on purpose
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise OAuthError(f"the command in {TOKEN_COMMAND_VARIABLE} was not found: {argv[0]}") from None
    except PermissionError:
        raise OAuthError(f"the command in {TOKEN_COMMAND_VARIABLE} is not executable: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise OAuthError(
            f"the command in {TOKEN_COMMAND_VARIABLE} printed no token within {timeout:g} seconds"
        ) from None
    if done.returncode != 0:
        # Its standard error is the operator's best clue (expired login, wrong account); a token
        # goes to standard output, which is never quoted.
        detail = _last_line(done.stderr)
        raise OAuthError(
            f"the command in {TOKEN_COMMAND_VARIABLE} failed with exit status {done.returncode}"
            + (f": {detail}" if detail else "")
        )
    token = done.stdout.decode("utf-8", "replace").strip()
    if not token:
        raise OAuthError(f"the command in {TOKEN_COMMAND_VARIABLE} printed no access token")
    # A bearer token is one printable word (RFC 6750 b64token); anything else would break the
    # \x01-separated SASL string, and is most likely a chatty command printing more than the token.
    if not token.isprintable() or any(character.isspace() for character in token):
        raise OAuthError(
            f"the command in {TOKEN_COMMAND_VARIABLE} printed more than one access token "
            "(expected a single word on standard output)"
        )
    return token


def xoauth2_string(user: str, token: str) -> str:
    """The XOAUTH2 initial client response (before base64), as Google and Microsoft document it."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def _last_line(output: bytes, limit: int = 200) -> str:
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""
