//! HTML to Markdown text for chunking and citations, through a browser-grade HTML5
//! parser (html5ever, by way of `scraper`): every named entity, unclosed tags and
//! `>` inside quoted attributes are understood as a browser would.
//!
//! Kept: headings, paragraphs, lists (nested), links with absolute http(s) targets,
//! tables (as Markdown tables), preformatted text and inline code. Dropped: scripts,
//! styles and other non-text elements, and the page's chrome (navigation, header,
//! footer, sidebars, forms, anything hidden). When the page marks its content with
//! `<main>` (or one `<article>`), only that is kept.

mod charset;

pub use charset::{content_type_charset, decode_html};

use super::markup::markdown_table;
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
        if !rows.is_empty() {
            self.paragraph(&markdown_table(&rows));
        }
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

#[cfg(test)]
mod tests;
