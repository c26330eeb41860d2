"""Validates every golden fixture whose client is Gemini (`gemini-to-*`) against the official
google-genai types:

- `request`: the client's body (`input`) as Gemini `Content`s, `Tool`s, `ToolConfig`,
  `GenerationConfig`; for `gemini-to-gemini` the upstream body (`expected`) too;
- `response`: the client's answer as a `GenerateContentResponse`;
- `stream`: every chunk the client reads (SSE `data:` frames with `gemini_sse`, else the JSON
  array; a failed array stream's `partial` text is closed and read as an array too).

Run: /work/main/target/sdk-venv/bin/python translate/tests/sdk/check_gemini_client.py
"""
import glob, json, os, sys
from google.genai import types

root = os.path.join(os.path.dirname(__file__), "../../../tests/fixtures/translation")


def check_gemini_request(body, path):
    n = 0
    system = body.get("systemInstruction", body.get("system_instruction"))
    if system is not None:
        types.Content.model_validate(system)
        n += 1
    for content in body.get("contents", []):
        types.Content.model_validate(content)
        n += 1
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
        n += 1
    config = body.get("toolConfig", body.get("tool_config"))
    if config is not None:
        types.ToolConfig.model_validate(config)
        n += 1
    generation = body.get("generationConfig", body.get("generation_config"))
    if generation is not None:
        types.GenerationConfig.model_validate(generation)
        n += 1
    assert n, path
    return n


def stream_chunks(fixture):
    expected = fixture["expected"]
    if fixture.get("options", {}).get("gemini_sse"):
        # A failed stream ends with `stream_error` (the proxy's error event), not a chunk.
        return [f["data"] for f in expected if "stream_error" not in f]
    chunks = []
    for item in expected:
        if "stream_error" in item:
            continue
        if "partial" in item:
            text = item["partial"].rstrip().rstrip(",")
            chunks.extend(json.loads(text + "]") if text.startswith("[") and len(text) > 1 else [])
        else:
            chunks.append(item)
    return chunks


count = 0
files = 0
for path in sorted(glob.glob(os.path.join(root, "gemini-to-*", "*.json"))):
    fixture = json.load(open(path))
    files += 1
    upstream = os.path.basename(os.path.dirname(path)).split("-to-")[1]
    kind = fixture["kind"]
    try:
        if kind == "request":
            count += check_gemini_request(fixture["input"], path)
            if upstream == "gemini" and "error" not in fixture["expected"]:
                count += check_gemini_request(fixture["expected"], path)
            continue
        chunks = [fixture["expected"]] if kind == "response" else stream_chunks(fixture)
        for chunk in chunks:
            parsed = types.GenerateContentResponse.model_validate(chunk)
            assert parsed.candidates, path
            count += 1
    except Exception as error:  # noqa: BLE001
        print(f"FAIL {path}: {error}")
        sys.exit(1)
print(f"validated {count} Gemini objects from {files} gemini-to-* fixtures")
sys.exit(0 if count else 1)
