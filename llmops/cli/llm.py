"""``llmops llm``: serve the offline model, or send it (or the configured endpoint) one chat message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from llmops.cli.common import UserError, console, err_console, fail, user_errors

app = typer.Typer(help="The offline OpenAI-compatible model and the configured chat endpoint.", no_args_is_help=True)


@app.command()
def serve(
    port: int = typer.Option(8765, "--port", "-p", help="Port on 127.0.0.1 (0 picks a free one)."),
    faults: Optional[str] = typer.Option(
        None,
        "--faults",
        help="Fault spec, e.g. 'rate_limit=0.2,latency_ms=200,seed=7' (default: LLMOPS_OFFLINE_FAULTS).",
    ),
    replay: Optional[Path] = typer.Option(
        None, "--replay", help="Answer with the answers recorded in this trace file (a cassette) instead."
    ),
    fallback: bool = typer.Option(
        False, "--fallback", help="With --replay: send unrecorded requests to the offline model (default: refuse, 400)."
    ),
) -> None:
    """Serve the offline model (OpenAI protocol) on 127.0.0.1 until Ctrl-C, or replay a cassette."""
    with user_errors():
        from llmops.llm.server import OfflineLLM

        llm = OfflineLLM(faults=faults, port=port, replay=replay, replay_mode="fallback" if fallback else "strict")
        try:
            llm.bind()
        except OSError as exc:
            raise UserError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
        console.print(f"Offline model listening on [bold]{llm.base_url}[/]  (Ctrl-C to stop)", highlight=False)
        if llm.faults:
            console.print(f"Fault injection: {llm.faults.spec}", highlight=False)
        if llm.replay:
            mode = "fallback to the offline model" if fallback else "strict: unrecorded requests get HTTP 400"
            console.print(f"Replaying {len(llm.replay.cassette)} recorded calls of {replay} ({mode})", highlight=False)
        console.print(
            f"Use it with: OPENAI_BASE_URL={llm.base_url} or LLMOPS_LLM_BASE_URL={llm.base_url}", highlight=False
        )
        try:
            llm.serve_forever()
        except KeyboardInterrupt:
            console.print("stopped")
        if llm.replay:
            counts = llm.replay.counts
            console.print(
                f"replayed {counts['replayed']}, fallback {counts['fallback']}, refused {counts['refused']}",
                highlight=False,
            )
            if counts["refused"]:
                raise typer.Exit(1)


@app.command()
def trim(
    source: Path = typer.Argument(..., help="Trace file (.jsonl), e.g. the output of `llmops traces export`."),
    out: Path = typer.Option(..., "--out", "-o", help="Cassette to write (.jsonl)."),
) -> None:
    """Keep only the recorded model calls (CHAT_MODEL and EMBEDDING spans) of a trace file: a smaller cassette."""
    with user_errors():
        from llmops.llm.replay import trim_cassette

        kept = trim_cassette(source, out)
    console.print(f"kept {kept} model call span(s) of {escape(str(source))} in {escape(str(out))}", highlight=False)


@app.command()
def chat(
    text: str = typer.Argument(..., help="The user message."),
    system: Optional[str] = typer.Option(None, "--system", "-s", help="A system prompt."),
    as_json: bool = typer.Option(False, "--json", help="Ask for a JSON object (response_format json_object)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name (default: LLMOPS_CHAT_MODEL)."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds to wait for the answer."),
) -> None:
    """Send one message through the real openai client to the configured backend and print the answer."""
    with user_errors():
        import openai

        from llmops.llm.clients import llm_base_url, openai_client
        from llmops.settings import get_settings

        settings = get_settings()
        client = openai_client(max_retries=1, timeout=timeout)
        where = llm_base_url(settings) or "https://api.openai.com/v1"
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
        kwargs = {"response_format": {"type": "json_object"}} if as_json else {}
        try:
            response = client.chat.completions.create(model=model or settings.chat_model, messages=messages, **kwargs)
        except openai.APIConnectionError as exc:
            kind = "timed out" if isinstance(exc, openai.APITimeoutError) else "is unreachable"
            raise UserError(
                f"the LLM endpoint {where} {kind} (backend {settings.llm_backend!r}). "
                "Check LLMOPS_LLM_BASE_URL, or start the offline model with `llmops llm serve`."
            ) from None
        except openai.AuthenticationError:
            raise UserError(
                f"the LLM endpoint {where} rejected the API key (HTTP 401); check OPENAI_API_KEY."
            ) from None
        except openai.APIStatusError as exc:
            raise UserError(
                f"the LLM endpoint {where} answered HTTP {exc.status_code}: {_error_message(exc)}"
            ) from None
        _print_answer(response, settings.llm_backend, as_json)


def _error_message(exc: object) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", exc))


def _print_answer(response: object, backend: str, as_json: bool) -> None:
    from rich.json import JSON
    from rich.panel import Panel

    choice = response.choices[0]  # type: ignore[attr-defined]
    content = choice.message.content or ""
    if choice.message.tool_calls:
        content = "\n".join(f"{c.function.name}({c.function.arguments})" for c in choice.message.tool_calls)
    usage = response.usage  # type: ignore[attr-defined]
    tokens = (
        f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion = {usage.total_tokens} tokens"
        if usage
        else "no usage reported"
    )
    if as_json:
        try:
            console.print(JSON(json.dumps(json.loads(content), ensure_ascii=False)), soft_wrap=True)
        except ValueError:
            err_console.print("[yellow]warning:[/] the answer is not valid JSON")
            console.print(content, highlight=False, markup=False)
    else:
        console.print(Panel(content, title="answer", title_align="left", expand=False), highlight=False)
    console.print(
        f"[dim]model[/] {response.model}  [dim]backend[/] {backend}  [dim]tokens[/] {tokens}  "  # type: ignore[attr-defined]
        f"[dim]finish[/] {choice.finish_reason}",
        highlight=False,
    )


__all__ = ["app", "fail"]
