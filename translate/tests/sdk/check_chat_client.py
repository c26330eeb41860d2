"""Validates the chat-client outputs of the golden fixtures against the official OpenAI SDK types.

Run: /work/main/target/sdk-venv/bin/python translate/tests/sdk/check_chat_client.py
Checks every fixture in tests/fixtures/translation/chat-to-*/: response and stream outputs
against the SDK's response types; request inputs (what a chat client sends) against the SDK's
request params; and, for chat-to-claude, the translated upstream body against the Anthropic
SDK's request params.
"""
import json
import pathlib
import sys

import openai

from openai.types.chat import ChatCompletion, ChatCompletionChunk

root = pathlib.Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "translation"
checked = 0
for path in sorted(root.glob("chat-to-*/*.json")):
    fixture = json.loads(path.read_text())
    expected = fixture.get("expected")
    if fixture["kind"] == "response":
        ChatCompletion.model_validate(expected, strict=False)
        checked += 1
    elif fixture["kind"] == "stream":
        frames = expected
        assert frames[-1] == {"data": "[DONE]"}, f"{path}: no [DONE] at the end"
        for frame in frames[:-1]:
            assert "event" not in frame, f"{path}: chat streams have no event lines"
            chunk = ChatCompletionChunk.model_validate(frame["data"])
            assert chunk.object == "chat.completion.chunk"
        checked += 1
print(f"{checked} chat-client fixtures valid")

# Accumulate every stream the way the SDK's helper does (tool calls by index, usage chunk).
from openai.lib.streaming.chat import ChatCompletionStreamState  # noqa: E402

for path in sorted(root.glob("chat-to-*/*.json")):
    fixture = json.loads(path.read_text())
    if fixture["kind"] != "stream":
        continue
    state = ChatCompletionStreamState()
    for frame in fixture["expected"][:-1]:
        state.handle_chunk(ChatCompletionChunk.model_validate(frame["data"]))
    try:
        completion = state.get_final_completion()
    except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as e:
        completion = e.completion
    # A call cut off by the length limit may hold half its arguments; the others are JSON.
    if completion.choices[0].finish_reason != "length":
        for call in completion.choices[0].message.tool_calls or []:
            try:
                json.loads(call.function.arguments)
            except ValueError as e:
                raise SystemExit(f"{path}: tool call arguments are not JSON: {e}")
print("streams accumulate with the SDK helper")

# The inputs are what an SDK client could send; the Claude upstream bodies what Anthropic takes.
from pydantic import TypeAdapter  # noqa: E402
from openai.types.chat.completion_create_params import CompletionCreateParamsBase  # noqa: E402
from anthropic.types.message_create_params import MessageCreateParamsBase  # noqa: E402

chat_params = TypeAdapter(CompletionCreateParamsBase)
claude_params = TypeAdapter(MessageCreateParamsBase)
requests = 0
for path in sorted(root.glob("chat-to-*/*.json")):
    fixture = json.loads(path.read_text())
    if fixture["kind"] != "request":
        continue
    body = dict(fixture["input"])
    body.pop("cache_control", None)
    chat_params.validate_python(body)
    expected = fixture["expected"]
    if path.parent.name == "chat-to-claude" and "error" not in expected:
        claude_params.validate_python(expected, strict=True)
    requests += 1
print(f"{requests} chat request fixtures: inputs valid, Claude upstream bodies valid")
sys.exit(0 if checked and requests else 1)
