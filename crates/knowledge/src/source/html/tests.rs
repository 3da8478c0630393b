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
    let (_, text) = html_to_text("<body><div>Cookie banner</div><article>Story</article></body>");
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
    let latin1 = b"<html><head><meta charset=\"iso-8859-1\"></head><body>\xe9t\xe9</body></html>";
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
