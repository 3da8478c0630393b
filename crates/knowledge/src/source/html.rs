//! A small HTML-to-text converter: enough structure (headings, paragraphs, list
//! items) for chunking and citations, without an HTML parser dependency.
//!
//! It scans the input once, never backtracks and never panics: unclosed tags,
//! stray `<` and unknown entities are kept as text or dropped, never an error.

/// Converts an HTML page to Markdown-ish plain text; returns its `<title>` (if
/// any) and the text.
pub fn html_to_text(html: &str) -> (Option<String>, String) {
    let lower = html.to_ascii_lowercase();
    let mut converter = Converter {
        html,
        lower: &lower,
        pos: 0,
        no_more_gt: false,
        title: None,
        out: Writer::default(),
        in_head: false,
        pre_depth: 0,
        list_depth: 0,
    };
    converter.run();
    let text = converter.out.text;
    let text = match text.trim() {
        trimmed if trimmed.len() == text.len() => text,
        trimmed => trimmed.to_string(),
    };
    (converter.title, text)
}

/// The deepest list nesting shown by indentation.
const MAX_INDENT: usize = 8;

/// Elements whose content is never text.
const SKIPPED: [&str; 6] = ["script", "style", "noscript", "template", "svg", "iframe"];

/// Elements allowed in `<head>`; any other element starts the body.
const HEAD: [&str; 10] = [
    "", "head", "title", "meta", "link", "style", "script", "noscript", "base", "template",
];

/// Elements that start and end their own paragraph.
const PARAGRAPHS: [&str; 20] = [
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "main",
    "aside",
    "blockquote",
    "table",
    "ul",
    "ol",
    "dl",
    "figure",
    "form",
    "fieldset",
    "details",
    "hr",
    "pre",
];

/// Elements that end a line.
const LINES: [&str; 8] = [
    "br",
    "tr",
    "dt",
    "dd",
    "figcaption",
    "summary",
    "caption",
    "address",
];

struct Converter<'a> {
    html: &'a str,
    /// `html` with ASCII letters lowered: same byte offsets, case-insensitive search.
    lower: &'a str,
    pos: usize,
    /// Set once a search for `>` failed: every later `<` is text, which keeps the
    /// scan linear on input like `<<<<<<`.
    no_more_gt: bool,
    title: Option<String>,
    out: Writer,
    in_head: bool,
    pre_depth: usize,
    list_depth: usize,
}

impl Converter<'_> {
    fn run(&mut self) {
        while self.pos < self.html.len() {
            let rest = &self.html[self.pos..];
            let text_end = rest
                .find(['<', '&'])
                .map_or(self.html.len(), |i| self.pos + i);
            self.text(&self.html[self.pos..text_end]);
            self.pos = text_end;
            if self.pos >= self.html.len() {
                break;
            }
            if self.html.as_bytes()[self.pos] == b'&' {
                let (decoded, len) = decode_entity(&self.html[self.pos..]);
                self.text_char(decoded);
                self.pos += len;
            } else if !self.markup() {
                self.text_char('<');
                self.pos += 1;
            }
        }
    }

    /// Handles markup starting at `<`; returns false when the `<` is plain text.
    fn markup(&mut self) -> bool {
        let rest = &self.lower[self.pos..];
        if rest.starts_with("<!--") {
            self.pos = find_after(self.lower, self.pos + 4, "-->");
            return true;
        }
        let after = rest.as_bytes().get(1).copied().unwrap_or(0);
        let closing = after == b'/';
        let name_start = self.pos + 1 + usize::from(closing);
        let first = self.lower.as_bytes().get(name_start).copied().unwrap_or(0);
        let is_tag = first.is_ascii_alphabetic() || (!closing && (after == b'!' || after == b'?'));
        if !is_tag || self.no_more_gt {
            return false;
        }
        let Some(gt) = self.lower[self.pos..].find('>') else {
            self.no_more_gt = true;
            return false;
        };
        let tag_end = self.pos + gt + 1;
        let name_end = self.lower[name_start..tag_end]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(tag_end, |i| name_start + i);
        let name = &self.lower[name_start..name_end];
        self.pos = tag_end;
        if closing {
            self.close(name);
        } else {
            self.open(name, tag_end);
        }
        true
    }

    fn open(&mut self, name: &str, tag_end: usize) {
        if self.in_head && !HEAD.contains(&name) {
            // Like browsers: body content implicitly ends the head.
            self.in_head = false;
        }
        match name {
            "title" => {
                let end = self.lower[tag_end..]
                    .find("</title")
                    .map_or(self.html.len(), |i| tag_end + i);
                if self.title.is_none() {
                    let title = decode_entities(&self.html[tag_end..end]);
                    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
                    self.title = (!title.is_empty()).then_some(title);
                }
                self.pos = find_after(self.lower, end, ">");
            }
            name if SKIPPED.contains(&name) => {
                let closing = format!("</{name}");
                let end = self.lower[tag_end..]
                    .find(&closing)
                    .map_or(self.html.len(), |i| tag_end + i);
                self.pos = find_after(self.lower, end, ">");
            }
            "head" => self.in_head = true,
            "body" => self.in_head = false,
            "li" => {
                self.out.newline(1);
                // Capped so deeply nested lists cannot blow up the output.
                let indent = "  ".repeat(self.list_depth.saturating_sub(1).min(MAX_INDENT));
                self.out.prefix(format!("{indent}- "));
            }
            "ul" | "ol" => {
                self.list_depth += 1;
                if self.list_depth == 1 {
                    self.out.newline(2);
                }
            }
            "td" | "th" => self.out.space(),
            _ => {
                if let Some(level) = heading_level(name) {
                    self.out.newline(2);
                    self.out.prefix(format!("{} ", "#".repeat(level)));
                } else {
                    self.block(name);
                }
            }
        }
        if name == "pre" {
            self.pre_depth += 1;
        }
    }

    fn close(&mut self, name: &str) {
        match name {
            "head" => self.in_head = false,
            "ul" | "ol" => {
                self.list_depth = self.list_depth.saturating_sub(1);
                self.out.newline(if self.list_depth == 0 { 2 } else { 1 });
            }
            "li" => self.out.end_line(1),
            "pre" => {
                self.pre_depth = self.pre_depth.saturating_sub(1);
                self.out.newline(2);
            }
            "td" | "th" => self.out.space(),
            _ if heading_level(name).is_some() => self.out.end_line(2),
            _ => self.block(name),
        }
    }

    /// Line breaks for block elements, opening or closing alike.
    fn block(&mut self, name: &str) {
        if PARAGRAPHS.contains(&name) {
            self.out.newline(2);
        } else if LINES.contains(&name) {
            self.out.newline(1);
        }
    }

    fn text(&mut self, text: &str) {
        text.chars().for_each(|c| self.text_char(c));
    }

    fn text_char(&mut self, c: char) {
        if self.in_head {
            return;
        }
        if self.pre_depth > 0 {
            self.out.raw(c);
        } else {
            self.out.push(c);
        }
    }
}

/// The byte offset just past the first `needle` at or after `from` (or the end).
fn find_after(haystack: &str, from: usize, needle: &str) -> usize {
    haystack
        .get(from..)
        .and_then(|rest| rest.find(needle))
        .map_or(haystack.len(), |i| from + i + needle.len())
}

fn heading_level(name: &str) -> Option<usize> {
    match name.as_bytes() {
        [b'h', level @ b'1'..=b'6'] => Some(usize::from(level - b'0')),
        _ => None,
    }
}

/// Decodes the entity at the start of `input` (which starts with `&`); returns the
/// character and the bytes consumed. Unknown entities are the literal `&`.
fn decode_entity(input: &str) -> (char, usize) {
    const LONGEST: usize = 12;
    let window = &input.as_bytes()[..input.len().min(LONGEST)];
    let Some(semi) = window.iter().position(|&b| b == b';') else {
        return ('&', 1);
    };
    // `;` is ASCII, so `1..semi` lies on character boundaries.
    let Ok(name) = std::str::from_utf8(&window[1..semi]) else {
        return ('&', 1);
    };
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        "mdash" => Some('\u{2014}'),
        "ndash" => Some('\u{2013}'),
        "hellip" => Some('\u{2026}'),
        "lsquo" => Some('\u{2018}'),
        "rsquo" => Some('\u{2019}'),
        "ldquo" => Some('\u{201c}'),
        "rdquo" => Some('\u{201d}'),
        "copy" => Some('\u{a9}'),
        "reg" => Some('\u{ae}'),
        "trade" => Some('\u{2122}'),
        "middot" => Some('\u{b7}'),
        "bull" => Some('\u{2022}'),
        _ => name.strip_prefix('#').and_then(|number| {
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => number.parse().ok(),
            }?;
            char::from_u32(code).filter(|c| *c != '\0')
        }),
    };
    decoded.map_or(('&', 1), |c| (c, semi + 1))
}

/// `text` with its entities decoded (for `<title>`, whose content holds no tags).
fn decode_entities(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        decoded.push_str(&rest[..amp]);
        let (c, len) = decode_entity(&rest[amp..]);
        decoded.push(c);
        rest = &rest[amp + len..];
    }
    decoded.push_str(rest);
    decoded
}

/// Builds the output text: collapses whitespace and defers line breaks until the
/// next visible character, so the result never starts or ends with blank space
/// and never holds more than one blank line in a row.
#[derive(Default)]
struct Writer {
    text: String,
    /// How many `\n` end `text`.
    trailing_newlines: usize,
    pending_newlines: usize,
    /// A list marker or heading marks, written before the next visible character.
    pending_prefix: Option<String>,
    pending_space: bool,
    at_line_start: bool,
}

impl Writer {
    fn push(&mut self, c: char) {
        if c.is_whitespace() {
            self.pending_space = true;
            return;
        }
        self.flush();
        if self.pending_space && !self.at_line_start {
            self.text.push(' ');
        }
        self.pending_space = false;
        self.at_line_start = false;
        self.trailing_newlines = 0;
        self.text.push(c);
    }

    /// Preformatted text: kept as is.
    fn raw(&mut self, c: char) {
        if self.text.is_empty() && c.is_whitespace() {
            return;
        }
        self.flush();
        self.pending_space = false;
        if c == '\n' {
            if self.trailing_newlines >= 2 {
                return;
            }
            self.trailing_newlines += 1;
            self.at_line_start = true;
        } else {
            self.trailing_newlines = 0;
            self.at_line_start = false;
        }
        self.text.push(c);
    }

    fn space(&mut self) {
        self.pending_space = true;
    }

    fn newline(&mut self, count: usize) {
        if !self.text.is_empty() {
            self.pending_newlines = self.pending_newlines.max(count);
        }
        self.pending_space = false;
    }

    /// Ends a list item or heading: its prefix is dropped if it got no text.
    fn end_line(&mut self, count: usize) {
        self.pending_prefix = None;
        self.newline(count);
    }

    /// A line prefix (list marker, heading marks), dropped if no text follows it.
    fn prefix(&mut self, prefix: String) {
        self.pending_prefix = Some(prefix);
        self.pending_space = false;
    }

    fn flush(&mut self) {
        if self.pending_newlines > 0 {
            let missing = self.pending_newlines.saturating_sub(self.trailing_newlines);
            self.text.extend(std::iter::repeat_n('\n', missing));
            self.trailing_newlines += missing;
            self.pending_newlines = 0;
            self.at_line_start = true;
        }
        if let Some(prefix) = self.pending_prefix.take() {
            self.text.push_str(&prefix);
            self.trailing_newlines = 0;
            self.at_line_start = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Returns &amp; Refunds | SmooAI</title>
  <style>body { color: red; } h1 > p { }</style>
  <script>if (a < b && c > d) { document.write("<p>no</p>"); }</script>
</head>
<body>
  <!-- navigation <p>hidden</p> -->
  <nav><a href="/">Home</a> <a href="/help">Help</a></nav>
  <h1>Returns   policy</h1>
  <p>You may return items within <b>17&nbsp;days</b> &mdash; see <a href="/terms">the terms</a>.</p>
  <h2 class="sub">Exceptions</h2>
  <ul>
    <li>Gift cards</li>
    <li>Opened software<ul><li>unless faulty</li></ul></li>
  </ul>
  <p>Contact: support&#64;example.com &#x2014; 5 &lt; 7<br>Thanks!</p>
  <pre>line 1
  indented</pre>
  <noscript>Enable JavaScript</noscript>
</body>
</html>"#;

    #[test]
    fn converts_a_page_to_markdown_text() {
        let (title, text) = html_to_text(PAGE);
        assert_eq!(title.as_deref(), Some("Returns & Refunds | SmooAI"));
        let expected = "Home Help\n\n\
            # Returns policy\n\n\
            You may return items within 17 days \u{2014} see the terms.\n\n\
            ## Exceptions\n\n\
            - Gift cards\n\
            - Opened software\n  \
            - unless faulty\n\n\
            Contact: support@example.com \u{2014} 5 < 7\nThanks!\n\n\
            line 1\n  indented";
        assert_eq!(text, expected);
    }

    #[test]
    fn decodes_entities() {
        let (_, text) = html_to_text(
            "&amp; &lt; &gt; &quot; &#39; &apos; a&nbsp;b &#65;&#x42;&#X43; &unknown; &#xFFFFFFFF; & x",
        );
        assert_eq!(text, "& < > \" ' ' a b ABC &unknown; &#xFFFFFFFF; & x");
    }

    #[test]
    fn drops_scripts_styles_and_comments() {
        let (title, text) = html_to_text(
            "<p>a</p><SCRIPT type=x>alert('<p>b</p>')</SCRIPT ><style>p{}</style><!-- c --><p>d</p>",
        );
        assert_eq!(title, None);
        assert_eq!(text, "a\n\nd");
    }

    #[test]
    fn nested_lists_are_indented() {
        let (_, text) = html_to_text(
            "<ol><li>one<ol><li>inner<ul><li>deep</li></ul></li></ol></li><li>two</li></ol>after",
        );
        assert_eq!(text, "- one\n  - inner\n    - deep\n- two\n\nafter");
    }

    #[test]
    fn every_heading_level() {
        let (_, text) = html_to_text("<h1>a</h1><h3>c</h3>text<h6>f</h6><h7>g</h7>");
        assert_eq!(text, "# a\n\n### c\n\ntext\n\n###### f\n\ng");
    }

    #[test]
    fn empty_items_and_headings_leave_no_marks() {
        let (_, text) = html_to_text(
            "<h2> </h2><p>a</p><ul><li></li><li><p>b</p></li><li>  </li></ul><h1></h1>c",
        );
        assert_eq!(text, "a\n\n- b\n\nc");
    }

    #[test]
    fn malformed_input_keeps_text() {
        assert_eq!(html_to_text("a < b and c<d").1, "a < b and c<d");
        assert_eq!(html_to_text("<p>unclosed <b tag").1, "unclosed <b tag");
        assert_eq!(html_to_text("x <!-- never closed <p>y</p>").1, "x");
        assert_eq!(html_to_text("<script>never closed").1, "");
        assert_eq!(html_to_text("<title>t").0.as_deref(), Some("t"));
        assert_eq!(html_to_text("</>&#;&;&#x;<").1, "</>&#;&;&#x;<");
        assert_eq!(html_to_text("é<p>ü</p>日本<br/>語").1, "é\n\nü\n\n日本\n語");
        assert_eq!(html_to_text("").1, "");
    }

    #[test]
    fn never_panics_on_prefixes_of_a_real_page() {
        for (end, _) in PAGE.char_indices() {
            let _ = html_to_text(&PAGE[..end]);
            let _ = html_to_text(&PAGE[end..]);
        }
    }

    #[test]
    fn never_panics_on_random_input() {
        const ALPHABET: &[u8] = b"<>&;#x/!-?=\"' \nabhlipstcr0123456789\xc3\xa9\xe6\x97\xa5\xff";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5_000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        (r >> 8) as u8
                    } else {
                        ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                    }
                })
                .collect();
            let input = String::from_utf8_lossy(&bytes);
            let (title, text) = html_to_text(&input);
            assert_eq!(text.trim(), text, "{input:?}");
            assert!(!text.contains("\n\n\n"), "{input:?} -> {text:?}");
            assert!(title.is_none_or(|t| !t.is_empty()));
        }
    }

    #[test]
    fn pathological_input_is_linear() {
        let started = std::time::Instant::now();
        for unit in [
            "<",
            "<a",
            "<!--",
            "<script>",
            "&#",
            "<title>",
            "</",
            "<ul><li>a",
        ] {
            let input = unit.repeat(100_000);
            let (_, text) = html_to_text(&input);
            assert!(
                text.len() <= 3 * input.len(),
                "{unit}: {} bytes out",
                text.len()
            );
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
