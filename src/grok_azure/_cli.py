"""The ``grok-azure`` command: ``emulator``, ``chat``, ``models``, ``ping`` and ``batch``.

Every failure ends in :func:`~grok_azure._cli_output.report_failure`, which prints it in plain words and
picks the exit code from the one table, ``EXIT_CODES``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

import httpx

from ._auth import default_sync_credential, request_token
from ._catalog import CATALOG_ENV, UnknownModelError, load_catalog
from ._chat_params import ChatParams
from ._cli_output import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    Situation,
    answer,
    catalog_json,
    catalog_text,
    exit_code,
    report_failure,
    usage_line,
)
from ._client import GrokClient
from ._endpoint import API_KEY_ENV_VARS, ENDPOINT_ENV_VARS, ROUTES, Endpoint, first_env, resolve_endpoint
from ._errors import APIConnectionError, ConfigurationError, ContentFilterError, GrokError
from ._model_directory import DEPLOYMENTS_ENV, DEPLOYMENTS_FILE_ENV, ModelDirectory
from ._target import DEPLOYMENT_ENV_VAR, foundry_target
from ._version import __version__
from ._warnings import GrokAzureWarning
from .types.chat_params import MessageParam

_ENVIRONMENT_HELP = """\
environment:
  GROK_AZURE_ENDPOINT    your Foundry resource, e.g. https://<resource>.services.ai.azure.com
                         (chat, batch: unset means an embedded emulator on 127.0.0.1)
  GROK_AZURE_API_KEY     the resource's key; unset means Entra ID (DefaultAzureCredential)
  GROK_AZURE_DEPLOYMENT  the deployment name, when --model is not given
  GROK_AZURE_DEPLOYMENTS your deployments and their models, e.g. prod=grok-4.7,fast=grok-4-1-fast-reasoning
                         (or GROK_AZURE_DEPLOYMENTS_FILE: a JSON object {"prod": "grok-4.7"})"""
_EPILOG = f"{_ENVIRONMENT_HELP}\n\n{EXIT_CODES_HELP}"


# -- argument types -----------------------------------------------------------------------------------------


def _deployment(text: str) -> tuple[str, str]:
    name, sep, model = (part.strip() for part in text.partition("="))
    if not sep or not name or not model:
        raise argparse.ArgumentTypeError(f"expected NAME=MODEL (e.g. my-grok=grok-4.7), got {text!r}")
    try:
        return name, load_catalog().require(model).id
    except UnknownModelError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bounded(low: float, high: float, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan  # fails the range check below
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


_probability = _bounded(0.0, 1.0, "a number between 0 and 1")
_seconds = _bounded(0.001, math.inf, "a positive number of seconds")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0  # fails the check below
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grok-azure",
        description="xAI Grok on Azure AI Foundry: chat, run a batch, check a deployment, list models, run a local "
        "emulator.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"grok-azure {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    emu = command(
        "emulator",
        "run the local Foundry emulator in the foreground",
        "Serve the Foundry emulator until Ctrl-C or SIGTERM. The first line printed is its URL, the second its "
        "API key (use them as GROK_AZURE_ENDPOINT and GROK_AZURE_API_KEY).",
    )
    emu.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    emu.add_argument("--port", type=int, default=0, help="port to listen on (default: 0, a free port)")
    emu.add_argument("--api-key", type=_non_empty, help="the key clients must send (default: random)")
    emu.add_argument(
        "--deployment",
        type=_deployment,
        action="append",
        metavar="NAME=MODEL",
        help="deploy catalog MODEL as NAME; repeatable (default: every current model under its own id)",
    )
    emu.add_argument(
        "--fault-rate",
        type=_probability,
        default=0.0,
        metavar="P",
        help="answer this share with a random 408, 429, 500 or 503",
    )
    emu.add_argument("--seed", type=int, help="seed for --fault-rate, for repeatable runs")
    emu.add_argument(
        "--rpm",
        type=_positive_int,
        metavar="N",
        help="requests per minute per deployment (default: no limit)",
    )
    emu.add_argument(
        "--tpm", type=_positive_int, metavar="N", help="tokens per minute per deployment (default: no limit)"
    )
    emu.add_argument(
        "--quota-window",
        type=int,
        choices=(1, 10),
        default=1,
        metavar="SECONDS",
        help="window over which --rpm/--tpm are enforced: 1 or 10 (default: 1)",
    )
    emu.add_argument(
        "-q", "--quiet", action="store_true", help="do not log each request on stderr (logged by default)"
    )
    emu.set_defaults(handler=_run_emulator)

    chat = command(
        "chat",
        "send one prompt and print the answer",
        "Send one prompt to a deployment (GROK_AZURE_ENDPOINT, or an embedded emulator when it is unset).",
    )
    chat.add_argument("prompt", help="the prompt; '-' reads it from stdin")
    chat.add_argument("--model", help="deployment name (default: GROK_AZURE_DEPLOYMENT; emulator: grok-4.7)")
    chat.add_argument(
        "--stream", action=argparse.BooleanOptionalAction, default=True, help="print tokens as they arrive"
    )
    chat.add_argument("--reasoning-effort", metavar="EFFORT", help="e.g. low, medium, high (model dependent)")
    chat.add_argument("--system", metavar="TEXT", help="a system message")
    chat.add_argument("--max-tokens", type=int, metavar="N")
    chat.add_argument("--temperature", type=float, metavar="T")
    chat.add_argument("--json", action="store_true", help="print the final ChatCompletion as JSON")
    chat.add_argument("--show-reasoning", action="store_true", help="print the reasoning before the answer")
    chat.add_argument(
        "--route", choices=ROUTES, help="force a Foundry route (default: from the endpoint URL)"
    )
    chat.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="request timeout")
    chat.add_argument(
        "-v", "--verbose", action="store_true", help="print the target and token usage on stderr"
    )
    chat.set_defaults(handler=_run_chat)

    models = command(
        "models",
        "list the Grok models and your deployments of them",
        "List the Grok model catalog (status, limits, reasoning, prices) with your deployments of each model: "
        "those named in GROK_AZURE_DEPLOYMENTS or GROK_AZURE_DEPLOYMENTS_FILE, and GROK_AZURE_DEPLOYMENT when it "
        "is named after a catalog model. Nothing is sent: Foundry's data-plane API does not list deployments.",
    )
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.set_defaults(handler=_run_models)

    ping = command(
        "ping",
        "check endpoint, credentials and deployment",
        "Check, in order: the endpoint configuration, DNS, the credential (an API key, or an Entra ID token), "
        "and the deployment (a 1-token chat). Prints an OK line per check and explains the first failure.",
    )
    ping.add_argument("--model", help="deployment name (default: GROK_AZURE_DEPLOYMENT)")
    ping.add_argument(
        "--route", choices=ROUTES, help="force a Foundry route (default: from the endpoint URL)"
    )
    ping.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS", help="default: 30")
    ping.set_defaults(handler=_run_ping)

    from ._cli_batch import add_batch_command  # here: it imports this module's argument types

    add_batch_command(command)
    return parser


# -- emulator -----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so both stop the emulator the same clean way."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _request_log_to(err: TextIO, enabled: bool) -> Iterator[None]:
    """Print the emulator's request log (logger ``grok_azure.emulator``) on ``err`` while serving.

    Not propagated meanwhile: a handler ``GROK_AZURE_LOG`` put on ``grok_azure`` would print each line twice.
    """
    if not enabled:
        yield
        return
    log = logging.getLogger("grok_azure.emulator")
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    level, propagate = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        log.propagate = propagate


def _run_emulator(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        # The emulator needs the optional `emulator` extra (starlette, uvicorn): imported only to run it.
        from ._emulator._emulator import FoundryEmulator
    except ImportError as exc:
        print(f"error: the emulator needs `pip install 'grok-azure[emulator]'` ({exc})", file=err)
        return EXIT_USAGE
    deployments: dict[str, str] | None = None
    if args.deployment:
        deployments = {}
        for name, model in args.deployment:
            if name in deployments:
                print(f"error: deployment {name!r} is given twice", file=err)
                return EXIT_USAGE
            deployments[name] = model
    emulator = FoundryEmulator(
        args.api_key,
        deployments,
        host=args.host,
        port=args.port,
        fault_rate=args.fault_rate,
        seed=args.seed,
        rpm=args.rpm,
        tpm=args.tpm,
        quota_window=args.quota_window,
        log_requests=not args.quiet,
    )
    with _sigterm_interrupts(), _request_log_to(err, enabled=not args.quiet):
        try:
            emulator.start()
        except OSError as exc:
            print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=err)
            return EXIT_USAGE
        try:
            print(emulator.url, file=out, flush=True)
            print(emulator.api_key, file=out, flush=True)
            served = ", ".join(n if n == m else f"{n} ({m})" for n, m in emulator.deployments.items())
            print(f"Foundry emulator serving: {served}. Ctrl-C to stop.", file=err, flush=True)
            if args.rpm or args.tpm:
                limits = [f"{n} {unit}" for n, unit in ((args.rpm, "RPM"), (args.tpm, "TPM")) if n]
                window = args.quota_window
                print(f"Quotas per deployment: {', '.join(limits)}, over {window} s windows.", file=err)
            emulator.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            emulator.stop()
    return EXIT_OK


# -- chat ---------------------------------------------------------------------------------------------------


def _model_settings() -> dict[str, str]:
    """The environment's model settings (deployment mappings, catalog file) for a client the command builds.

    Only these: the client is given the endpoint and key explicitly, and a stray key variable must not override
    Entra ID.
    """
    names = (DEPLOYMENTS_ENV, DEPLOYMENTS_FILE_ENV, CATALOG_ENV)
    return {name: os.environ[name] for name in names if name in os.environ}


def _chat_params(args: argparse.Namespace) -> ChatParams:
    params: ChatParams = {}
    if args.reasoning_effort is not None:
        params["reasoning_effort"] = args.reasoning_effort
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        params["temperature"] = args.temperature
    return params


def _run_chat(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    messages: list[MessageParam] = [{"role": "system", "content": args.system}] if args.system else []
    messages.append({"role": "user", "content": prompt})
    where = Situation(deployment=args.model)
    options: dict[str, Any] = {"route": args.route, "environ": _model_settings()}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    try:
        with foundry_target(deployment=args.model) as target, target.client(**options) as client:
            scope = None if target.api_key else client.endpoint.default_scope
            where = Situation(target.deployment, client.endpoint.host, scope)
            if args.verbose:
                auth = "API key" if scope is None else f"Entra ID ({scope})"
                kind = "embedded emulator" if target.emulated else f"route {client.endpoint.route}"
                print(
                    f"target: {client.endpoint.base_url} ({kind}), deployment {target.deployment}, auth {auth}",
                    file=err,
                )
            completion = answer(
                client.chat.completions,
                target.deployment,
                messages,
                _chat_params(args),
                stream=args.stream,
                as_json=args.json,
                show_reasoning=args.show_reasoning,
                out=out,
            )
    except GrokError as exc:
        return report_failure(exc, where, err)
    if args.json:
        print(completion.model_dump_json(indent=2), file=out, flush=True)
    if args.verbose:
        print(usage_line(completion.usage), file=err, flush=True)
    if completion.finish_reason == "length":
        print("note: the answer stopped at the token limit (finish_reason=length)", file=err)
    if completion.finish_reason == "content_filter":
        print("error: Azure content filtering cut the answer short (finish_reason=content_filter)", file=err)
        return exit_code(ContentFilterError)
    return EXIT_OK


# -- models -------------------------------------------------------------------------------------------------


def _run_models(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    directory = ModelDirectory(environ=os.environ)  # ConfigurationError (exit 2) for a bad mapping
    deployments = directory.listed()
    single = os.environ.get(DEPLOYMENT_ENV_VAR, "").strip()
    if single and all(d.deployment != single for d in deployments):
        named = directory.resolve(single)  # a deployment named after a catalog model needs no mapping
        if named is not None:
            deployments.append(named)
    if args.json:
        print(json.dumps(catalog_json(directory.catalog, deployments), indent=2), file=out)
    else:
        print(catalog_text(directory.catalog, deployments), file=out)
    return EXIT_OK


# -- ping ---------------------------------------------------------------------------------------------------


def _ok(out: TextIO, check: str, detail: str) -> None:
    print(f"OK    {check:<11} {detail}", file=out, flush=True)


def _resolve(endpoint: Endpoint) -> str:
    url = httpx.URL(endpoint.base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(endpoint.host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise APIConnectionError(
            f"Cannot resolve {endpoint.host}: {exc}. Check the resource name in GROK_AZURE_ENDPOINT."
        ) from exc
    return f"{endpoint.host} resolves to {infos[0][4][0]}"


def _run_ping(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    deployment = args.model or os.environ.get(DEPLOYMENT_ENV_VAR, "").strip()
    where = Situation(deployment=deployment or None)
    check = "endpoint"
    credential: Any = None
    try:
        if first_env(ENDPOINT_ENV_VARS, os.environ) is None:
            raise ConfigurationError(
                "No endpoint configured: set GROK_AZURE_ENDPOINT=https://<resource>.services.ai.azure.com "
                "(and GROK_AZURE_API_KEY, or sign in for Entra ID)."
            )
        endpoint = resolve_endpoint(None, args.route)
        where = Situation(deployment or None, endpoint.host)
        _ok(out, check, f"{endpoint.base_url} (route {endpoint.route})")
        check = "deployment"
        if not deployment:
            raise ConfigurationError(f"No deployment named: pass --model NAME or set {DEPLOYMENT_ENV_VAR}.")
        check = "dns"
        _ok(out, check, _resolve(endpoint))
        check = "auth"
        key = first_env(API_KEY_ENV_VARS, os.environ)
        if key is not None:
            _ok(out, check, "API key from the environment (the request below checks it)")
        else:
            scope = endpoint.default_scope
            where = Situation(deployment, endpoint.host, scope)
            credential = default_sync_credential()
            token = request_token(credential, [scope])
            minutes = max(0, round((token.expires_on - time.time()) / 60))
            _ok(out, check, f"Entra ID token for {scope} (valid for {minutes} min)")
        check = "deployment"
        with GrokClient(
            endpoint=endpoint.base_url,
            route=endpoint.route,
            api_key=key,
            credential=None if key is not None else credential,
            timeout=args.timeout,
            environ=_model_settings(),
        ) as client:
            completion = client.chat.completions.create(
                model=deployment, messages=[{"role": "user", "content": "ping"}], max_tokens=1
            )
        _ok(out, check, f"{deployment} answered (model {completion.model or 'not reported'})")
    except GrokError as exc:
        print(f"FAIL  {check}", file=out, flush=True)
        return report_failure(exc, where, err)
    finally:
        close = getattr(credential, "close", None)
        if close is not None:
            close()
    return EXIT_OK


# -- entry point --------------------------------------------------------------------------------------------


def _quiet_azure_logging() -> None:
    """Keep azure-identity's warnings off stderr: its failure already reaches the user once, as a CredentialError.

    With no handler configured, Python prints WARNING records through ``logging.lastResort``; a NullHandler on
    the ``azure`` logger stops that (a handler the user configures on the root logger still gets them).
    """
    azure = logging.getLogger("azure")
    if not any(isinstance(handler, logging.NullHandler) for handler in azure.handlers):
        azure.addHandler(logging.NullHandler())


@contextlib.contextmanager
def _plain_warnings(err: TextIO) -> Iterator[None]:
    """Print the SDK's warnings (an unmapped deployment, an unconfirmed model rule) as ``warning: ...`` lines.

    The default format names a file and line of the SDK, which means nothing to someone running a command.
    """
    previous = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, GrokAzureWarning):
            print(f"warning: {message}", file=err, flush=True)
        else:
            previous(message, category, *args, **kwargs)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``) and return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 after --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    out, err = sys.stdout, sys.stderr
    _quiet_azure_logging()
    try:
        with _plain_warnings(err):
            code: int = args.handler(args, out, err)
    except KeyboardInterrupt:
        print("\ninterrupted", file=err)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _reader_gone()
    except GrokError as exc:
        return report_failure(exc, Situation(), err)
    except Exception as exc:
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=err)
        return EXIT_UNEXPECTED
    return code


def _reader_gone() -> int:
    """The output's reader exited (``grok-azure models --json | head``): end quietly, as other tools do when SIGPIPE
    ends them. The rest of the output goes nowhere, or Python would report the pipe again when it flushes at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


# 128 + SIGPIPE, the status a shell reports for a command that a closed pipe ended.
EXIT_BROKEN_PIPE = 141


if __name__ == "__main__":
    sys.exit(main())
