"""What to tell an operator when Slack stops taking the app's token.

Slack sends `tokens_revoked` and `app_uninstalled` events when the bot token stops working
(https://api.slack.com/events/tokens_revoked, https://api.slack.com/events/app_uninstalled),
and answers `invalid_auth` or `token_revoked` to every call made with it after that; nothing
reaches Slack until the app is reinstalled and the new token is configured.
"""

from __future__ import annotations

# Web API error codes that mean the bot token itself no longer works.
TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired"})


def token_refused(slug: str, what: str) -> str:
    return (
        f"slack {slug}: {what}: reinstall the app to the workspace (OAuth & Permissions, "
        f"Install to Workspace) and put its new Bot User OAuth Token in channels.{slug}.bot_token "
        "(or the environment variable it names, e.g. SLACK_BOT_TOKEN), then restart"
    )
