"""Validates the Gemini client-side outputs of the gemini-to-* golden fixtures against the
official google-genai types. Run: /work/main/target/sdk-venv/bin/python translate/tests/sdk/check_gemini_client.py
"""
import glob, json, os, sys
from google.genai import types

root = os.path.join(os.path.dirname(__file__), "../../../tests/fixtures/translation")
count = 0
for path in sorted(glob.glob(os.path.join(root, "gemini-to-*", "*.json"))):
    fixture = json.load(open(path))
    expected = fixture["expected"]
    if fixture["kind"] == "response":
        chunks = [expected]
    elif fixture["kind"] == "stream":
        if fixture.get("options", {}).get("gemini_sse"):
            # A failed stream ends with `stream_error` (the proxy's error event), not a chunk.
            chunks = [f["data"] for f in expected if "stream_error" not in f]
        else:
            chunks = [c for c in expected if "stream_error" not in c]
    elif fixture["kind"] == "request" and "error" not in expected:
        # The upstream body is a Gemini request too.
        types.GenerateContentConfig  # noqa: B018 (the request has no single pydantic type)
        for content in expected.get("contents", []):
            types.Content.model_validate(content)
        for tool in expected.get("tools", []):
            types.Tool.model_validate(tool)
        count += 1
        continue
    else:
        continue
    for chunk in chunks:
        parsed = types.GenerateContentResponse.model_validate(chunk)
        assert parsed.candidates, path
        count += 1
print(f"validated {count} Gemini objects")
sys.exit(0 if count else 1)
