"""The official OpenAI, Anthropic and Google GenAI Python SDKs against a switchyard.

Run by the e2e test `sdk_clients` (tests/e2e/sdk_clients.rs) with the venv `.ci/run` makes
(target/sdk-venv, pinned by requirements.txt beside this file):

    python clients.py BASE_URL CLIENT_KEY

The upstream behind the switchyard is the mock, which replies "mock reply via {credential} to:
{last user text}". Each call prints `ok SDK CALL` when its answer has the expected shape; the
first that does not prints `FAIL SDK CALL: what, and the response` and the script exits 1.
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
CHAT_MODEL = "demo-llama"  # openai-compatibility alias
RESPONSES_MODEL = "gpt-5"  # codex-api-key
CLAUDE_MODEL = "claude-sonnet-4-5"  # claude-api-key
GEMINI_MODEL = "gemini-2.5-flash"  # gemini-api-key


# --- OpenAI -----------------------------------------------------------------------------------

oai = openai.OpenAI(base_url=f"{BASE}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT)


def openai_chat():
    r = oai.chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "plain chat"}]
    )
    check(replied(r.choices[0].message.content, "plain chat"), "chat text", shown(r))
    check(r.choices[0].finish_reason == "stop", "finish_reason stop", shown(r))
    check(r.usage is not None and r.usage.prompt_tokens > 0, "usage", shown(r))


def openai_chat_stream():
    text, finish, chunks = "", None, []
    stream = oai.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "streamed chat"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        chunks.append(shown(chunk))
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    check(replied(text, "streamed chat"), f"streamed text {text!r}", chunks)
    check(finish == "stop", "finish_reason stop", chunks)
    check(len(chunks) > 2, "several chunks", chunks)


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def openai_chat_tool_call():
    r = oai.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "weather in Oslo"}],
        tools=[WEATHER_TOOL],
    )
    choice = r.choices[0]
    check(choice.finish_reason == "tool_calls", "finish_reason tool_calls", shown(r))
    calls = choice.message.tool_calls or []
    check(len(calls) == 1, "one tool call", shown(r))
    check(calls[0].function.name == "get_weather", "the tool's name", shown(r))
    arguments = json.loads(calls[0].function.arguments)
    check(replied(arguments.get("reply"), "weather in Oslo"), "the arguments", shown(r))
    # The streamed call, assembled by the SDK's stream helper.
    with oai.chat.completions.stream(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "weather in Bergen"}],
        tools=[WEATHER_TOOL],
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    call = (final.choices[0].message.tool_calls or [None])[0]
    check(call is not None and call.function.name == "get_weather", "streamed call", shown(final))
    arguments = json.loads(call.function.arguments)
    check(replied(arguments.get("reply"), "weather in Bergen"), "streamed arguments", shown(final))
    check(final.choices[0].finish_reason == "tool_calls", "streamed finish_reason", shown(final))


def openai_responses():
    r = oai.responses.create(model=RESPONSES_MODEL, input="plain responses")
    check(replied(r.output_text, "plain responses"), "output_text", shown(r))
    check(r.status == "completed", "status completed", shown(r))


def openai_responses_stream():
    events, text, completed = [], "", None
    for event in oai.responses.create(model=RESPONSES_MODEL, input="streamed responses", stream=True):
        events.append(event.type)
        if event.type == "response.output_text.delta":
            text += event.delta
        if event.type == "response.completed":
            completed = event.response
    check(replied(text, "streamed responses"), f"streamed text {text!r}", events)
    check(completed is not None and replied(completed.output_text, "streamed responses"), "response.completed", events)


def openai_models():
    listed = [m.id for m in oai.models.list()]
    for model in (CHAT_MODEL, RESPONSES_MODEL, CLAUDE_MODEL, GEMINI_MODEL):
        check(model in listed, f"{model} listed", listed)
    one = oai.models.retrieve(RESPONSES_MODEL)
    check(one.id == RESPONSES_MODEL and one.object == "model", "retrieve", shown(one))
    try:
        oai.models.retrieve("no-such-model")
    except openai.NotFoundError:
        pass
    else:
        raise Failed("retrieving an unknown model did not raise NotFoundError")


def openai_wrong_key():
    bad = openai.OpenAI(base_url=f"{BASE}/v1", api_key="wrong-key", max_retries=0, timeout=TIMEOUT)
    try:
        r = bad.chat.completions.create(model=CHAT_MODEL, messages=[{"role": "user", "content": "x"}])
    except openai.AuthenticationError as error:
        check(error.status_code == 401, "status 401", error.response.text)
    else:
        raise Failed(f"no AuthenticationError; response: {shown(r)}")


# --- Anthropic --------------------------------------------------------------------------------

ant = anthropic.Anthropic(base_url=BASE, api_key=KEY, max_retries=0, timeout=TIMEOUT)


def anthropic_messages():
    r = ant.messages.create(
        model=CLAUDE_MODEL, max_tokens=64, messages=[{"role": "user", "content": "plain message"}]
    )
    check(r.type == "message" and r.role == "assistant", "a message", shown(r))
    check(replied(r.content[0].text, "plain message"), "text", shown(r))
    check(r.stop_reason == "end_turn", "stop_reason end_turn", shown(r))
    check(r.usage.input_tokens > 0, "usage", shown(r))


def anthropic_messages_stream():
    with ant.messages.stream(
        model=CLAUDE_MODEL, max_tokens=64, messages=[{"role": "user", "content": "streamed message"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check(replied(text, "streamed message"), f"text_stream {text!r}", shown(final))
    check(replied(final.content[0].text, "streamed message"), "final message", shown(final))
    check(final.stop_reason == "end_turn", "stop_reason end_turn", shown(final))


def anthropic_count_tokens():
    r = ant.messages.count_tokens(
        model=CLAUDE_MODEL, messages=[{"role": "user", "content": "count these tokens please"}]
    )
    check(r.input_tokens > 0, "input_tokens", shown(r))


def anthropic_models():
    listed = [m.id for m in ant.models.list()]
    # Translation lets a Messages client reach every model, so every kind is listed.
    for model in (CHAT_MODEL, RESPONSES_MODEL, CLAUDE_MODEL, GEMINI_MODEL):
        check(model in listed, f"{model} listed", listed)
    one = ant.models.retrieve(CLAUDE_MODEL)
    check(one.id == CLAUDE_MODEL and one.type == "model", "retrieve", shown(one))
    try:
        ant.models.retrieve("claude-no-such-model")
    except anthropic.NotFoundError:
        pass
    else:
        raise Failed("retrieving an unknown model did not raise NotFoundError")


def anthropic_wrong_key():
    bad = anthropic.Anthropic(base_url=BASE, api_key="wrong-key", max_retries=0, timeout=TIMEOUT)
    try:
        r = bad.messages.create(model=CLAUDE_MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    except anthropic.AuthenticationError as error:
        check(error.status_code == 401, "status 401", error.response.text)
    else:
        raise Failed(f"no AuthenticationError; response: {shown(r)}")


# --- Google GenAI -----------------------------------------------------------------------------


def google(api_version=None, key=KEY):
    options = {"base_url": BASE, "timeout": TIMEOUT * 1000, "retry_options": genai_types.HttpRetryOptions(attempts=1)}
    if api_version:
        options["api_version"] = api_version
    return genai.Client(api_key=key, http_options=genai_types.HttpOptions(**options))


def gemini_generate(api_version):
    def body():
        client = google(api_version)  # kept: the SDK closes its HTTP client when it is dropped
        r = client.models.generate_content(model=GEMINI_MODEL, contents="plain gemini")
        check(replied(r.text, "plain gemini"), "text", shown(r))
        check(r.usage_metadata is not None and r.usage_metadata.prompt_token_count > 0, "usageMetadata", shown(r))

    return body


def gemini_stream(api_version):
    def body():
        client = google(api_version)
        chunks = list(client.models.generate_content_stream(model=GEMINI_MODEL, contents="streamed gemini"))
        text = "".join(c.text or "" for c in chunks)
        check(replied(text, "streamed gemini"), f"streamed text {text!r}", [shown(c) for c in chunks])
        check(len(chunks) > 1, "several chunks", [shown(c) for c in chunks])

    return body


def gemini_count_tokens(api_version):
    def body():
        client = google(api_version)
        r = client.models.count_tokens(model=GEMINI_MODEL, contents="count these tokens")
        check(r.total_tokens and r.total_tokens > 0, "totalTokens", shown(r))

    return body


def gemini_models(api_version):
    def body():
        client = google(api_version)
        listed = [m.name for m in client.models.list()]
        # Translation lets a Gemini client reach every model, so every kind is listed.
        for model in (CHAT_MODEL, RESPONSES_MODEL, CLAUDE_MODEL, GEMINI_MODEL):
            check(f"models/{model}" in listed, f"models/{model} listed", listed)
        one = client.models.get(model=GEMINI_MODEL)
        check(one.name == f"models/{GEMINI_MODEL}", "get", shown(one))
        try:
            client.models.get(model="gemini-no-such-model")
        except genai_errors.ClientError as error:
            check(error.code == 404, "code 404", error)
        else:
            raise Failed("getting an unknown model did not raise ClientError")

    return body


def gemini_wrong_key(api_version):
    def body():
        try:
            client = google(api_version, key="wrong-key")
            r = client.models.generate_content(model=GEMINI_MODEL, contents="x")
        except genai_errors.ClientError as error:
            check(error.code == 401, f"code 401, got {error.code}", error)
        else:
            raise Failed(f"no ClientError; response: {shown(r)}")

    return body


run("openai", "chat.completions.create", openai_chat)
run("openai", "chat.completions.create stream", openai_chat_stream)
run("openai", "chat.completions tool call", openai_chat_tool_call)
run("openai", "responses.create", openai_responses)
run("openai", "responses.create stream", openai_responses_stream)
run("openai", "models.list/retrieve", openai_models)
run("openai", "wrong key", openai_wrong_key)
run("anthropic", "messages.create", anthropic_messages)
run("anthropic", "messages.stream", anthropic_messages_stream)
run("anthropic", "messages.count_tokens", anthropic_count_tokens)
run("anthropic", "models.list/retrieve", anthropic_models)
run("anthropic", "wrong key", anthropic_wrong_key)
for version in (None, "v1beta"):
    label = version or "default"
    run("google-genai", f"generate_content ({label})", gemini_generate(version))
    run("google-genai", f"generate_content_stream ({label})", gemini_stream(version))
    run("google-genai", f"count_tokens ({label})", gemini_count_tokens(version))
    run("google-genai", f"models.list/get ({label})", gemini_models(version))
    run("google-genai", f"wrong key ({label})", gemini_wrong_key(version))

finish()
