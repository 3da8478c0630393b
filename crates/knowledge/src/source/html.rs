//! HTML to Markdown text for chunking and citations, through a browser-grade HTML5
//! parser (html5ever, by way of `scraper`): every named entity, unclosed tags and
//! `>` inside quoted attributes are understood as a browser would.
//!
//! Kept: headings, paragraphs, lists (nested), links with absolute http(s) targets,
//! tables (as Markdown tables), preformatted text and inline code. Dropped: scripts,
//! styles and other non-text elements, and the page's chrome (navigation, header,
//! footer, sidebars, forms, anything hidden). When the page marks its content with
//! `<main>` (or one `<article>`), only that is kept.

use scraper::{ElementRef, Html, Node};

/// Converts an HTML page to Markdown text; returns its `<title>` (if any) and the
/// text.
pub fn html_to_text(html: &str) -> (Option<String>, String) {
    let document = Html::parse_document(html);
    let root = document.root_element();
    let title = find(root, &|e| e.value().name() == "title")
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let content = find(root, &|e| e.value().name() == "main")
        .or_else(|| only_article(root))
        .or_else(|| find(root, &|e| e.value().name() == "body"))
        .unwrap_or(root);
    let mut out = Writer::default();
    out.block(content, &Context::default());
    (title, out.finish())
}

/// The deepest list nesting shown by indentation.
const MAX_INDENT: usize = 8;

/// Elements whose content is never text.
const NOT_TEXT: &[&str] = &[
    "head", "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "audio", "video", "picture", "img", "input", "select", "textarea", "button",
    "option", "datalist", "meter", "progress", "dialog", "map",
];

/// The page's chrome: navigation, banners, footers, sidebars and forms.
const CHROME: &[&str] = &["nav", "header", "footer", "aside", "form", "menu"];

/// ARIA roles of chrome.
const CHROME_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "menu",
    "menubar",
    "toolbar",
    "dialog",
    "alert",
];

/// Elements that start and end their own paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "body",
    "html",
    "figure",
    "figcaption",
    "address",
    "details",
    "summary",
    "fieldset",
    "center",
    "hgroup",
    "dl",
    "dt",
    "dd",
];

/// Where a node sits: list nesting and whether inside `<pre>`.
#[derive(Default, Clone)]
struct Context {
    /// Each open list: `None` for bullets, `Some(n)` for the next number.
    lists: Vec<Option<usize>>,
}

/// Builds the text: blocks separated by blank lines, inline text with collapsed
/// whitespace.
#[derive(Default)]
struct Writer {
    text: String,
    /// The paragraph being built (inline content, whitespace collapsed).
    line: String,
    /// What to put before `line` when it is flushed (a list marker).
    prefix: String,
    /// Whether the next block follows on the next line (list items) rather than
    /// after a blank line.
    tight: bool,
}

impl Writer {
    /// Walks a block-level container.
    fn block(&mut self, element: ElementRef<'_>, ctx: &Context) {
        for child in element.children() {
            match child.value() {
                Node::Text(text) => self.inline_text(text),
                Node::Element(_) => {
                    if let Some(child) = ElementRef::wrap(child) {
                        self.element(child, ctx);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, element: ElementRef<'_>, ctx: &Context) {
        let name = element.value().name();
        if skipped(element) {
            return;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let level = usize::from(name.as_bytes()[1] - b'0');
                let text = collapse(&inline_text(element));
                if !text.is_empty() {
                    self.paragraph(&format!("{} {text}", "#".repeat(level)));
                }
            }
            "ul" | "ol" => {
                self.flush();
                let mut inner = ctx.clone();
                inner.lists.push((name == "ol").then(|| {
                    element
                        .value()
                        .attr("start")
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(1)
                }));
                let nested = !ctx.lists.is_empty();
                self.tight = nested;
                self.list(element, &mut inner);
                self.flush();
                // Back in the enclosing item's list, or out of lists altogether.
                self.tight = nested;
            }
            "li" => {
                // An item outside a list: a bullet of its own.
                let mut inner = ctx.clone();
                inner.lists.push(None);
                self.item(element, &mut inner);
                self.tight = false;
            }
            "table" => {
                self.flush();
                self.table(element);
            }
            "pre" => {
                self.flush();
                let text: String = element.text().collect();
                let text = text.trim_matches('\n');
                if !text.trim().is_empty() {
                    self.paragraph(&format!("```\n{text}\n```"));
                }
            }
            "blockquote" => {
                self.flush();
                let mut inner = Writer::default();
                inner.block(element, ctx);
                let quoted = inner.finish();
                if !quoted.is_empty() {
                    let quoted: Vec<String> = quoted
                        .lines()
                        .map(|l| {
                            if l.is_empty() {
                                ">".into()
                            } else {
                                format!("> {l}")
                            }
                        })
                        .collect();
                    self.paragraph(&quoted.join("\n"));
                }
            }
            "br" => {
                self.line.truncate(self.line.trim_end().len());
                self.line.push('\n');
            }
            "hr" => self.flush(),
            _ if BLOCKS.contains(&name) => {
                self.flush();
                self.block(element, ctx);
                self.flush();
            }
            _ => self.inline(element),
        }
    }

    /// A list's items, numbered or bulleted, nested lists indented.
    fn list(&mut self, list: ElementRef<'_>, ctx: &mut Context) {
        for child in list.children().filter_map(ElementRef::wrap) {
            if skipped(child) {
                continue;
            }
            match child.value().name() {
                "li" => self.item(child, ctx),
                // Stray content in a list (or a list directly in a list).
                _ => self.element(child, ctx),
            }
        }
    }

    fn item(&mut self, item: ElementRef<'_>, ctx: &mut Context) {
        self.flush();
        let depth = ctx.lists.len().saturating_sub(1).min(MAX_INDENT);
        let marker = match ctx.lists.last_mut() {
            Some(Some(n)) => {
                let marker = format!("{n}. ");
                *n += 1;
                marker
            }
            _ => "- ".to_owned(),
        };
        self.prefix = format!("{}{marker}", "  ".repeat(depth));
        let before = self.text.len();
        self.block(item, ctx);
        self.flush();
        self.prefix.clear();
        // The next item follows on the next line, unless this one was empty.
        if self.text.len() > before {
            self.tight = true;
        }
    }

    /// Rows of cells as a Markdown table; the first row is the header.
    fn table(&mut self, table: ElementRef<'_>) {
        let mut rows: Vec<Vec<String>> = Vec::new();
        collect_rows(table, &mut rows);
        rows.retain(|r| r.iter().any(|c| !c.is_empty()));
        let Some(width) = rows.iter().map(Vec::len).max() else {
            return;
        };
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
        self.paragraph(text.trim_end());
    }

    /// Inline content: text, links, code; anything else contributes its text.
    fn inline(&mut self, element: ElementRef<'_>) {
        match element.value().name() {
            "a" => {
                let text = collapse(&inline_text(element));
                match element.value().attr("href").map(str::trim) {
                    Some(href)
                        if !text.is_empty()
                            && (href.starts_with("https://") || href.starts_with("http://"))
                            && href != text =>
                    {
                        self.push_inline(&format!("[{text}]({})", href.replace(' ', "%20")))
                    }
                    _ => self.push_inline(&text),
                }
            }
            "code" | "kbd" | "samp" => {
                let text = collapse(&element.text().collect::<String>());
                if !text.is_empty() {
                    self.push_inline(&format!("`{text}`"));
                }
            }
            _ => {
                for child in element.children() {
                    match child.value() {
                        Node::Text(text) => self.inline_text(text),
                        Node::Element(_) => {
                            if let Some(child) = ElementRef::wrap(child)
                                && !skipped(child)
                            {
                                // Block elements inside inline ones still break.
                                self.element(child, &Context::default());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn inline_text(&mut self, text: &str) {
        let collapsed = collapse_keep_edges(text);
        if collapsed.is_empty() {
            return;
        }
        if collapsed == " " {
            if !self.line.is_empty() && !self.line.ends_with([' ', '\n']) {
                self.line.push(' ');
            }
            return;
        }
        self.push_inline(&collapsed);
    }

    fn push_inline(&mut self, text: &str) {
        if text.starts_with(' ') && (self.line.is_empty() || self.line.ends_with([' ', '\n'])) {
            self.line.push_str(text.trim_start());
        } else {
            self.line.push_str(text);
        }
    }

    /// Ends the paragraph being built.
    fn flush(&mut self) {
        let line = self.line.trim().to_owned();
        self.line.clear();
        if line.is_empty() {
            return;
        }
        let line = line
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(&format!("\n{}", " ".repeat(self.prefix.len())));
        let prefix = std::mem::take(&mut self.prefix);
        // Later lines of the same item are not bullets again.
        self.prefix = " ".repeat(prefix.len());
        self.paragraph(&format!("{prefix}{line}"));
    }

    /// Appends a finished block.
    fn paragraph(&mut self, block: &str) {
        if !self.text.is_empty() {
            self.text.push_str(if self.tight { "\n" } else { "\n\n" });
        }
        self.text.push_str(block);
        self.tight = false;
    }

    fn finish(mut self) -> String {
        self.flush();
        self.text.trim().to_owned()
    }
}

/// Whether an element is left out with everything in it.
fn skipped(element: ElementRef<'_>) -> bool {
    let e = element.value();
    NOT_TEXT.contains(&e.name())
        || CHROME.contains(&e.name())
        || e.attr("hidden").is_some()
        || e.attr("aria-hidden") == Some("true")
        || e.attr("role")
            .is_some_and(|r| CHROME_ROLES.contains(&r.trim()))
}

/// The cells of each row of a table (nested tables contribute their text).
fn collect_rows(element: ElementRef<'_>, rows: &mut Vec<Vec<String>>) {
    for child in element.children().filter_map(ElementRef::wrap) {
        match child.value().name() {
            "tr" => rows.push(
                child
                    .children()
                    .filter_map(ElementRef::wrap)
                    .filter(|c| matches!(c.value().name(), "td" | "th"))
                    .map(|c| collapse(&inline_text(c)))
                    .collect(),
            ),
            "thead" | "tbody" | "tfoot" => collect_rows(child, rows),
            _ => {}
        }
    }
}

/// The text of an element without what is never text (scripts, hidden parts).
fn inline_text(element: ElementRef<'_>) -> String {
    let mut out = String::new();
    for child in element.children() {
        match child.value() {
            Node::Text(text) => out.push_str(text),
            Node::Element(_) => {
                if let Some(child) = ElementRef::wrap(child).filter(|c| !skipped(*c)) {
                    out.push(' ');
                    out.push_str(&inline_text(child));
                    out.push(' ');
                }
            }
            _ => {}
        }
    }
    out
}

/// The first element (depth first) matching `wanted`, not inside what is never text.
fn find<'a>(
    element: ElementRef<'a>,
    wanted: &dyn Fn(ElementRef<'a>) -> bool,
) -> Option<ElementRef<'a>> {
    element
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| wanted(*e))
}

/// The page's `<article>`, when it has exactly one.
fn only_article(root: ElementRef<'_>) -> Option<ElementRef<'_>> {
    let mut articles = root
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "article");
    let first = articles.next()?;
    articles.next().is_none().then_some(first)
}

/// Whitespace runs as one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whitespace runs as one space, keeping one at either edge when there was some.
fn collapse_keep_edges(text: &str) -> String {
    let inner = collapse(text);
    if inner.is_empty() {
        return if text.is_empty() {
            String::new()
        } else {
            " ".into()
        };
    }
    let lead = if text.starts_with(char::is_whitespace) {
        " "
    } else {
        ""
    };
    let trail = if text.ends_with(char::is_whitespace) {
        " "
    } else {
        ""
    };
    format!("{lead}{inner}{trail}")
}

/// The page's links (`<a href>`) resolved against `base` (or the page's `<base
/// href>`), http(s) only, without fragments, each once, in page order.
pub fn html_links(html: &str, base: &reqwest::Url) -> Vec<reqwest::Url> {
    let document = Html::parse_document(html);
    let root = document.root_element();
    let base = find(root, &|e| e.value().name() == "base")
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| base.join(href.trim()).ok())
        .unwrap_or_else(|| base.clone());
    let mut seen = std::collections::HashSet::new();
    root.descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a")
        .filter(|e| {
            e.value()
                .attr("rel")
                .is_none_or(|r| !r.contains("nofollow"))
        })
        .filter_map(|e| e.value().attr("href"))
        .filter_map(|href| base.join(href.trim()).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(|mut url| {
            url.set_fragment(None);
            url
        })
        .filter(|url| seen.insert(url.clone()))
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head><title>Returns &amp; Refunds | SmooAI</title>
<style>body { color: red }</style><script>var x = "<p>not text</p>";</script></head>
<body>
  <header><a href="/">Home</a> <a href="/help">Help</a></header>
  <nav><ul><li>Shop</li><li>Cart</li></ul></nav>
  <h1>Returns policy</h1>
  <p>You may return items within <b>17 days</b> &mdash; see the
     <a href="https://example.com/terms" title="a > b">terms</a>.</p>
  <h2>Exceptions</h2>
  <ul>
    <li>Gift cards</li>
    <li>Opened software<ul><li>unless faulty</li></ul></li>
  </ul>
  <ol start="3"><li>third</li><li>fourth</li></ol>
  <table><tr><th>Plan</th><th>Days</th></tr><tr><td>Basic</td><td>17</td></tr>
    <tr><td>Plus | Gold</td><td>30</td></tr></table>
  <p>Contact: support&#64;example.com &#x2014; 5 &lt; 7 &hellip; &eacute;t&eacute;<br>Thanks!</p>
  <pre>line 1
  indented</pre>
  <p>Run <code>switchboard  ingest</code> now.</p>
  <div hidden>secret draft</div><div aria-hidden="true">decoration</div>
  <aside>Related: other pages</aside>
  <footer>© SmooAI</footer>
  <noscript>Enable JavaScript</noscript>
</body>
</html>"#;

    #[test]
    fn converts_a_page_to_markdown_keeping_structure_and_dropping_chrome() {
        let (title, text) = html_to_text(PAGE);
        assert_eq!(title.as_deref(), Some("Returns & Refunds | SmooAI"));
        let expected = "# Returns policy\n\n\
            You may return items within 17 days \u{2014} see the [terms](https://example.com/terms).\n\n\
            ## Exceptions\n\n\
            - Gift cards\n\
            - Opened software\n  \
            - unless faulty\n\n\
            3. third\n\
            4. fourth\n\n\
            | Plan | Days |\n\
            | --- | --- |\n\
            | Basic | 17 |\n\
            | Plus \\| Gold | 30 |\n\n\
            Contact: support@example.com \u{2014} 5 < 7 \u{2026} \u{e9}t\u{e9}\nThanks!\n\n\
            ```\nline 1\n  indented\n```\n\n\
            Run `switchboard ingest` now.";
        assert_eq!(text, expected);
    }

    #[test]
    fn main_content_is_preferred_when_the_page_marks_it() {
        let (_, text) =
            html_to_text("<body><div>Menu Sign in</div><main><p>The answer.</p></main></body>");
        assert_eq!(text, "The answer.");
        let (_, text) =
            html_to_text("<body><div>Cookie banner</div><article>Story</article></body>");
        assert_eq!(text, "Story");
    }

    #[test]
    fn a_quoted_greater_than_does_not_end_a_tag() {
        let (_, text) = html_to_text(r#"<p data-x="a > b">kept</p><img alt="x > y">after"#);
        assert_eq!(text, "kept\n\nafter");
    }

    #[test]
    fn nested_lists_are_indented() {
        let (_, text) = html_to_text(
            "<ol><li>one<ol><li>inner<ul><li>deep</li></ul></li></ol></li><li>two</li></ol>after",
        );
        assert_eq!(text, "1. one\n  1. inner\n    - deep\n2. two\n\nafter");
    }

    #[test]
    fn every_heading_level_and_empty_ones_leave_no_marks() {
        let (_, text) = html_to_text("<h1>a</h1><h3>c</h3>text<h6>f</h6><h2> </h2>");
        assert_eq!(text, "# a\n\n### c\n\ntext\n\n###### f");
        let (_, text) = html_to_text("<p>a</p><ul><li></li><li><p>b</p></li><li>  </li></ul>c");
        assert_eq!(text, "a\n\n- b\n\nc");
    }

    #[test]
    fn malformed_input_is_parsed_as_a_browser_would() {
        assert_eq!(html_to_text("a < b and c").1, "a < b and c");
        assert_eq!(html_to_text("<p>unclosed <b>bold").1, "unclosed bold");
        assert_eq!(html_to_text("x <!-- never closed <p>y</p>").1, "x");
        assert_eq!(html_to_text("<script>never closed").1, "");
        assert_eq!(html_to_text("<title>t").0.as_deref(), Some("t"));
        assert_eq!(html_to_text("é<p>ü</p>日本<br/>語").1, "é\n\nü\n\n日本\n語");
        assert_eq!(html_to_text("").1, "");
        assert_eq!(
            html_to_text("&amp; &bogus; &#65;&#x42; &eacute;t&eacute;").1,
            "& &bogus; AB été"
        );
        // As in browsers, a legacy entity needs no semicolon.
        assert_eq!(html_to_text("&copy 2026").1, "© 2026");
    }

    #[test]
    fn only_absolute_web_links_are_kept_as_links() {
        let (_, text) = html_to_text(
            r#"<p><a href="javascript:alert(1)">click</a> <a href="/rel">rel</a> <a href="https://x.test/a b">abs</a></p>"#,
        );
        assert_eq!(text, "click rel [abs](https://x.test/a%20b)");
    }

    #[test]
    fn links_are_resolved_without_fragments_and_nofollow() {
        let base = reqwest::Url::parse("https://docs.test/guide/intro").unwrap();
        let links = html_links(
            r#"<a href="setup#step-2">a</a> <a href="/faq">b</a> <a href="setup">again</a>
               <a href="mailto:x@y.test">mail</a> <a rel="nofollow" href="/private">p</a>
               <a href="https://other.test/">other</a>"#,
            &base,
        );
        let links: Vec<String> = links.iter().map(ToString::to_string).collect();
        assert_eq!(
            links,
            [
                "https://docs.test/guide/setup",
                "https://docs.test/faq",
                "https://other.test/"
            ]
        );
    }

    #[test]
    fn the_page_charset_is_honoured() {
        // "été" in ISO-8859-1, named by the header or by a meta tag.
        let latin1 =
            b"<html><head><meta charset=\"iso-8859-1\"></head><body>\xe9t\xe9</body></html>";
        assert!(decode_html(latin1, None).contains("été"));
        assert!(decode_html(b"<p>\xe9t\xe9</p>", Some("ISO-8859-1")).contains("été"));
        let http_equiv =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">\x93q\x94";
        assert!(decode_html(http_equiv, None).contains("\u{201c}q\u{201d}"));
        // The header wins over the meta tag; UTF-8 otherwise.
        assert!(decode_html("<meta charset=latin1>été".as_bytes(), Some("utf-8")).contains("été"));
        assert!(decode_html("été".as_bytes(), None).contains("été"));
        assert_eq!(
            content_type_charset("text/html; charset=\"Shift_JIS\""),
            Some("Shift_JIS")
        );
        assert_eq!(content_type_charset("text/html"), None);
    }
}
