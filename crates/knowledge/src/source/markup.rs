//! Small pieces the converters share: Markdown tables, XML character references.

/// `rows` (the first is the header) as a Markdown table; `|` in cells escaped.
pub(super) fn markdown_table(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut text = String::new();
    for (i, row) in rows.iter().enumerate() {
        text.push('|');
        for col in 0..width {
            let cell = row.get(col).map_or("", String::as_str);
            text.push_str(&format!(" {} |", cell.replace('|', "\\|")));
        }
        text.push('\n');
        if i == 0 {
            text.push('|');
            text.push_str(&" --- |".repeat(width));
            text.push('\n');
        }
    }
    text.trim_end().to_owned()
}

/// The character a quick-xml reference stands for (`&#38;`, `&amp;`), when known.
pub(super) fn xml_reference(reference: &quick_xml::events::BytesRef<'_>) -> Option<char> {
    reference.resolve_char_ref().ok().flatten().or_else(|| {
        let name = reference.decode().ok()?;
        quick_xml::escape::resolve_predefined_entity(&name)?
            .chars()
            .next()
    })
}
