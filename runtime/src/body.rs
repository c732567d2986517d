//! Request body encoders for Actions: a JSON object of spec fields, `application/x-www-form-urlencoded` and `multipart/form-data`. Pure; no I/O.
//!
//! Multipart bodies follow RFC 7578: CRLF line ends, a random boundary that is checked not to occur
//! in any part, `Content-Disposition: form-data; name="…"` with `"`, CR and LF in names and file
//! names percent-encoded (as browsers do), and a closing `--boundary--`.

use serde_json::{Map, Value};

use crate::http::{percent_encode, scalar_text};

/// The JSON object of the `fields` the spec sets (not `null`), in `fields` order.
pub fn json_object(spec: &Value, fields: &[&str]) -> Value {
    let map: Map<String, Value> = fields
        .iter()
        .filter_map(|f| {
            spec.get(*f)
                .filter(|v| !v.is_null())
                .map(|v| ((*f).to_owned(), v.clone()))
        })
        .collect();
    Value::Object(map)
}

/// Text of a form or multipart field value: strings as they are, other scalars as written, arrays
/// and objects JSON-encoded.
pub fn field_text(value: &Value) -> Option<String> {
    scalar_text(value)
}

/// `application/x-www-form-urlencoded` body of the `fields` the spec sets: arrays as repeated keys,
/// `false`, `0` and `""` sent, unset and `null` omitted.
pub fn form(spec: &Value, fields: &[&str]) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for field in fields {
        match spec.get(*field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                pairs.extend(items.iter().filter_map(field_text).map(|v| (*field, v)))
            }
            Some(v) => pairs.extend(field_text(v).map(|v| (*field, v))),
        }
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// Form field name.
    pub name: &'a str,
    /// File name (file parts only).
    pub filename: Option<&'a str>,
    /// `Content-Type` of the part (file parts only; text parts have none).
    pub content_type: Option<&'a str>,
    /// The part's content.
    pub data: &'a [u8],
}

/// A multipart body and the `Content-Type` header (with its boundary) to send it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    /// `multipart/form-data; boundary=…`.
    pub content_type: String,
    /// The encoded body.
    pub body: Vec<u8>,
}

/// Encodes `parts` as `multipart/form-data` with a random boundary.
pub fn multipart(parts: &[Part<'_>]) -> Multipart {
    let mut boundary = random_boundary();
    while parts.iter().any(|p| contains(p.data, boundary.as_bytes())) {
        boundary = random_boundary();
    }
    multipart_with_boundary(parts, &boundary)
}

/// Encodes `parts` with the given `boundary` (which must not occur in any part).
pub fn multipart_with_boundary(parts: &[Part<'_>], boundary: &str) -> Multipart {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(quote(part.name).as_bytes());
        body.extend_from_slice(b"\"");
        if let Some(filename) = part.filename {
            body.extend_from_slice(b"; filename=\"");
            body.extend_from_slice(quote(filename).as_bytes());
            body.extend_from_slice(b"\"");
        }
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            body.extend_from_slice(b"Content-Type: ");
            body.extend_from_slice(header_safe(content_type).as_bytes());
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--");
    body.extend_from_slice(boundary.as_bytes());
    body.extend_from_slice(b"--\r\n");
    Multipart {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        body,
    }
}

fn random_boundary() -> String {
    let a: u64 = rand::random();
    let b: u64 = rand::random();
    format!("openapi-operator-{a:016x}{b:016x}")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A name or file name inside a quoted `Content-Disposition` parameter: `"`, CR and LF
/// percent-encoded (the HTML form-submission rule), so the header cannot be broken out of.
fn quote(text: &str) -> String {
    text.replace('\r', "%0D").replace('\n', "%0A").replace('"', "%22")
}

/// A header value with CR and LF removed.
fn header_safe(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_objects_keep_set_fields_in_order() {
        let spec = json!({"b": 0, "a": false, "c": null, "d": "", "x": 1});
        assert_eq!(
            json_object(&spec, &["a", "b", "c", "d", "missing"]).to_string(),
            r#"{"a":false,"b":0,"d":""}"#
        );
    }

    #[test]
    fn forms_encode_arrays_false_zero_and_empty() {
        let spec = json!({"name": "a b&c", "tags": ["x", "y"], "n": 0, "ok": false, "e": "", "u": null,
                          "obj": {"k": 1}});
        assert_eq!(
            form(&spec, &["name", "tags", "n", "ok", "e", "u", "obj", "missing"]),
            "name=a%20b%26c&tags=x&tags=y&n=0&ok=false&e=&obj=%7B%22k%22%3A1%7D"
        );
        assert_eq!(form(&spec, &[]), "");
    }

    /// Parses `body` back with `multer`, a real multipart parser: (name, filename, content type, bytes).
    async fn parse(encoded: &Multipart) -> Vec<(String, Option<String>, Option<String>, Vec<u8>)> {
        let boundary = multer::parse_boundary(&encoded.content_type).unwrap();
        let body = encoded.body.clone();
        let stream =
            futures::stream::once(async move { Ok::<_, std::io::Error>(axum::body::Bytes::from(body)) });
        let mut parser = multer::Multipart::new(stream, boundary);
        let mut out = Vec::new();
        while let Some(field) = parser.next_field().await.unwrap() {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            out.push((
                name,
                filename,
                content_type,
                field.bytes().await.unwrap().to_vec(),
            ));
        }
        out
    }

    #[tokio::test]
    async fn multipart_round_trips_through_a_real_parser() {
        let png: Vec<u8> = (0..=255u8).chain(b"\r\n--\r\n".iter().copied()).collect();
        let parts = [
            Part {
                name: "file",
                filename: Some("pic \"1\".png"),
                content_type: Some("image/png"),
                data: &png,
            },
            Part {
                name: "additionalMetadata",
                filename: None,
                content_type: None,
                data: b"line1\r\nline2",
            },
            Part {
                name: "empty",
                filename: None,
                content_type: None,
                data: b"",
            },
        ];
        let encoded = multipart(&parts);
        assert!(
            encoded
                .content_type
                .starts_with("multipart/form-data; boundary=openapi-operator-")
        );
        assert!(encoded.body.ends_with(b"--\r\n"));
        let parsed = parse(&encoded).await;
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].0, "file");
        assert_eq!(parsed[0].1.as_deref(), Some("pic %221%22.png"));
        assert_eq!(parsed[0].2.as_deref(), Some("image/png"));
        assert_eq!(parsed[0].3, png);
        assert_eq!(parsed[1].0, "additionalMetadata");
        assert_eq!(parsed[1].1, None);
        assert_eq!(parsed[1].3, b"line1\r\nline2");
        assert_eq!(parsed[2].3, b"");
    }

    #[test]
    fn the_boundary_never_occurs_in_a_part() {
        let boundary = "openapi-operator-fixed";
        let data = format!("xx--{boundary}yy");
        let parts = [Part {
            name: "f",
            filename: None,
            content_type: None,
            data: data.as_bytes(),
        }];
        // With a fixed boundary that occurs in the data the encoding is ambiguous…
        let fixed = multipart_with_boundary(&parts, boundary);
        assert!(contains(&fixed.body[10..], format!("--{boundary}").as_bytes()));
        // …so the random one is re-drawn until it does not occur.
        let encoded = multipart(&parts);
        let chosen = encoded.content_type.split("boundary=").nth(1).unwrap();
        assert!(!contains(data.as_bytes(), chosen.as_bytes()));
    }

    #[test]
    fn names_cannot_break_the_header() {
        let parts = [Part {
            name: "a\"\r\nX-Evil: 1",
            filename: None,
            content_type: Some("text/plain\r\nX-Evil: 2"),
            data: b"v",
        }];
        let encoded = multipart_with_boundary(&parts, "b");
        let text = String::from_utf8(encoded.body).unwrap();
        assert_eq!(
            text,
            "--b\r\nContent-Disposition: form-data; name=\"a%22%0D%0AX-Evil: 1\"\r\nContent-Type: text/plainX-Evil: 2\r\n\r\nv\r\n--b--\r\n"
        );
    }
}
