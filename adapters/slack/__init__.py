"""The Slack channel: the agents' desk (handoff notices, replies from their threads, agent
status) and a channel for customers who write to the app, through slack-bolt and slack_sdk."""

from adapters.slack.channel import SlackChannel

__all__ = ["SlackChannel"]
