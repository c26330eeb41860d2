"""Validates the chat-client outputs of the golden fixtures against the official OpenAI SDK types.

Run: /work/main/target/sdk-venv/bin/python translate/tests/sdk/check_chat_client.py
Checks every fixture in tests/fixtures/translation/chat-to-*/ whose kind is response or stream.
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
    except openai.LengthFinishReasonError as e:
        completion = e.completion
    for call in completion.choices[0].message.tool_calls or []:
        json.loads(call.function.arguments)
print("streams accumulate with the SDK helper")
sys.exit(0 if checked else 1)
