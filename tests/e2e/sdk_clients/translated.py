"""The official SDKs on models of another protocol: switchyard translates between them.

Run by the e2e test `sdk_clients` (tests/e2e/sdk_clients.rs) with the same venv as clients.py:

    python translated.py BASE_URL CLIENT_KEY

The mock behind the switchyard answers a request that defines a tool with a call of it whose
arguments are `{"reply": "mock reply via {credential} to: {last user text}"}`, and a request
whose last turn is a tool result with text. Each call prints `ok SDK CALL` when what the SDK
returns (or raises) has the client protocol's shape, else `FAIL SDK CALL: why`; the script
exits 1 when a call failed.
"""

import json
import sys

from common import TIMEOUT, Failed, check, finish, replied, run, shown

import anthropic
import openai
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

BASE, KEY = sys.argv[1], sys.argv[2]
COMPAT_MODEL = "demo-llama"  # openai-compatibility (chat completions upstream)
CLAUDE_MODEL = "claude-sonnet-4-5"  # claude-api-key (Messages upstream)
GEMINI_MODEL = "gemini-2.5-flash"  # gemini-api-key (generateContent upstream)
FAULTY_MODEL = "broken-llama"  # openai-compatibility whose upstream answers 400

SCHEMA = {
    "type": "object",
    "properties": {"reply": {"type": "string"}},
    "required": ["reply"],
}

ant = anthropic.Anthropic(base_url=BASE, api_key=KEY, max_retries=0, timeout=TIMEOUT)
oai = openai.OpenAI(base_url=f"{BASE}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT)
gem = genai.Client(
    api_key=KEY,
    http_options=genai_types.HttpOptions(
        base_url=BASE, timeout=TIMEOUT * 1000, retry_options=genai_types.HttpRetryOptions(attempts=1)
    ),
)


def tool_reply(arguments, quoted, response):
    """Checks tool-call arguments (a dict, or its JSON text) carry the mock's reply."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError as error:
            raise Failed(f"arguments are not JSON ({error}): {arguments!r}; response: {response!r}")
    check(isinstance(arguments, dict), f"arguments are an object: {arguments!r}", response)
    check(replied(arguments.get("reply"), quoted), f"the arguments carry the reply: {arguments!r}", response)


# --- Anthropic SDK --------------------------------------------------------------------------

ANT_TOOL = {"name": "answer", "description": "Answer the user", "input_schema": SCHEMA}


def check_tool_message(message, quoted):
    """An Anthropic message that calls `answer` with the reply, with usage."""
    blocks = [b for b in message.content if b.type == "tool_use"]
    check(len(blocks) == 1, "one tool_use block", shown(message))
    check(blocks[0].name == "answer" and blocks[0].id, "the tool's name and an id", shown(message))
    tool_reply(blocks[0].input, quoted, shown(message))
    check(message.stop_reason == "tool_use", "stop_reason tool_use", shown(message))
    check(message.usage.input_tokens > 0 and message.usage.output_tokens > 0, "usage", shown(message))
    return blocks[0]


def anthropic_stream_tool(model):
    def body():
        quoted = f"stream a tool on {model}"
        events = []
        with ant.messages.stream(
            model=model,
            max_tokens=256,
            messages=[{"role": "user", "content": quoted}],
            tools=[ANT_TOOL],
        ) as stream:
            for event in stream:
                events.append(event.type)
                if event.type == "content_block_stop":
                    events.append(f"stop:{event.content_block.type}")
            final = stream.get_final_message()
        check_tool_message(final, quoted)
        # The helper's own events: the arguments streamed as `input_json`, the block completed.
        check("input_json" in events, "input_json events", events)
        check("stop:tool_use" in events, "a tool_use block stopped", events)
        check(events[-1] == "message_stop", "message_stop last", events)
        if any(b.type == "text" for b in final.content):
            check("text" in events, "text events for the text block", events)

    return body


def anthropic_create_tool(model):
    def body():
        quoted = f"a tool on {model}"
        r = ant.messages.create(
            model=model, max_tokens=256, messages=[{"role": "user", "content": quoted}], tools=[ANT_TOOL]
        )
        check(r.type == "message" and r.role == "assistant", "a message", shown(r))
        check_tool_message(r, quoted)

    return body


def anthropic_two_turns(model):
    """The tool result goes back in Anthropic shape; the upstream answers it with text."""
    def body():
        anthropic_two_turns_on(model)

    return body


def anthropic_two_turns_on(model):
    quoted = f"two turns on {model}"
    question = [{"role": "user", "content": quoted}]
    first = ant.messages.create(model=model, max_tokens=256, messages=question, tools=[ANT_TOOL])
    call = check_tool_message(first, quoted)
    history = question + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "the answer is 42"}],
        },
    ]
    second = ant.messages.create(model=model, max_tokens=256, messages=history, tools=[ANT_TOOL])
    texts = [b.text for b in second.content if b.type == "text"]
    check(len(texts) == 1 and texts[0].startswith("mock reply via "), "a text answer", shown(second))
    check(all(b.type == "text" for b in second.content), "no further tool call", shown(second))
    check(second.stop_reason == "end_turn", "stop_reason end_turn", shown(second))


def anthropic_stream_thinking(model):
    def body():
        events = []
        with ant.messages.stream(
            model=model,
            max_tokens=4096,
            thinking={"type": "enabled", "budget_tokens": 2048},
            messages=[{"role": "user", "content": "think first"}],
        ) as stream:
            for event in stream:
                events.append(event.type)
            final = stream.get_final_message()
        kinds = [b.type for b in final.content]
        check(kinds[:1] == ["thinking"] and "text" in kinds, f"thinking then text: {kinds}", shown(final))
        check(final.content[0].thinking == "mock thinking", "the thinking text", shown(final))
        check("thinking" in events and "text" in events, "thinking and text events", events)
        text = "".join(b.text for b in final.content if b.type == "text")
        check(replied(text, "think first"), "the text", shown(final))
        check(final.stop_reason == "end_turn", "stop_reason end_turn", shown(final))

    return body


def anthropic_count_tokens():
    r = ant.messages.count_tokens(
        model=COMPAT_MODEL,
        messages=[{"role": "user", "content": "count these tokens on a chat upstream, estimated"}],
        tools=[ANT_TOOL],
    )
    check(isinstance(r.input_tokens, int) and r.input_tokens > 0, "input_tokens", shown(r))


def anthropic_bad_request():
    try:
        r = ant.messages.create(
            model=FAULTY_MODEL, max_tokens=16, messages=[{"role": "user", "content": "refused"}]
        )
    except anthropic.BadRequestError as error:
        check(error.status_code == 400, "status 400", error.response.text)
        body = error.response.json()
        check(body.get("type") == "error", "the Anthropic error envelope", body)
        check(body["error"].get("type") == "invalid_request_error", "invalid_request_error", body)
        check(isinstance(body["error"].get("message"), str), "a message", body)
    else:
        raise Failed(f"no BadRequestError; response: {shown(r)}")


def openai_responses_bad_request():
    try:
        r = oai.responses.create(model=FAULTY_MODEL, input="refused")
    except openai.BadRequestError as error:
        check(error.status_code == 400, "status 400", error.response.text)
        body = error.response.json()
        check(body["error"].get("type") == "invalid_request_error", "invalid_request_error", body)
        check(isinstance(body["error"].get("message"), str), "a message", body)
    else:
        raise Failed(f"no BadRequestError; response: {shown(r)}")


def gemini_bad_request():
    try:
        r = gem.models.generate_content(model=FAULTY_MODEL, contents="refused")
    except genai_errors.ClientError as error:
        check(error.code == 400, f"code 400, got {error.code}", error)
        check(error.status == "INVALID_ARGUMENT", f"status INVALID_ARGUMENT, got {error.status}", error)
    else:
        raise Failed(f"no ClientError; response: {shown(r)}")


# --- OpenAI SDK -----------------------------------------------------------------------------

CHAT_TOOL = {
    "type": "function",
    "function": {"name": "answer", "description": "Answer the user", "parameters": SCHEMA},
}
RESPONSES_TOOL = {"type": "function", "name": "answer", "description": "Answer the user", "parameters": SCHEMA}


def openai_chat_stream_tool():
    quoted = "chat stream a tool on claude"
    calls, finish_reason, usage, chunks = {}, None, None, []
    stream = oai.chat.completions.create(
        model=CLAUDE_MODEL,
        messages=[{"role": "user", "content": quoted}],
        tools=[CHAT_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        chunks.append(shown(chunk))
        if chunk.usage is not None:
            check(not chunk.choices, "the usage chunk has no choices", chunks)
            usage = chunk.usage
        for choice in chunk.choices:
            finish_reason = choice.finish_reason or finish_reason
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
                call["id"] = delta.id or call["id"]
                if delta.function is not None:
                    call["name"] += delta.function.name or ""
                    call["arguments"] += delta.function.arguments or ""
    check(len(calls) == 1, "one tool call", chunks)
    call = calls[0] if 0 in calls else None
    check(call is not None and call["id"] and call["name"] == "answer", f"the call {call}", chunks)
    tool_reply(call["arguments"], quoted, chunks)
    check(finish_reason == "tool_calls", "finish_reason tool_calls", chunks)
    check(usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0, "usage chunk", chunks)
    check(usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, "total_tokens", chunks)


def openai_responses_stream_tool():
    quoted = "responses stream a tool on claude"
    events = []
    with oai.responses.stream(
        model=CLAUDE_MODEL, input=quoted, tools=[RESPONSES_TOOL]
    ) as stream:
        for event in stream:
            events.append(event.type)
        final = stream.get_final_response()
    calls = [item for item in final.output if item.type == "function_call"]
    check(len(calls) == 1, "one function_call item", shown(final))
    check(calls[0].name == "answer" and calls[0].call_id, "the call's name and call_id", shown(final))
    tool_reply(calls[0].arguments, quoted, shown(final))
    check(final.status == "completed", "status completed", shown(final))
    check(final.usage is not None and final.usage.input_tokens > 0 and final.usage.output_tokens > 0, "usage", shown(final))
    for expected in (
        "response.created",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ):
        check(expected in events, f"{expected} event", events)


def openai_responses_create_gemini():
    r = oai.responses.create(model=GEMINI_MODEL, instructions="Be brief.", input="responses on gemini")
    check(r.status == "completed", "status completed", shown(r))
    check(replied(r.output_text, "responses on gemini"), "output_text", shown(r))
    check(r.usage is not None and r.usage.input_tokens > 0 and r.usage.output_tokens > 0, "usage", shown(r))
    r = oai.responses.create(model=GEMINI_MODEL, input="a tool on gemini", tools=[RESPONSES_TOOL])
    calls = [item for item in r.output if item.type == "function_call"]
    check(len(calls) == 1 and calls[0].name == "answer" and calls[0].call_id, "one function_call", shown(r))
    tool_reply(calls[0].arguments, "a tool on gemini", shown(r))


def openai_chat_two_turns():
    """A chat tool result on Claude: the upstream gets a tool_result answering its tool_use."""
    question = [{"role": "user", "content": "chat two turns on claude"}]
    first = oai.chat.completions.create(model=CLAUDE_MODEL, messages=question, tools=[CHAT_TOOL])
    calls = first.choices[0].message.tool_calls or []
    check(len(calls) == 1 and calls[0].id, "one tool call with an id", shown(first))
    tool_reply(calls[0].function.arguments, "chat two turns on claude", shown(first))
    history = question + [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": calls[0].id, "content": "the answer is 42"},
    ]
    second = oai.chat.completions.create(model=CLAUDE_MODEL, messages=history, tools=[CHAT_TOOL])
    check(second.choices[0].finish_reason == "stop", "finish_reason stop", shown(second))
    check(not second.choices[0].message.tool_calls, "no further call", shown(second))
    check((second.choices[0].message.content or "").startswith("mock reply via "), "text", shown(second))


def openai_responses_two_turns():
    """A Responses function_call_output on Gemini: paired with the call by name."""
    question = [{"role": "user", "content": "responses two turns on gemini"}]
    first = oai.responses.create(model=GEMINI_MODEL, input=question, tools=[RESPONSES_TOOL])
    calls = [item for item in first.output if item.type == "function_call"]
    check(len(calls) == 1 and calls[0].call_id, "one function_call", shown(first))
    history = question + [
        calls[0].model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "the answer is 42"},
    ]
    second = oai.responses.create(model=GEMINI_MODEL, input=history, tools=[RESPONSES_TOOL])
    check(not [i for i in second.output if i.type == "function_call"], "no further call", shown(second))
    check(second.output_text.startswith("mock reply via "), "text", shown(second))


# --- google-genai ---------------------------------------------------------------------------

GEMINI_CONFIG = genai_types.GenerateContentConfig(
    tools=[
        genai_types.Tool(
            function_declarations=[
                genai_types.FunctionDeclaration(
                    name="answer", description="Answer the user", parameters_json_schema=SCHEMA
                )
            ]
        )
    ],
    automatic_function_calling=genai_types.AutomaticFunctionCallingConfig(disable=True),
)


def check_usage_metadata(usage, response):
    check(usage is not None, "usage_metadata", response)
    check((usage.prompt_token_count or 0) > 0, "prompt_token_count", response)
    check((usage.candidates_token_count or 0) > 0, "candidates_token_count", response)


def gemini_generate_claude():
    quoted = "gemini a tool on claude"
    r = gem.models.generate_content(model=CLAUDE_MODEL, contents=quoted, config=GEMINI_CONFIG)
    calls = r.function_calls or []
    check(len(calls) == 1 and calls[0].name == "answer", "one function call", shown(r))
    tool_reply(calls[0].args, quoted, shown(r))
    check_usage_metadata(r.usage_metadata, shown(r))
    check(r.candidates[0].finish_reason == genai_types.FinishReason.STOP, "finish_reason STOP", shown(r))


def gemini_stream_claude():
    quoted = "gemini stream a tool on claude"
    chunks = list(gem.models.generate_content_stream(model=CLAUDE_MODEL, contents=quoted, config=GEMINI_CONFIG))
    shown_chunks = [shown(c) for c in chunks]
    calls = [call for c in chunks for call in (c.function_calls or [])]
    check(len(calls) == 1 and calls[0].name == "answer", "one function call", shown_chunks)
    tool_reply(calls[0].args, quoted, shown_chunks)
    check_usage_metadata(chunks[-1].usage_metadata if chunks else None, shown_chunks)


def gemini_two_turns_claude():
    """A Gemini functionResponse (no id) on Claude: paired with the tool_use the call made."""
    question = genai_types.Content(role="user", parts=[genai_types.Part(text="gemini two turns on claude")])
    first = gem.models.generate_content(model=CLAUDE_MODEL, contents=[question], config=GEMINI_CONFIG)
    calls = first.function_calls or []
    check(len(calls) == 1, "one function call", shown(first))
    answer = genai_types.Part.from_function_response(name=calls[0].name, response={"result": "42"})
    history = [question, first.candidates[0].content, genai_types.Content(role="user", parts=[answer])]
    second = gem.models.generate_content(model=CLAUDE_MODEL, contents=history, config=GEMINI_CONFIG)
    check(not second.function_calls, "no further call", shown(second))
    check((second.text or "").startswith("mock reply via "), "text", shown(second))


def gemini_count_tokens_claude():
    r = gem.models.count_tokens(model=CLAUDE_MODEL, contents="count these tokens on claude")
    check(r.total_tokens and r.total_tokens > 0, "total_tokens", shown(r))


for model in (COMPAT_MODEL, GEMINI_MODEL):
    run("anthropic", f"messages.stream tool ({model})", anthropic_stream_tool(model))
    run("anthropic", f"messages.create tool ({model})", anthropic_create_tool(model))
    run("anthropic", f"two-turn tool conversation ({model})", anthropic_two_turns(model))
    run("anthropic", f"messages.stream thinking ({model})", anthropic_stream_thinking(model))
run("anthropic", f"messages.count_tokens ({COMPAT_MODEL})", anthropic_count_tokens)
run("anthropic", f"BadRequestError ({FAULTY_MODEL})", anthropic_bad_request)
run("openai", f"responses BadRequestError ({FAULTY_MODEL})", openai_responses_bad_request)
run("google-genai", f"ClientError 400 ({FAULTY_MODEL})", gemini_bad_request)
run("openai", f"chat.completions stream tool ({CLAUDE_MODEL})", openai_chat_stream_tool)
run("openai", f"responses.stream tool ({CLAUDE_MODEL})", openai_responses_stream_tool)
run("openai", f"responses.create ({GEMINI_MODEL})", openai_responses_create_gemini)
run("openai", f"chat two-turn tool conversation ({CLAUDE_MODEL})", openai_chat_two_turns)
run("openai", f"responses two-turn tool conversation ({GEMINI_MODEL})", openai_responses_two_turns)
run("google-genai", f"generate_content tool ({CLAUDE_MODEL})", gemini_generate_claude)
run("google-genai", f"generate_content_stream tool ({CLAUDE_MODEL})", gemini_stream_claude)
run("google-genai", f"two-turn tool conversation ({CLAUDE_MODEL})", gemini_two_turns_claude)
run("google-genai", f"count_tokens ({CLAUDE_MODEL})", gemini_count_tokens_claude)
finish()
