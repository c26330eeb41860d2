//! A thinking setting written into a request that is otherwise passed through unchanged (a
//! same-protocol request whose model name carries a suffix such as `model(high)`).

use serde_json::{Map, Value, json};

use crate::ir::Thinking;
use crate::{Format, TranslateError};

/// Anthropic's smallest thinking budget.
const CLAUDE_MIN_BUDGET: u64 = 1024;

/// `body` (a request of protocol `format` for `model`) with its thinking setting replaced by
/// `thinking`, every other field kept, written as the target model takes it:
///
/// | protocol | written |
/// |---|---|
/// | OpenAI chat | `reasoning_effort` (a level, or `none`; auto as `medium`) |
/// | Responses | `reasoning.effort` (likewise) |
/// | Anthropic, Claude 4.6 and later | `thinking.type` `adaptive` + `output_config.effort`, or `disabled` |
/// | Anthropic, older models | `thinking` `enabled` + `budget_tokens` below `max_tokens` (at least 1,024, else no thinking), or `disabled` |
/// | Gemini 3 | `generationConfig.thinkingConfig.thinkingLevel` (off: the lowest level) |
/// | older Gemini | `generationConfig.thinkingConfig.thinkingBudget` (levels as budgets) |
pub fn apply_thinking(
    format: Format,
    model: &str,
    body: &[u8],
    thinking: Thinking,
) -> Result<Vec<u8>, TranslateError> {
    let mut value: Value = serde_json::from_slice(body)?;
    let Some(object) = value.as_object_mut() else {
        return Err(TranslateError::Invalid(
            "the request body must be a JSON object".to_owned(),
        ));
    };
    let effort = || match thinking {
        Thinking::Off => "none",
        Thinking::Auto => "medium",
        other => other.effort().map_or("medium", |e| e.openai()),
    };
    match format {
        Format::Chat => {
            object.insert("reasoning_effort".to_owned(), json!(effort()));
        }
        Format::Responses => {
            let reasoning = entry_object(object, "reasoning");
            reasoning.insert("effort".to_owned(), json!(effort()));
        }
        Format::Claude => claude(object, model, thinking),
        Format::Gemini => gemini(object, model, thinking),
    }
    Ok(serde_json::to_vec(&value)?)
}

/// Anthropic: adaptive thinking with an effort on the models that take it, a budget on the
/// others.
fn claude(object: &mut Map<String, Value>, model: &str, thinking: Thinking) {
    if thinking == Thinking::Off {
        object.insert("thinking".to_owned(), json!({"type": "disabled"}));
        return;
    }
    if crate::claude::request::adaptive_capable(model) {
        object.insert("thinking".to_owned(), json!({"type": "adaptive"}));
        if let Some(effort) = thinking.effort() {
            entry_object(object, "output_config")
                .insert("effort".to_owned(), json!(effort.claude()));
        }
        return;
    }
    let budget = match thinking.budget() {
        n if n > 0 => n as u64,
        _ => crate::ir::Effort::Medium.budget(),
    };
    // The budget must stay below max_tokens and at least Anthropic's minimum; with no room
    // for both, the request goes without thinking.
    let max_tokens = object.get("max_tokens").and_then(Value::as_u64);
    let budget = max_tokens.map_or(budget, |max| budget.min(max.saturating_sub(1)));
    if budget >= CLAUDE_MIN_BUDGET {
        object.insert(
            "thinking".to_owned(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
}

/// Gemini: a level for Gemini 3 (which cannot switch thinking off: the lowest level), a
/// budget for older models.
fn gemini(object: &mut Map<String, Value>, model: &str, thinking: Thinking) {
    let key = if object.contains_key("generation_config") {
        "generation_config"
    } else {
        "generationConfig"
    };
    let config = entry_object(object, key);
    config.remove("thinking_config");
    let thinking_config = entry_object(config, "thinkingConfig");
    for stale in [
        "thinkingLevel",
        "thinking_level",
        "thinkingBudget",
        "thinking_budget",
    ] {
        thinking_config.remove(stale);
    }
    if model.contains("gemini-3") {
        let lowest = if model.contains("flash") {
            "minimal"
        } else {
            "low"
        };
        let level = match thinking {
            Thinking::Off => lowest,
            Thinking::Auto => "high",
            other => match other.effort() {
                Some(crate::ir::Effort::XHigh | crate::ir::Effort::Max) | None => "high",
                Some(effort) => effort.as_str(),
            },
        };
        thinking_config.insert("thinkingLevel".to_owned(), json!(level));
    } else {
        thinking_config.insert("thinkingBudget".to_owned(), json!(thinking.budget()));
    }
}

/// The object under `key`, created (or replacing a non-object) when needed.
fn entry_object<'a>(object: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = object
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object above")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Effort;

    fn patched(format: Format, body: Value, thinking: Thinking) -> Value {
        let out = apply_thinking(format, "m", body.to_string().as_bytes(), thinking).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn each_protocol_gets_its_field_and_keeps_the_rest() {
        let high = Thinking::Effort(Effort::High);
        let chat = patched(Format::Chat, json!({"model": "m", "x": 1}), high);
        assert_eq!(
            chat,
            json!({"model": "m", "x": 1, "reasoning_effort": "high"})
        );
        let responses = patched(
            Format::Responses,
            json!({"reasoning": {"summary": "auto"}}),
            high,
        );
        assert_eq!(
            responses["reasoning"],
            json!({"summary": "auto", "effort": "high"})
        );
        let claude = patched(Format::Claude, json!({"max_tokens": 4096}), high);
        assert_eq!(
            claude["thinking"],
            json!({"type": "enabled", "budget_tokens": 4095})
        );
        let no_room = patched(Format::Claude, json!({"max_tokens": 512}), high);
        assert_eq!(
            no_room,
            json!({"max_tokens": 512}),
            "no room for the minimum budget"
        );
        let off = patched(
            Format::Claude,
            json!({"thinking": {"type": "enabled"}}),
            Thinking::Off,
        );
        assert_eq!(off["thinking"], json!({"type": "disabled"}));
        let gemini = patched(
            Format::Gemini,
            json!({"generationConfig": {"temperature": 1, "thinkingConfig": {"thinkingLevel": "low"}}}),
            Thinking::Budget(2048),
        );
        assert_eq!(
            gemini["generationConfig"],
            json!({"temperature": 1, "thinkingConfig": {"thinkingBudget": 2048}})
        );
    }

    #[test]
    fn newer_models_get_their_own_form() {
        let body = json!({"model": "claude-opus-4-6", "max_tokens": 512});
        let out = apply_thinking(
            Format::Claude,
            "claude-opus-4-6",
            body.to_string().as_bytes(),
            Thinking::Effort(Effort::High),
        )
        .unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(out["thinking"], json!({"type": "adaptive"}));
        assert_eq!(out["output_config"], json!({"effort": "high"}));
        let body = json!({"contents": []});
        for (thinking, level) in [
            (Thinking::Off, "low"),
            (Thinking::Effort(Effort::Max), "high"),
            (Thinking::Budget(600), "low"),
        ] {
            let out = apply_thinking(
                Format::Gemini,
                "gemini-3-pro-preview",
                body.to_string().as_bytes(),
                thinking,
            )
            .unwrap();
            let out: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(
                out["generationConfig"]["thinkingConfig"],
                json!({"thinkingLevel": level}),
                "{thinking:?}"
            );
        }
    }
}
