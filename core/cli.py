"""The `frontdesk` command."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from pydantic import ValidationError

from core import logs, plugins, template_library
from core.bodies import describe
from core.chat import CHANNEL, Customer, read_stdin
from core.chat import chat as run_chat
from core.config import Config, load_config
from core.config_files import log_settings
from core.crosscheck import directory_of, workflow_problems
from core.default_secrets import refusal
from core.errors import ConfigError, Problem, StoreUnavailable
from core.event_loop import CHOICES, EventLoopChoice, loop_factory
from core.graph_cli import graph
from core.inspect_cli import agents, conversations, queues
from core.models import ContactProfile
from core.parked_cli import parked
from core.ports import Backup
from core.sources import Source, load_yaml
from core.workflow import parse_workflow


def _fail(error: ConfigError) -> None:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    sys.exit(1)


class _Commands(click.Group):
    """Built-in commands, plus those that channel packages add through entry points."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *plugins.available(plugins.CLI)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            found = plugins.cli_group(cmd_name)
            command = found if isinstance(found, click.Command) else None
        return command


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@click.group(cls=_Commands)
@click.option(
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    help="DEBUG, INFO (the default), WARNING...; or FRONTDESK_LOG_LEVEL",
)
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    help="text (the default) or json, one object per line; or FRONTDESK_LOG_FORMAT",
)
def main(log_level: str | None, log_format: logs.LogFormat | None) -> None:
    """frontdesk: route customer conversations from chat platforms and webhooks."""
    env = log_settings()
    level = (log_level or env.level or "INFO").upper()
    chosen = log_format or env.format or "text"
    if level not in LEVELS:
        raise click.BadParameter(f"FRONTDESK_LOG_LEVEL={env.level!r}: use one of {LEVELS}")
    if chosen not in logs.FORMATS:
        raise click.BadParameter(f"FRONTDESK_LOG_FORMAT={env.format!r}: use text or json")
    logs.setup(level, "json" if chosen == "json" else "text")


main.add_command(parked)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path))
@click.option("--host", help="listen on this address (over FRONTDESK_HOST and the config)")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="listen on this port (over FRONTDESK_PORT and the config)",
)
@click.option(
    "--insecure-demo",
    is_flag=True,
    help="Serve beyond 127.0.0.1 even with a known default secret (a demo, never production).",
)
@click.option(
    "--event-loop",
    type=click.Choice(CHOICES),
    default="auto",
    show_default=True,
    help="auto: uvloop when it is installed (pip install 'frontdesk[speed]'), else asyncio's.",
)
def serve(
    config_path: Path,
    host: str | None,
    port: int | None,
    insecure_demo: bool,
    event_loop: EventLoopChoice,
) -> None:
    """Run the server with the given config file. SIGHUP reloads it; SIGTERM stops."""
    from core.app import serve as run_server
    from core.server import CannotStart

    def load() -> Config:
        return load_config(config_path, host=host, port=port)

    def reload() -> Config:
        config = load()
        if not insecure_demo and (reason := refusal(config)) is not None:
            raise ConfigError([Problem(config.source, None, "", reason)])
        return config

    try:
        config = load()
    except ConfigError as exc:
        _fail(exc)
    if not insecure_demo and (reason := refusal(config)) is not None:
        click.echo(reason, err=True)
        sys.exit(2)
    try:
        factory = loop_factory(event_loop)
    except ImportError:
        click.echo("frontdesk: --event-loop uvloop: pip install 'frontdesk[speed]'", err=True)
        sys.exit(2)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(run_server(config, reload))
    except CannotStart as exc:
        click.echo(f"frontdesk: {exc}", err=True)
        sys.exit(1)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(config_path: Path, target: Path) -> None:
    """Copy the store to TARGET (a new file), consistently, even while serving."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        _fail(exc)
    store_type = plugins.store_type(config.store.type)
    assert store_type is not None  # the config loader checked it
    store = store_type(config.store.settings, config.base_dir)
    if not isinstance(store, Backup):
        click.echo(
            f"frontdesk: the {config.store.type} store cannot back itself up; "
            "use its database's own tools (such as pg_dump)",
            err=True,
        )
        sys.exit(1)
    try:
        asyncio.run(store.backup(target))
    except (StoreUnavailable, OSError) as exc:
        click.echo(f"frontdesk: backup failed: {exc}", err=True)
        sys.exit(1)
    click.echo(f"backed up the {config.store.type} store to {target}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check config and workflow files; name the file, line and field of each problem.

    A workflow file given beside one config is also checked against that config: the
    teams, agents, schedules, settings and secrets it names."""
    failed = False
    sources: dict[Path, Source] = {}
    configs: list[Config] = []
    outcome: dict[Path, list[Problem] | str] = {}
    for path in files:
        try:
            source = load_yaml(path)
            if isinstance(source.data, dict) and "steps" in source.data:
                sources[path] = source
                continue
            configs.append(load_config(path))
            outcome[path] = "config"
        except ConfigError as exc:
            outcome[path] = exc.problems
    directory = directory_of(configs[0]) if len(configs) == 1 else None
    for path, source in sources.items():
        try:
            workflow = parse_workflow(source)
        except ConfigError as exc:
            outcome[path] = exc.problems
            continue
        outcome[path] = workflow_problems(workflow, source, directory) or "workflow"
    for path in files:
        result = outcome[path]
        if isinstance(result, str):
            click.echo(f"{path}: ok ({result})")
            continue
        failed = True
        for problem in result:
            click.echo(str(problem), err=True)
    sys.exit(1 if failed else 0)


def _parse_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    parts = text.rsplit(" ", 1)
    try:
        if len(parts) == 2 and "/" in parts[1]:
            return datetime.fromisoformat(parts[0]).replace(tzinfo=ZoneInfo(parts[1]))
        moment = datetime.fromisoformat(text)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise click.BadParameter(f"{text!r}: use e.g. '2026-11-23 16:30 Europe/Madrid'") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.command()
@click.argument("workflow_path", type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="agents and teams")
@click.option("--at", "at", help="the time to start at, e.g. '2026-11-23 16:30 Europe/Madrid'")
@click.option(
    "--crm-answer",
    help="JSON a stub CRM answers every request with (sets settings.crm_url), "
    'e.g. \'{"customerType": "VIP"}\'',
)
@click.option("--name", default="You", show_default=True, help="the customer's name")
@click.option("--language", help="the customer's language, e.g. es")
@click.option("--email", help="the customer's email")
@click.option("--channel", default=CHANNEL, show_default=True, help="the channel they write on")
@click.option("--path", "show_path", is_flag=True, help="at the end, print the path taken")
def chat(
    workflow_path: Path,
    config_path: Path | None,
    at: str | None,
    crm_answer: str | None,
    name: str,
    language: str | None,
    email: str | None,
    channel: str,
    show_path: bool,
) -> None:
    """Talk to a workflow in the terminal as a customer would.

    With --config, the workflow is first checked against it as `validate` would."""
    logging.getLogger().setLevel(logging.WARNING)
    config: Config | None = None
    try:
        source = load_yaml(workflow_path)
        workflow = parse_workflow(source)
        if config_path is not None:
            config = load_config(config_path)
        problems = workflow_problems(
            workflow, source, directory_of(config) if config is not None else None
        )
        if problems:
            raise ConfigError(problems)
        profile = ContactProfile(external_id="terminal", name=name, language=language, email=email)
    except ConfigError as exc:
        _fail(exc)
    except ValidationError as exc:
        raise click.BadParameter(describe(exc)) from exc
    customer = Customer(profile, channel)
    asyncio.run(
        run_chat(
            workflow,
            config,
            _parse_at(at),
            read_stdin,
            click.echo,
            crm_answer,
            customer,
            path=show_path,
        )
    )


@main.command()
def templates() -> None:
    """List the routing templates that `frontdesk init` can write."""
    for name, description in template_library.available():
        click.echo(f"{name:16} {description}")


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--template", "name", required=True, help="one of `frontdesk templates`")
def init(directory: Path, name: str) -> None:
    """Write a working config, its workflows and a .env with fresh secrets into DIRECTORY."""
    try:
        written = template_library.copy_to(name, directory)
    except (LookupError, FileExistsError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    for path in written:
        click.echo(f"wrote {path}")
    config = directory / "frontdesk.yaml"
    program = _program()
    click.echo(f"next: {program} validate {config} && {program} serve --config {config}")


def _program() -> str:
    """The way to run this frontdesk again: as it was typed (`.venv/bin/frontdesk`) when that
    was a relative path, its bare name when that finds it on PATH, else its full path."""
    typed = Path(sys.argv[0])
    if not typed.is_absolute():
        return str(typed)
    found = shutil.which(typed.name)
    return typed.name if found and Path(found).resolve() == typed.resolve() else str(typed)


main.add_command(conversations)
main.add_command(queues)
main.add_command(agents)
main.add_command(graph)
