"""The web console for the people who run the desk, at /console: conversations live,
queues and agents, workflows and schedules drawn. Server-rendered (Jinja2), with a few lines
of vendored JavaScript for live updates over Server-Sent Events."""
