"""The Slack channel: the agents' desk (handoff notices, replies from their threads, agent
status) and a channel for customers who write to the app, through slack-bolt and slack_sdk."""

from adapters.slack.channel import SlackChannel
from core import logs

# slack_sdk logs each request with its headers at DEBUG; slack-bolt's "unhandled request"
# warning comes with lines of code to copy.
logs.quiet("slack_bolt", "slack_sdk", first_line=True)

__all__ = ["SlackChannel"]
