//! A thinking setting written into a request that is otherwise passed through unchanged (a
//! same-protocol request whose model name carries a suffix such as `model(high)`).

use serde_json::{Map, Value, json};

use crate::ir::Thinking;
use crate::{Format, TranslateError};

/// `body` (a request of protocol `format`) with its thinking setting replaced by `thinking`,
/// every other field kept:
///
/// | protocol | written |
/// |---|---|
/// | OpenAI chat | `reasoning_effort` (a level, or `none`; auto as `medium`) |
/// | Responses | `reasoning.effort` |
/// | Anthropic | `thinking` (`enabled` + `budget_tokens`, or `disabled`) |
/// | Gemini | `generationConfig.thinkingConfig.thinkingBudget` (levels as budgets) |
pub fn apply_thinking(
    format: Format,
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
        Format::Claude => {
            let setting = match thinking {
                Thinking::Off => json!({"type": "disabled"}),
                other => {
                    let budget = match other.budget() {
                        n if n > 0 => n as u64,
                        _ => crate::ir::Effort::Medium.budget(),
                    };
                    let max_tokens = object.get("max_tokens").and_then(Value::as_u64);
                    // The budget must stay below max_tokens.
                    let budget = match max_tokens {
                        Some(max) if budget >= max => max.saturating_sub(1).max(1024),
                        _ => budget,
                    };
                    json!({"type": "enabled", "budget_tokens": budget})
                }
            };
            object.insert("thinking".to_owned(), setting);
        }
        Format::Gemini => {
            let key = if object.contains_key("generation_config") {
                "generation_config"
            } else {
                "generationConfig"
            };
            let config = entry_object(object, key);
            config.remove("thinking_config");
            let thinking_config = entry_object(config, "thinkingConfig");
            thinking_config.remove("thinkingLevel");
            thinking_config.remove("thinking_level");
            thinking_config.remove("thinking_budget");
            thinking_config.insert("thinkingBudget".to_owned(), json!(thinking.budget()));
        }
    }
    Ok(serde_json::to_vec(&value)?)
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
        let out = apply_thinking(format, body.to_string().as_bytes(), thinking).unwrap();
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
}
