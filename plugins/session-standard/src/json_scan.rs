//! A lenient JSON scanner: finds the members and items the rules read without parsing, or
//! validating, what lies between them (as the reference's gjson reads a body).
//!
//! A request body is mostly text the rules never look at (tool definitions, file contents,
//! earlier turns), so the scanner's work is skipping strings, eight bytes at a time. Values
//! are returned as their raw JSON text (strings still quoted and escaped); [`string`] decodes
//! one. Malformed input never panics: a scan stops where the JSON stops making sense and
//! returns what it found before.

use std::borrow::Cow;

/// The raw JSON text of the members `names` of the object `json` (leading whitespace
/// allowed): the first occurrence of each name, `None` for an absent one. Anything but an
/// object has no members. The scan stops once every name is found.
pub fn object_members<'a, const N: usize>(
    json: &'a [u8],
    names: [&str; N],
) -> [Option<&'a [u8]>; N] {
    members_at(json, skip_ws(json, 0), names, true).0
}

/// The members `names` of the object at `at` and, when the whole object was scanned
/// (`stop_early` false, or a name missing), the index just past it.
fn members_at<'a, const N: usize>(
    json: &'a [u8],
    at: usize,
    names: [&str; N],
    stop_early: bool,
) -> ([Option<&'a [u8]>; N], Option<usize>) {
    let mut found = [None; N];
    let mut missing = N;
    let Some(mut at) = expect(json, at, b'{') else {
        return (found, None);
    };
    at = skip_ws(json, at);
    if json.get(at) == Some(&b'}') {
        return (found, Some(at + 1));
    }
    loop {
        if json.get(at) != Some(&b'"') {
            return (found, None);
        }
        let Some(key_end) = skip_string(json, at + 1) else {
            return (found, None);
        };
        let key = &json[at + 1..key_end - 1];
        let Some(value_start) = expect(json, skip_ws(json, key_end), b':') else {
            return (found, None);
        };
        let value_start = skip_ws(json, value_start);
        let Some(value_end) = skip_value(json, value_start) else {
            return (found, None);
        };
        if let Some(slot) = names
            .iter()
            .position(|name| key_is(key, name))
            .filter(|&i| found[i].is_none())
        {
            found[slot] = Some(&json[value_start..value_end]);
            missing -= 1;
            if missing == 0 && stop_early {
                return (found, None);
            }
        }
        at = skip_ws(json, value_end);
        match json.get(at) {
            Some(b',') => at = skip_ws(json, at + 1),
            Some(b'}') => return (found, Some(at + 1)),
            _ => return (found, None),
        }
    }
}

/// For each item of the array `json`, in order: the members `names` when the item is an
/// object, `None` for any other item. One pass: each item is scanned once.
pub fn array_objects<'a, const N: usize>(
    json: &'a [u8],
    names: [&'a str; N],
) -> impl Iterator<Item = Option<[Option<&'a [u8]>; N]>> + 'a {
    let mut items = array_items(json);
    std::iter::from_fn(move || {
        let at = items.start_next()?;
        if items.json[at] == b'{' {
            let (members, end) = members_at(items.json, at, names, false);
            items.finish(end);
            Some(Some(members))
        } else {
            let end = skip_value(items.json, at);
            items.finish(end);
            end.map(|_| None)
        }
    })
}

/// The items of the array `json` (leading whitespace allowed), as raw JSON text, in order.
/// Anything but an array has no items.
pub fn array_items(json: &[u8]) -> ArrayItems<'_> {
    let at = expect(json, skip_ws(json, 0), b'[');
    ArrayItems {
        json,
        at: at.unwrap_or(json.len()),
        first: true,
    }
}

/// The iterator of [`array_items`].
pub struct ArrayItems<'a> {
    json: &'a [u8],
    at: usize,
    first: bool,
}

impl ArrayItems<'_> {
    /// The index where the next item starts; `None` at the end (or where the array breaks).
    fn start_next(&mut self) -> Option<usize> {
        let json = self.json;
        let mut at = skip_ws(json, self.at);
        self.at = json.len();
        match json.get(at)? {
            b']' => return None,
            b',' if !self.first => at = skip_ws(json, at + 1),
            _ if self.first => {}
            _ => return None,
        }
        self.first = false;
        json.get(at).map(|_| at)
    }

    /// Records where the item just started ends (`None`: it does not, the array is over).
    fn finish(&mut self, end: Option<usize>) {
        self.at = end.unwrap_or(self.json.len());
    }
}

impl<'a> Iterator for ArrayItems<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let at = self.start_next()?;
        let end = skip_value(self.json, at);
        self.finish(end);
        end.map(|end| &self.json[at..end])
    }
}

/// The text of a JSON string value (`"…"`, escapes decoded); `None` for any other value or a
/// malformed string.
pub fn string(raw: &[u8]) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if inner.contains(&b'\\') {
        serde_json::from_slice::<String>(raw).ok().map(Cow::Owned)
    } else {
        std::str::from_utf8(inner).ok().map(Cow::Borrowed)
    }
}

/// Whether the raw key (the bytes between its quotes) is `name`.
fn key_is(key: &[u8], name: &str) -> bool {
    if key.contains(&b'\\') {
        let mut quoted = Vec::with_capacity(key.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(key);
        quoted.push(b'"');
        return serde_json::from_slice::<String>(&quoted).is_ok_and(|k| k == name);
    }
    key == name.as_bytes()
}

/// The index after `byte` at `at` (whitespace already skipped), if it is there.
fn expect(json: &[u8], at: usize, byte: u8) -> Option<usize> {
    (json.get(at) == Some(&byte)).then_some(at + 1)
}

/// The first index at or after `at` that is not JSON whitespace.
fn skip_ws(json: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = json.get(at) {
        at += 1;
    }
    at
}

/// The index just past the value starting at `at`; `None` when it does not end.
pub fn skip_value(json: &[u8], at: usize) -> Option<usize> {
    match json.get(at)? {
        b'"' => skip_string(json, at + 1),
        b'{' | b'[' => skip_composite(json, at),
        _ => {
            let len = json[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(json.len() - at);
            (len > 0).then_some(at + len)
        }
    }
}

/// The index just past the object or array opening at `at`.
fn skip_composite(json: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at;
    while let Some(&byte) = json.get(i) {
        match byte {
            b'"' => {
                i = skip_string(json, i + 1)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just past the closing quote of the string whose content starts at `at`.
fn skip_string(json: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at += quote_or_backslash(json.get(at..)?)?;
        if json[at] == b'"' {
            return Some(at + 1);
        }
        at += 2;
    }
}

/// Eight copies of `byte`.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

const LOW_BITS: u64 = splat(0x01);
const HIGH_BITS: u64 = splat(0x80);

/// The bytes of `word` that are `"` or `\`, flagged by their high bit (Mycroft's zero-byte test
/// on `word ^ splat`). Bytes above a flagged one may be flagged falsely; the lowest flagged
/// byte is always a true match.
#[inline(always)]
fn quote_or_backslash_mask(word: u64) -> u64 {
    let quote = word ^ splat(b'"');
    let backslash = word ^ splat(b'\\');
    ((quote.wrapping_sub(LOW_BITS) & !quote) | (backslash.wrapping_sub(LOW_BITS) & !backslash))
        & HIGH_BITS
}

#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// The offset of the first `"` or `\` in `bytes`: eight bytes at a time, then one at a time.
///
/// Text in request bodies (code, JSON in JSON) escapes a quote or a newline every few dozen
/// bytes, so most scans end within a few words: a wider loop computes words it never needs.
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let mask = quote_or_backslash_mask(word(bytes, at));
        if mask != 0 {
            return Some(at + (mask.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|offset| at + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members<'a, const N: usize>(json: &'a str, names: [&str; N]) -> [Option<&'a str>; N] {
        object_members(json.as_bytes(), names).map(|m| m.map(|v| std::str::from_utf8(v).unwrap()))
    }

    #[test]
    fn members_are_found_as_raw_text() {
        let json = r#" { "a" : "x\"y" , "b":{"c":[1,{"d":"}"}]},"n": -1.5e3 ,"t":true,"z":null } "#;
        assert_eq!(
            members(json, ["a", "b", "n", "t", "z", "missing"]),
            [
                Some(r#""x\"y""#),
                Some(r#"{"c":[1,{"d":"}"}]}"#),
                Some("-1.5e3"),
                Some("true"),
                Some("null"),
                None,
            ]
        );
        // The first occurrence wins; an escaped key matches its text.
        assert_eq!(
            members(r#"{"k":1,"k":2,"\u006b2":3}"#, ["k", "k2"]),
            [Some("1"), Some("3")]
        );
        // Not an object, or broken: what was found before the break.
        assert_eq!(members("[1]", ["a"]), [None]);
        assert_eq!(members(r#"{"a":1,"b":"#, ["a", "b"]), [Some("1"), None]);
        assert_eq!(members(r#"{"a":"unterminated"#, ["a"]), [None]);
        assert_eq!(members("", ["a"]), [None]);
    }

    #[test]
    fn long_strings_with_escapes_are_skipped_exactly() {
        for len in [0, 7, 8, 31, 32, 33, 100, 1000] {
            let text = "x".repeat(len);
            for escaped in [
                format!("{text}\\\"{text}"),
                format!("{text}\\\\"),
                format!("\\n{text}"),
                text.clone(),
            ] {
                let json = format!(r#"{{"s":"{escaped}","after":"{len}"}}"#);
                assert_eq!(
                    members(&json, ["after"]),
                    [Some(format!("\"{len}\"").as_str())],
                    "{escaped}"
                );
            }
        }
    }

    #[test]
    fn array_items_in_order() {
        let items: Vec<&[u8]> = array_items(br#" [ 1 , "a,]" , {"x":[2]} , [] ] "#).collect();
        assert_eq!(items, [&b"1"[..], br#""a,]""#, br#"{"x":[2]}"#, b"[]"]);
        assert_eq!(array_items(b"[]").count(), 0);
        assert_eq!(array_items(b"{}").count(), 0);
        assert_eq!(array_items(b"[1,").count(), 1);
        assert_eq!(array_items(b"[1 2]").count(), 1);
    }

    #[test]
    fn array_objects_in_one_pass() {
        let json = br#"[{"role":"user","content":"a"}, 7, {"content":[1,2],"role":"x"}, {}]"#;
        let items: Vec<_> = array_objects(json, ["role", "content"]).collect();
        assert_eq!(
            items,
            [
                Some([Some(&br#""user""#[..]), Some(&br#""a""#[..])]),
                None,
                Some([Some(&br#""x""#[..]), Some(&b"[1,2]"[..])]),
                Some([None, None]),
            ]
        );
        assert_eq!(array_objects(br#"[{"a":1"#, ["a"]).count(), 1);
        assert_eq!(array_objects(b"[1,{", ["a"]).count(), 2);
    }

    #[test]
    fn strings_decode() {
        assert_eq!(string(br#""plain""#).as_deref(), Some("plain"));
        assert_eq!(string(br#""a\nb\u00e9""#).as_deref(), Some("a\nbé"));
        assert_eq!(string(b"12"), None);
        assert_eq!(string(br#""bad\q""#), None);
        assert_eq!(string(b"\""), None);
    }
}
