//! Documents that are not text files: PDF (its text layer, through `pdf-extract`)
//! and Word (`.docx`, the Office Open XML in its zip, read with `zip` and
//! `quick-xml`), both as Markdown-ish text.
//!
//! Both formats come from outside and may be malformed or hostile: sizes are capped
//! before and after decompression, and a parser panic is caught and reported as an
//! unreadable file, never taken down with the process.

use super::markup::{markdown_table, xml_reference};
use quick_xml::events::Event;
use std::io::Read;

/// The largest `.docx` part read, after decompression (a zip bomb stops here).
const MAX_XML_BYTES: u64 = 32 * 1024 * 1024;

/// The text of a PDF's text layer; an error says why there is none.
pub fn pdf_to_text(bytes: &[u8]) -> Result<String, String> {
    let extracted = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
        .map_err(|_| "the PDF could not be parsed".to_owned())?
        .map_err(|e| format!("the PDF could not be read: {e}"))?;
    let text = tidy(&extracted);
    if text.is_empty() {
        return Err("the PDF has no text layer (a scan?)".into());
    }
    Ok(text)
}

/// Blank-line runs as one blank line, lines trimmed at the end.
fn tidy(text: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// A Word document as Markdown: headings (`Heading1`… and `Title` styles),
/// paragraphs, list items, tables; its title from the document properties.
pub fn docx_to_text(bytes: &[u8]) -> Result<(Option<String>, String), String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a Word document (zip): {e}"))?;
    let body = read_part(&mut archive, "word/document.xml")?
        .ok_or("not a Word document: no word/document.xml")?;
    let title = read_part(&mut archive, "docProps/core.xml")?
        .and_then(|core| core_title(&core))
        .filter(|t| !t.is_empty());
    Ok((title, document_text(&body)))
}

fn read_part(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
) -> Result<Option<String>, String> {
    let part = match archive.by_name(name) {
        Ok(part) => part,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("cannot read {name}: {e}")),
    };
    let mut xml = Vec::new();
    part.take(MAX_XML_BYTES + 1)
        .read_to_end(&mut xml)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if xml.len() as u64 > MAX_XML_BYTES {
        return Err(format!("{name} is over {} MiB", MAX_XML_BYTES >> 20));
    }
    Ok(Some(String::from_utf8_lossy(&xml).into_owned()))
}

/// `dc:title` of `docProps/core.xml`.
fn core_title(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut in_title = false;
    let mut title = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == b"title" => in_title = true,
            Ok(Event::End(e)) if e.local_name().as_ref() == b"title" => {
                return Some(title.trim().to_owned());
            }
            Ok(Event::Text(t)) if in_title => title.push_str(&t.decode().ok()?),
            Ok(Event::GeneralRef(r)) if in_title => title.extend(xml_reference(&r)),
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

/// The body of `word/document.xml` as Markdown.
fn document_text(xml: &str) -> String {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut blocks: Vec<String> = Vec::new();
    let mut paragraph = String::new();
    let mut heading: Option<usize> = None;
    let mut listed = false;
    let mut in_text = false;
    // Tables: nesting depth, the cells of the row being read, the rows so far.
    let mut table_depth = 0usize;
    let mut row: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    // Malformed XML: what was read before the fault.
    while let Ok(event) = reader.read_event() {
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                // `<w:t/>` has no text and no end.
                b"t" => in_text = !empty,
                b"tab" => paragraph.push('\t'),
                b"br" | b"cr" => paragraph.push('\n'),
                b"pStyle" => {
                    let style = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"val")
                        .map(|a| String::from_utf8_lossy(&a.value).to_ascii_lowercase())
                        .unwrap_or_default();
                    // List styles number their paragraphs themselves (no numPr).
                    if style.starts_with("list") {
                        listed = true;
                    }
                    heading = if style == "title" {
                        Some(1)
                    } else {
                        style
                            .strip_prefix("heading")
                            .and_then(|n| n.parse::<usize>().ok())
                            .map(|n| n.clamp(1, 6))
                    };
                }
                b"numPr" => listed = true,
                b"tbl" if !empty => table_depth += 1,
                // A new cell, empty until its paragraphs fill it (so an empty cell
                // keeps its column).
                b"tc" if table_depth == 1 => row.push(String::new()),
                _ => {}
            },
            Event::Text(t) if in_text => {
                if let Ok(text) = t.decode() {
                    paragraph.push_str(&text);
                }
            }
            Event::GeneralRef(r) if in_text => paragraph.extend(xml_reference(&r)),
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"p" => {
                    let text = paragraph.trim().to_owned();
                    paragraph.clear();
                    if !text.is_empty() {
                        if table_depth > 0 {
                            let cell = row.last_mut();
                            match cell {
                                Some(cell) if !cell.is_empty() => {
                                    cell.push(' ');
                                    cell.push_str(&text);
                                }
                                Some(cell) => cell.push_str(&text),
                                None => row.push(text),
                            }
                        } else {
                            blocks.push(match (heading, listed) {
                                (Some(level), _) => format!("{} {text}", "#".repeat(level)),
                                (None, true) => format!("- {text}"),
                                (None, false) => text,
                            });
                        }
                    }
                    heading = None;
                    listed = false;
                }
                b"tr" if table_depth == 1 => {
                    if row.iter().any(|c| !c.is_empty()) {
                        rows.push(std::mem::take(&mut row));
                    }
                    row.clear();
                }
                b"tbl" => {
                    table_depth = table_depth.saturating_sub(1);
                    if table_depth == 0 && !rows.is_empty() {
                        blocks.push(markdown_table(&std::mem::take(&mut rows)));
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    join_blocks(&blocks)
}

/// List items on consecutive lines, other blocks separated by a blank line.
fn join_blocks(blocks: &[String]) -> String {
    let mut out = String::new();
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            let both_items = block.starts_with("- ") && blocks[i - 1].starts_with("- ");
            out.push_str(if both_items { "\n" } else { "\n\n" });
        }
        out.push_str(block);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A one-page PDF whose text layer holds `lines` (Helvetica), with a correct
    /// cross-reference table, as a PDF writer makes it.
    pub(crate) fn pdf(lines: &[&str]) -> Vec<u8> {
        let mut content = String::from("BT /F1 14 Tf 72 720 Td 18 TL\n");
        for line in lines {
            content.push_str(&format!(
                "({}) Tj T*\n",
                line.replace('(', "\\(").replace(')', "\\)")
            ));
        }
        content.push_str("ET");
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >> >> >>"
                .to_owned(),
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            ),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
                .to_owned(),
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    /// A `.docx` with `body` as its `w:body` content and `title` in its properties.
    pub(crate) fn docx(body: &str, title: Option<&str>) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("[Content_Types].xml", options).unwrap();
        zip.write_all(br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#).unwrap();
        zip.start_file("word/document.xml", options).unwrap();
        write!(
            zip,
            r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
        )
        .unwrap();
        if let Some(title) = title {
            zip.start_file("docProps/core.xml", options).unwrap();
            write!(
                zip,
                r#"<cp:coreProperties xmlns:cp="x" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></cp:coreProperties>"#
            )
            .unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn p(style: Option<&str>, text: &str) -> String {
        let style = style.map_or(String::new(), |s| {
            format!(r#"<w:pPr><w:pStyle w:val="{s}"/></w:pPr>"#)
        });
        format!(r#"<w:p>{style}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#)
    }

    #[test]
    fn a_pdf_text_layer_is_read() {
        let text = pdf_to_text(&pdf(&[
            "Returns policy",
            "Items may be returned within 17 days.",
        ]))
        .unwrap();
        assert!(text.contains("Returns policy"), "{text:?}");
        assert!(text.contains("within 17 days"), "{text:?}");
    }

    #[test]
    fn a_broken_pdf_is_an_error_not_a_panic() {
        for bytes in [
            &b"%PDF-1.4\ngarbage"[..],
            b"",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog",
        ] {
            assert!(pdf_to_text(bytes).is_err());
        }
        let mut truncated = pdf(&["x"]);
        truncated.truncate(truncated.len() / 2);
        assert!(pdf_to_text(&truncated).is_err());
    }

    #[test]
    fn a_word_document_becomes_markdown() {
        let list = r#"<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/></w:numPr></w:pPr><w:r><w:t>Gift cards</w:t></w:r></w:p>"#;
        let table = r#"<w:tbl><w:tr><w:tc>PLAN</w:tc><w:tc>DAYS</w:tc></w:tr></w:tbl>"#
            .replace("PLAN", &p(None, "Plan"))
            .replace("DAYS", &p(None, "Days"));
        let body = [
            p(Some("Heading1"), "Returns"),
            p(None, "Within 17 days &amp; no fuss."),
            list.to_owned(),
            list.replace("Gift cards", "Software"),
            table,
            p(Some("Heading2"), "Contact"),
            r#"<w:p><w:r><w:t>Call</w:t><w:tab/><w:t>us</w:t><w:t/></w:r></w:p>"#.to_owned(),
        ]
        .concat();
        let (title, text) = docx_to_text(&docx(&body, Some("Returns &amp; refunds"))).unwrap();
        assert_eq!(title.as_deref(), Some("Returns & refunds"));
        assert_eq!(
            text,
            "# Returns\n\nWithin 17 days & no fuss.\n\n- Gift cards\n- Software\n\n\
             | Plan | Days |\n| --- | --- |\n\n## Contact\n\nCall\tus"
        );
    }

    #[test]
    fn what_is_not_a_word_document_is_an_error() {
        assert!(docx_to_text(b"not a zip").is_err());
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("other.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        let empty = zip.finish().unwrap().into_inner();
        assert!(
            docx_to_text(&empty)
                .unwrap_err()
                .contains("word/document.xml")
        );
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_cap() {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("word/document.xml", options).unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..40 {
            zip.write_all(&zeros).unwrap();
        }
        let bomb = zip.finish().unwrap().into_inner();
        assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
        assert!(docx_to_text(&bomb).unwrap_err().contains("over 32 MiB"));
    }
}
