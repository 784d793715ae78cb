"""The OpenAI HTTP protocol as the offline server speaks it: request validation and error bodies.

Every request a client can get wrong ends in an OpenAI-shaped error (``{"error": {"message", "type",
"param", "code"}}``) with a 4xx status, so clients raise their usual ``BadRequestError`` and never see a 500
for their own mistake.
"""

from __future__ import annotations

import json
from typing import Any

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")


class APIError(Exception):
    """An error answered to the client with ``status`` and an OpenAI error body."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = "invalid_value") -> APIError:
    return APIError(400, message, "invalid_request_error", code, param)


def parse_json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        raise bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
            "HTTP library correctly. The OpenAI API expects a JSON payload.)",
            code="invalid_json",
        ) from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    return body


def _expect(condition: bool, message: str, param: str, code: str = "invalid_type") -> None:
    if not condition:
        raise bad_request(message, param, code)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_chat(body: dict[str, Any]) -> None:
    _expect("model" in body, "you must provide a model parameter", "model", "missing_required_parameter")
    _expect(
        isinstance(body["model"], str) and body["model"].strip() != "", "'model' must be a non-empty string.", "model"
    )
    messages = body.get("messages")
    _expect("messages" in body, "Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    _expect(isinstance(messages, list), "Invalid type for 'messages': expected an array.", "messages")
    _expect(
        len(messages) > 0,
        "Invalid 'messages': empty array. Expected an array with minimum length 1.",
        "messages",
        "empty_array",
    )
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        _expect(isinstance(message, dict), f"Invalid type for '{where}': expected an object.", where)
        role = message.get("role")
        _expect(
            role in ROLES,
            f"Invalid value for '{where}.role': expected one of {', '.join(ROLES)}.",
            f"{where}.role",
            "invalid_value",
        )
        content = message.get("content")
        if role == "assistant" and content is None:
            _expect(
                bool(message.get("tool_calls") or message.get("function_call") or "content" in message),
                f"Missing required parameter: '{where}.content'.",
                f"{where}.content",
                "missing_required_parameter",
            )
        else:
            _expect(
                "content" in message,
                f"Missing required parameter: '{where}.content'.",
                f"{where}.content",
                "missing_required_parameter",
            )
            _expect(
                isinstance(content, (str, list)) or (content is None and role == "assistant"),
                f"Invalid type for '{where}.content': expected a string or an array of content parts.",
                f"{where}.content",
            )
        if isinstance(content, list):
            for j, part in enumerate(content):
                _expect(
                    isinstance(part, dict) and isinstance(part.get("type"), str),
                    f"Invalid type for '{where}.content[{j}]': expected a content part object.",
                    f"{where}.content[{j}]",
                )
                if part["type"] == "text":
                    _expect(
                        isinstance(part.get("text"), str),
                        f"Invalid type for '{where}.content[{j}].text': expected a string.",
                        f"{where}.content[{j}].text",
                    )
        if role == "tool":
            _expect(
                isinstance(message.get("tool_call_id"), str),
                f"Missing required parameter: '{where}.tool_call_id'.",
                f"{where}.tool_call_id",
                "missing_required_parameter",
            )
        calls = message.get("tool_calls")
        if calls is not None:
            _expect(
                isinstance(calls, list),
                f"Invalid type for '{where}.tool_calls': expected an array.",
                f"{where}.tool_calls",
            )
            for j, call in enumerate(calls):
                ok = (
                    isinstance(call, dict)
                    and isinstance(call.get("function"), dict)
                    and isinstance(call["function"].get("name"), str)
                )
                _expect(
                    ok,
                    f"Invalid '{where}.tool_calls[{j}]': expected an object with a function name.",
                    f"{where}.tool_calls[{j}]",
                )
    tools = body.get("tools")
    if tools is not None:
        _expect(isinstance(tools, list), "Invalid type for 'tools': expected an array.", "tools")
        for i, tool in enumerate(tools):
            fn = tool.get("function") if isinstance(tool, dict) else None
            _expect(
                isinstance(fn, dict) and isinstance(fn.get("name"), str) and fn["name"] != "",
                f"Missing required parameter: 'tools[{i}].function.name'.",
                f"tools[{i}].function",
                "missing_required_parameter",
            )
            params = fn.get("parameters")
            _expect(
                params is None or isinstance(params, dict),
                f"Invalid type for 'tools[{i}].function.parameters': expected an object.",
                f"tools[{i}].function.parameters",
            )
    choice = body.get("tool_choice")
    if choice is not None:
        valid = choice in ("none", "auto", "required", "any") or (
            isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str)
        )
        _expect(
            valid,
            "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a function.",
            "tool_choice",
            "invalid_value",
        )
        if isinstance(choice, dict):
            names = {(t.get("function") or {}).get("name") for t in tools or []}
            _expect(
                choice["function"]["name"] in names,
                f"Invalid value for 'tool_choice': function {choice['function']['name']!r} is not in 'tools'.",
                "tool_choice",
                "invalid_value",
            )
    rf = body.get("response_format")
    if rf is not None:
        _expect(
            isinstance(rf, dict) and rf.get("type") in RESPONSE_FORMATS,
            "Invalid value for 'response_format.type': expected one of text, json_object, json_schema.",
            "response_format.type",
            "invalid_value",
        )
        if rf["type"] == "json_schema":
            js = rf.get("json_schema")
            _expect(
                isinstance(js, dict) and isinstance(js.get("name"), str),
                "Missing required parameter: 'response_format.json_schema.name'.",
                "response_format.json_schema",
                "missing_required_parameter",
            )
            _expect(
                isinstance(js.get("schema", {}), dict),
                "Invalid type for 'response_format.json_schema.schema': expected an object.",
                "response_format.json_schema.schema",
            )
    if "stream" in body and body["stream"] is not None:
        _expect(isinstance(body["stream"], bool), "Invalid type for 'stream': expected a boolean.", "stream")
    so = body.get("stream_options")
    if so is not None:
        _expect(isinstance(so, dict), "Invalid type for 'stream_options': expected an object.", "stream_options")
    for name in ("max_tokens", "max_completion_tokens"):
        if body.get(name) is not None:
            _expect(_is_int(body[name]) and body[name] > 0, f"Invalid '{name}': expected a positive integer.", name)
    if body.get("n") is not None:
        _expect(_is_int(body["n"]) and 1 <= body["n"] <= 16, "Invalid 'n': expected an integer between 1 and 16.", "n")
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        if body.get(name) is not None:
            _expect(
                isinstance(body[name], (int, float)) and not isinstance(body[name], bool),
                f"Invalid type for '{name}': expected a number.",
                name,
            )


def embedding_inputs(body: dict[str, Any]) -> list[str]:
    """The texts of an embeddings request (token arrays are embedded as their number strings)."""
    _expect(
        "model" in body and isinstance(body["model"], str),
        "you must provide a model parameter",
        "model",
        "missing_required_parameter",
    )
    _expect("input" in body, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
    dims = body.get("dimensions")
    if dims is not None:
        _expect(
            _is_int(dims) and 1 <= dims <= 4096,
            "Invalid 'dimensions': expected an integer between 1 and 4096.",
            "dimensions",
        )
    fmt = body.get("encoding_format")
    if fmt is not None:
        _expect(
            fmt in ("float", "base64"),
            "Invalid value for 'encoding_format': expected 'float' or 'base64'.",
            "encoding_format",
            "invalid_value",
        )
    value = body["input"]
    if isinstance(value, str):
        return [value]
    _expect(
        isinstance(value, list) and len(value) > 0, "Invalid 'input': expected a string or a non-empty array.", "input"
    )
    if all(_is_int(v) for v in value):
        return [" ".join(str(v) for v in value)]
    texts = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, list) and all(_is_int(v) for v in item):
            texts.append(" ".join(str(v) for v in item))
        else:
            raise bad_request(
                f"Invalid type for 'input[{i}]': expected a string or an array of tokens.",
                f"input[{i}]",
                "invalid_type",
            )
    _expect(len(texts) <= 2048, "Invalid 'input': at most 2048 inputs per request.", "input", "invalid_value")
    return texts
