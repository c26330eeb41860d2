"""Validates the Responses client outputs of the golden fixtures against the official SDK.

Run: /work/main/target/sdk-venv/bin/python translate/tests/sdk/check_responses.py
Checks every `responses-to-*` fixture (the client speaks Responses): whole answers as `openai.types.responses.Response`;
stream frames as `ResponseStreamEvent`, fed through the SDK's own `ResponseStreamState`
(what `client.responses.stream()` runs), which must end with a final response.
"""
import json
import pathlib
import sys

from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

root = pathlib.Path(__file__).resolve().parents[3] / "tests/fixtures/translation"
events = TypeAdapter(ResponseStreamEvent)
checked = 0
for path in sorted(root.glob("responses-to-*/*.json")):
    fixture = json.loads(path.read_text())
    expected = fixture.get("expected")
    if fixture["kind"] == "response":
        Response.model_validate(expected)
    elif fixture["kind"] == "stream":
        state = ResponseStreamState(input_tools=omit, text_format=omit)
        failed = "stream_error" in expected[-1]
        if failed:
            # The translation failed the stream: the proxy ends it with an `error` event,
            # which must validate too; the frames before it must still be valid events.
            error = {"type": "error", "code": "internal_server_error", "param": None,
                     "message": expected[-1]["stream_error"]["message"],
                     "sequence_number": len(expected) - 1}
            expected = expected[:-1] + [{"event": "error", "data": error}]
        for n, frame in enumerate(expected):
            data = frame["data"]
            assert frame.get("event") == data["type"], (path, n)
            assert data["sequence_number"] == n, (path, n)
            event = events.validate_python(data)
            state.handle_event(event)
        last = expected[-1]["data"]
        if failed:
            assert last["type"] == "error", path
        elif last["type"] == "response.completed":
            assert state._completed_response is not None, f"{path}: no final response"
        else:
            # An incomplete answer: the SDK hands the event over; its response must validate.
            assert last["type"] == "response.incomplete", path
            Response.model_validate(last["response"])
        for frame in expected:
            response = frame["data"].get("response")
            if response is not None:
                Response.model_validate(response)
    else:
        continue
    checked += 1
print(f"{checked} fixtures valid")
sys.exit(0 if checked else 1)
