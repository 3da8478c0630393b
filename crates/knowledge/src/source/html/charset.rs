//! The text of a fetched page in the charset it declares.

/// Decodes a fetched HTML page: the charset of the `Content-Type` header, else a
/// byte-order mark, else a `<meta charset>` in the first 1024 bytes, else UTF-8.
/// Undecodable bytes become U+FFFD.
pub fn decode_html(bytes: &[u8], header_charset: Option<&str>) -> String {
    let from_label = |label: &str| encoding_rs::Encoding::for_label(label.trim().as_bytes());
    let encoding = header_charset
        .and_then(from_label)
        .or_else(|| encoding_rs::Encoding::for_bom(bytes).map(|(e, _)| e))
        .or_else(|| meta_charset(&bytes[..bytes.len().min(1024)]).and_then(|l| from_label(&l)))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

/// The charset a `<meta charset=…>` or `<meta http-equiv content="…; charset=…">`
/// names in `head` (ASCII-compatible bytes).
fn meta_charset(head: &[u8]) -> Option<String> {
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("<meta") {
        rest = &rest[at + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(pos) = tag.find("charset") {
            let value = tag[pos + 7..].trim_start();
            if let Some(value) = value.strip_prefix('=') {
                let value = value.trim_start().trim_start_matches(['"', '\'']);
                let end = value
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "-_:.".contains(c)))
                    .unwrap_or(value.len());
                if end > 0 {
                    return Some(value[..end].to_owned());
                }
            }
        }
    }
    None
}

/// The charset parameter of a `Content-Type` value.
pub fn content_type_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}
