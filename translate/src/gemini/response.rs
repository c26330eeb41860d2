//! Whole Gemini answers: an upstream's `GenerateContentResponse` to the hub answer, and the
//! hub answer to a client's. Also the usage, finish-reason and time conversions the stream
//! codecs share.

use std::borrow::Cow;

use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::wire::{
    Blob, Candidate, Content, FunctionCall, GenerateContentResponse, Json, UsageMetadata, WirePart,
};
use crate::ClientView;
use crate::TranslateError;
use crate::ir::{Finish, Media, Part, Response, SignatureFamily, Usage};

/// Reads an upstream answer (also one stream chunk).
pub(crate) fn parse(body: &[u8]) -> Result<GenerateContentResponse<'_>, TranslateError> {
    serde_json::from_slice(body)
        .map_err(|e| TranslateError::Upstream(format!("Gemini answer: {e}")))
}

/// The message of an error object Gemini sent instead of an answer.
pub(crate) fn error_message(error: &Value) -> String {
    error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| error.to_string())
}

/// Decodes an upstream's whole answer (the first candidate).
pub(crate) fn decode_response(body: &[u8]) -> Result<Response, TranslateError> {
    let wire = parse(body)?;
    if let Some(error) = &wire.error {
        return Err(TranslateError::Upstream(error_message(error)));
    }
    let ids = CallIds::new(wire.response_id.as_deref(), body);
    let mut content = Vec::new();
    let candidate = wire.candidates.iter().find(|c| c.index.unwrap_or(0) == 0);
    if let Some(parts) = candidate.and_then(|c| c.content.as_ref()).map(|c| &c.parts) {
        let mut calls = 0;
        for part in parts {
            push_part(&mut content, part, || ids.id(calls));
            calls += usize::from(part.function_call.is_some());
        }
    }
    let saw_call = content.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    let finish = match candidate.and_then(|c| c.finish_reason.as_deref()) {
        Some(reason) => finish(reason, saw_call),
        None if wire
            .prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some()) =>
        {
            Finish::ContentFilter
        }
        None if saw_call => Finish::ToolCalls,
        None => Finish::Stop,
    };
    Ok(Response {
        id: wire.response_id.clone().unwrap_or_default(),
        model: wire.model_version.clone().unwrap_or_default(),
        created: wire.create_time.as_deref().and_then(parse_rfc3339),
        content,
        finish,
        usage: wire.usage_metadata.as_ref().map(usage).unwrap_or_default(),
    })
}

/// Ids for calls Gemini sent without one: `call_<answer id or a digest of the answer>_<n>`.
pub(crate) struct CallIds {
    base: String,
}

impl CallIds {
    /// Ids for one answer.
    pub(crate) fn new(response_id: Option<&str>, body: &[u8]) -> Self {
        let base = match response_id.filter(|id| !id.is_empty()) {
            Some(id) => id
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect(),
            None => hex::encode(&Sha256::digest(body)[..8]),
        };
        CallIds { base }
    }

    /// The id of the `n`th call.
    pub(crate) fn id(&self, n: usize) -> String {
        format!("call_{}_{n}", self.base)
    }

    /// The ids' common beginning (`call_<base>`).
    pub(crate) fn prefix(&self) -> String {
        format!("call_{}", self.base)
    }
}

/// Adds one answer part to `content`, merging consecutive texts and thoughts.
fn push_part(content: &mut Vec<Part>, part: &WirePart<'_>, id: impl Fn() -> String) {
    let signature = part
        .thought_signature
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(super::signature::read);
    if let Some(call) = &part.function_call {
        content.push(Part::ToolCall {
            id: call
                .id
                .clone()
                .filter(|id| !id.is_empty())
                .unwrap_or_else(id),
            name: call.name.clone(),
            arguments: match call.args.as_ref().and_then(|a| a.value()) {
                Some(value @ Value::Object(_)) => value.to_string(),
                _ => "{}".to_owned(),
            },
            signature,
        });
        return;
    }
    if let Some(blob) = &part.inline_data {
        content.push(Part::Image(Media::Base64 {
            media_type: blob.mime_type.to_string(),
            data: blob.data.to_string(),
        }));
        return;
    }
    let text = part.text.as_deref().unwrap_or_default().to_owned();
    if part.thought {
        if let Some(Part::Thinking {
            text: previous,
            signature: previous_signature,
        }) = content.last_mut()
            && previous_signature.is_none()
        {
            previous.push_str(&text);
            *previous_signature = signature;
            return;
        }
        content.push(Part::Thinking { text, signature });
        return;
    }
    if let Some(signature) = signature {
        match content.last_mut() {
            Some(Part::Thinking {
                signature: previous @ None,
                ..
            }) => *previous = Some(signature),
            _ => content.push(Part::Thinking {
                text: String::new(),
                signature: Some(signature),
            }),
        }
    }
    if text.is_empty() {
        return;
    }
    if let Some(Part::Text { text: previous, .. }) = content.last_mut() {
        previous.push_str(&text);
    } else {
        content.push(Part::text(text));
    }
}

/// Gemini's `finishReason` in the hub's terms.
pub(crate) fn finish(reason: &str, saw_call: bool) -> Finish {
    match reason {
        "STOP" | "FINISH_REASON_UNSPECIFIED" if saw_call => Finish::ToolCalls,
        "STOP" | "FINISH_REASON_UNSPECIFIED" => Finish::Stop,
        "MAX_TOKENS" => Finish::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT" => Finish::ContentFilter,
        other => Finish::Other(other.to_owned()),
    }
}

/// The hub's finish in Gemini's terms.
pub(crate) fn finish_reason(finish: &Finish) -> String {
    match finish {
        Finish::Stop | Finish::StopSequence(_) | Finish::ToolCalls => "STOP".to_owned(),
        Finish::Length => "MAX_TOKENS".to_owned(),
        Finish::ContentFilter => "SAFETY".to_owned(),
        Finish::Other(word) => {
            let upper = word.to_ascii_uppercase();
            const KNOWN: &[&str] = &[
                "LANGUAGE",
                "OTHER",
                "MALFORMED_FUNCTION_CALL",
                "UNEXPECTED_TOOL_CALL",
                "TOO_MANY_TOOL_CALLS",
                "RECITATION",
                "BLOCKLIST",
                "PROHIBITED_CONTENT",
                "SPII",
                "IMAGE_SAFETY",
            ];
            if KNOWN.contains(&upper.as_str()) {
                upper
            } else {
                "OTHER".to_owned()
            }
        }
    }
}

/// Gemini usage in the hub's meaning (output includes thoughts).
pub(crate) fn usage(metadata: &UsageMetadata) -> Usage {
    let thoughts = metadata.thoughts_token_count.unwrap_or(0);
    Usage {
        input: metadata.prompt_token_count.unwrap_or(0),
        cached: metadata.cached_content_token_count.unwrap_or(0),
        cache_write: 0,
        output: metadata
            .candidates_token_count
            .unwrap_or(0)
            .saturating_add(thoughts),
        reasoning: thoughts,
    }
}

/// The hub's usage as Gemini's `usageMetadata`.
pub(crate) fn usage_metadata(usage: &Usage) -> UsageMetadata {
    UsageMetadata {
        prompt_token_count: Some(usage.input),
        cached_content_token_count: (usage.cached > 0).then_some(usage.cached),
        candidates_token_count: Some(usage.visible_output()),
        thoughts_token_count: (usage.reasoning > 0).then_some(usage.reasoning),
        total_token_count: Some(usage.input.saturating_add(usage.output)),
    }
}

/// Encodes a whole answer for a Gemini client.
pub(crate) fn encode_response(response: &Response, client: &ClientView) -> Vec<u8> {
    let mut parts: Vec<WirePart<'_>> = Vec::new();
    let mut carried: Option<Cow<'_, str>> = None;
    for part in &response.content {
        if let Some(wire) = encode_part(part, &mut carried) {
            parts.push(wire);
        }
    }
    if let Some(signature) = carried {
        parts.push(WirePart {
            thought_signature: Some(signature),
            ..WirePart::default()
        });
    }
    let wire = GenerateContentResponse {
        candidates: vec![Candidate {
            content: Some(Content {
                role: Some("model".to_owned()),
                parts,
            }),
            finish_reason: Some(finish_reason(&response.finish)),
            index: Some(0),
        }],
        prompt_feedback: None,
        usage_metadata: Some(usage_metadata(&response.usage)),
        model_version: Some(client.model.clone()),
        response_id: Some(if response.id.is_empty() {
            client.id.clone()
        } else {
            response.id.clone()
        }),
        create_time: Some(rfc3339(response.created.unwrap_or(client.created))),
        error: None,
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// One answer part for a Gemini client; a signature-only thinking part is carried to the next
/// part.
fn encode_part<'a>(part: &'a Part, carried: &mut Option<Cow<'a, str>>) -> Option<WirePart<'a>> {
    match part {
        Part::Text { text, .. } => Some(WirePart {
            text: Some(text.as_str().into()),
            thought_signature: carried.take(),
            ..WirePart::default()
        }),
        Part::Thinking { text, signature } => {
            let signature = signature.as_ref().map(super::signature::write);
            if text.is_empty() {
                if signature.is_some() {
                    *carried = signature;
                }
                return None;
            }
            Some(WirePart {
                text: Some(text.as_str().into()),
                thought: true,
                thought_signature: signature.or_else(|| carried.take()),
                ..WirePart::default()
            })
        }
        Part::ToolCall {
            id,
            name,
            arguments,
            signature,
        } => Some(WirePart {
            function_call: Some(FunctionCall {
                id: Some(id.clone()),
                name: name.clone(),
                args: Some(arguments_object(arguments)),
            }),
            thought_signature: signature
                .as_ref()
                .map(super::signature::write)
                .or_else(|| carried.take()),
            ..WirePart::default()
        }),
        Part::Image(Media::Base64 { media_type, data }) => Some(WirePart {
            inline_data: Some(Blob {
                mime_type: media_type.as_str().into(),
                data: data.as_str().into(),
            }),
            ..WirePart::default()
        }),
        Part::RedactedThinking { data, family } => Some(redacted_part(data, *family)),
        _ => None,
    }
}

/// Hidden reasoning for a Gemini client: an empty thought part carrying it as its signature,
/// which the client sends back (spec §3.5).
pub(crate) fn redacted_part(data: &str, family: SignatureFamily) -> WirePart<'static> {
    WirePart {
        text: Some("".into()),
        thought: true,
        thought_signature: Some(super::signature::write_redacted(data, family).into()),
        ..WirePart::default()
    }
}

/// A call's JSON arguments as the object Gemini sends (`{}` when they are not one), borrowed:
/// the text is checked, not parsed into a tree.
pub(crate) fn arguments_object(arguments: &str) -> Json<'_> {
    match serde_json::from_str::<&RawValue>(arguments) {
        Ok(raw) if raw.get().starts_with('{') => Json::Raw(raw),
        _ => Json::EmptyObject,
    }
}

/// Unix seconds as RFC 3339 (UTC).
pub(crate) fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Days since 1970-01-01 as a (year, month, day) date.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fff]Z` as unix seconds (other offsets: `None`).
pub(crate) fn parse_rfc3339(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !text.ends_with('Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.123456Z"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn usage_output_includes_thoughts() {
        let u = usage(&UsageMetadata {
            prompt_token_count: Some(10),
            candidates_token_count: Some(5),
            thoughts_token_count: Some(7),
            ..UsageMetadata::default()
        });
        assert_eq!((u.input, u.output, u.reasoning), (10, 12, 7));
        let back = usage_metadata(&u);
        assert_eq!(back.candidates_token_count, Some(5));
        assert_eq!(back.total_token_count, Some(22));
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(finish("STOP", true), Finish::ToolCalls);
        assert_eq!(finish("MAX_TOKENS", false), Finish::Length);
        assert_eq!(finish_reason(&Finish::Length), "MAX_TOKENS");
        assert_eq!(finish_reason(&Finish::Other("weird".into())), "OTHER");
    }
}
