"""Validates every Claude-client output in the golden fixtures against the official SDK types.

Run: /work/main/target/sdk-venv/bin/python translate/tests/sdk/claude_client.py
(any Python with the `anthropic` package). Whole answers must parse as `anthropic.types.Message`,
stream frames as `RawMessageStreamEvent` (event name = data type), and a stream must have
message_start, message_delta and message_stop exactly once, message_start first and
message_stop last; the SDK's accumulator must turn the stream into a valid Message; blocks
open one at a time with contiguous indexes, and every tool_use input is a JSON object.
"""
import glob
import json
import os
import sys

import anthropic.types as t
from anthropic.lib.streaming._messages import accumulate_event
from pydantic import TypeAdapter

root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "fixtures", "translation")
events = TypeAdapter(t.RawMessageStreamEvent)
checked = failed = 0
for path in sorted(glob.glob(os.path.join(root, "*-to-*", "*.json"))):
    client = os.path.basename(os.path.dirname(path)).split("-to-")[0]
    fixture = json.load(open(path))
    if client != "claude" or fixture["kind"] == "request":
        continue
    try:
        if fixture["kind"] == "response":
            t.Message.model_validate(fixture["expected"], strict=False)
        else:
            frames = fixture["expected"]
            names = [f["event"] for f in frames]
            snapshot, bufs = None, {}
            for frame in frames:
                event = events.validate_python(frame["data"])
                assert event.type == frame["event"], (event.type, frame["event"])
                # The SDK's own accumulator must build a whole message from the stream.
                snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
            t.Message.model_validate(snapshot.model_dump())
            # Blocks open one at a time with indexes 0, 1, 2…; deltas and stops name the open one.
            open_index, next_index = None, 0
            for frame in frames:
                data = frame["data"]
                if data["type"] == "content_block_start":
                    assert open_index is None and data["index"] == next_index, (open_index, data)
                    open_index, next_index = data["index"], next_index + 1
                elif data["type"] in ("content_block_delta", "content_block_stop"):
                    assert data["index"] == open_index, (open_index, data)
                    if data["type"] == "content_block_stop":
                        open_index = None
            assert open_index is None, "a block never stopped"
            # Tool inputs streamed as JSON text must parse.
            for block in snapshot.content:
                if block.type == "tool_use":
                    assert isinstance(block.input, dict), block
            for once in ("message_start", "message_delta", "message_stop"):
                assert names.count(once) == 1, f"{once} x{names.count(once)}"
            assert names[0] == "message_start" and names[-1] == "message_stop", names
        checked += 1
    except Exception as error:  # noqa: BLE001
        failed += 1
        print(f"FAIL {path}: {error}")
print(f"{checked} passed, {failed} failed")
sys.exit(1 if failed else 0)
