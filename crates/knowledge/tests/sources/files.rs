//! `FileSource` against real temp folders.

use super::helpers::{TempDir, config};
use serde_json::json;
use switchboard_knowledge::Acl;
use switchboard_knowledge::source::{FileSource, Source, SourceError};

const PAGE: &str = "<html><head><title>The Page</title><style>p{}</style></head>\
    <body><h1>Hello</h1><p>World &amp; all</p></body></html>";

/// A folder holding what a real documentation folder holds, wanted or not.
fn documentation_folder() -> TempDir {
    let dir = TempDir::new("files");
    dir.write(
        "docs/guide.md",
        "Intro line\n\n# Guide\n\nHow to return items.",
    );
    dir.write("docs/nested/deep.txt", "Deep text.");
    dir.write("NOTES.TXT", "Upper-case extension.");
    dir.write("page.html", PAGE);
    dir.write("binary.txt", [0xff, 0xfe, 0x00, 0x80, 0xc3]);
    dir.write("image.png", [0x89, b'P', b'N', b'G']);
    dir.write("code.rs", "fn main() {}");
    dir.write("README", "no extension");
    dir.write("blank.md", "  \n\n ");
    dir.write("big.md", "a".repeat(2 * 1024 * 1024 + 1));
    dir.write(".hidden.md", "secret");
    dir.write(".git/notes.md", "secret");
    dir.write(".drafts/plan.md", "secret");
    dir.write("node_modules/pkg/readme.md", "secret");
    dir.write("target/doc.md", "secret");
    dir
}

#[tokio::test]
async fn a_folder_yields_its_text_files_in_path_order() {
    super::helpers::init();
    let dir = documentation_folder();
    let source = FileSource::new(config(json!({"name": "kb", "path": dir.path_str()}))).unwrap();
    assert_eq!(source.key(), "kb");

    let documents = source.fetch().await.unwrap();

    let summary: Vec<_> = documents
        .iter()
        .map(|d| (d.id.as_str(), d.source.as_str(), d.title.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("kb/NOTES.TXT", "NOTES.TXT", None),
            ("kb/docs/guide.md", "docs/guide.md", Some("Guide")),
            ("kb/docs/nested/deep.txt", "docs/nested/deep.txt", None),
            ("kb/page.html", "page.html", Some("The Page")),
        ]
    );
    assert_eq!(
        documents[1].content,
        "Intro line\n\n# Guide\n\nHow to return items."
    );
    assert_eq!(documents[3].content, "# Hello\n\nWorld & all");
    for document in &documents {
        assert_eq!(document.url, None);
        assert!(!document.content.contains("secret"), "{}", document.id);
    }
}

#[tokio::test]
async fn a_deleted_file_is_gone_on_the_next_fetch() {
    super::helpers::init();
    let dir = TempDir::new("refetch");
    dir.write("a.md", "first");
    dir.write("b.md", "second");
    let source = FileSource::new(config(json!({"path": dir.path_str()}))).unwrap();
    assert_eq!(source.key(), dir.path_str());
    let ids = |docs: Vec<switchboard_knowledge::Document>| -> Vec<String> {
        docs.into_iter().map(|d| d.id).collect()
    };
    let key = dir.path_str();
    assert_eq!(
        ids(source.fetch().await.unwrap()),
        [format!("{key}/a.md"), format!("{key}/b.md")]
    );

    dir.remove("a.md");
    dir.write("c.txt", "third");

    assert_eq!(
        ids(source.fetch().await.unwrap()),
        [format!("{key}/b.md"), format!("{key}/c.txt")]
    );
}

#[tokio::test]
async fn a_single_file_is_read_whatever_its_extension() {
    super::helpers::init();
    let dir = TempDir::new("single");
    let path = dir.write("handbook.rst", "Handbook\n========\n\nRules.");
    let path = path.to_str().unwrap();
    let source = FileSource::new(config(json!({"path": path}))).unwrap();

    let documents = source.fetch().await.unwrap();

    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0].id, path);
    assert_eq!(documents[0].source, "handbook.rst");
    assert_eq!(documents[0].title, None);
    assert_eq!(documents[0].content, "Handbook\n========\n\nRules.");
}

#[tokio::test]
async fn a_missing_path_fails_at_start_up() {
    super::helpers::init();
    let dir = TempDir::new("missing");
    let missing = dir.join("nowhere");
    let err = FileSource::new(config(json!({"path": missing.to_str().unwrap()}))).unwrap_err();
    assert!(
        matches!(&err, SourceError::Config(message) if message.contains("nowhere")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_folder_removed_after_start_up_is_an_io_error() {
    super::helpers::init();
    let dir = TempDir::new("vanishing");
    dir.write("a.md", "text");
    let source = FileSource::new(config(json!({"path": dir.path_str()}))).unwrap();
    std::fs::remove_dir_all(&dir.path).unwrap();

    let err = source.fetch().await.unwrap_err();

    assert!(matches!(err, SourceError::Io { .. }), "{err:?}");
}

#[tokio::test]
async fn documents_carry_the_source_org_acl_and_sets() {
    super::helpers::init();
    let dir = TempDir::new("stamp");
    dir.write("policy.md", "# Policy\n\nInternal.");
    let source = FileSource::new(config(json!({
        "path": dir.path_str(),
        "org": "acme",
        "acl": {"visibility": "restricted", "users": ["ann"], "groups": ["hr"]},
        "sets": ["policies", "internal"],
    })))
    .unwrap();

    let documents = source.fetch().await.unwrap();

    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0].org.as_deref(), Some("acme"));
    assert_eq!(
        documents[0].acl,
        Acl::Restricted {
            users: vec!["ann".into()],
            groups: vec!["hr".into()]
        }
    );
    assert_eq!(documents[0].sets, ["policies", "internal"]);
}

#[tokio::test]
async fn build_picks_the_source_kind_from_the_configuration() {
    let http = super::helpers::http();
    let dir = TempDir::new("build");
    dir.write("a.md", "text");

    let source = config(json!({"path": dir.path_str(), "name": "docs"}))
        .build(http.clone())
        .unwrap();
    assert_eq!(source.key(), "docs");
    assert_eq!(source.fetch().await.unwrap()[0].id, "docs/a.md");

    let both = config(json!({"path": dir.path_str(), "url": "https://example.com"}));
    assert!(matches!(both.build(http), Err(SourceError::Config(_))));
}

/// Makes a FIFO at `path` (nothing ever writes to it: reading it would wait forever).
fn fifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

#[tokio::test]
async fn links_out_of_the_folder_and_special_files_are_never_read() {
    super::helpers::init();
    let outside = TempDir::new("outside");
    let secret = outside.write("secret.md", "OUTSIDE-SECRET payroll figures");
    let dir = TempDir::new("links");
    dir.write("kept.md", "Kept inside.");
    dir.write("sub/inner.md", "Inner text.");
    std::os::unix::fs::symlink(&secret, dir.join("link.md")).unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", dir.join("environ.txt")).unwrap();
    std::os::unix::fs::symlink(&outside.path, dir.join("outdir")).unwrap();
    std::os::unix::fs::symlink(dir.join("sub/inner.md"), dir.join("alias.md")).unwrap();
    fifo(&dir.join("pipe.md"));
    let source = FileSource::new(config(json!({"name": "kb", "path": dir.path_str()}))).unwrap();

    let documents = tokio::time::timeout(std::time::Duration::from_secs(60), source.fetch())
        .await
        .expect("a FIFO is never waited on")
        .unwrap();

    let ids: Vec<&str> = documents.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        ["kb/alias.md", "kb/kept.md", "kb/sub/inner.md"],
        "a link inside the folder is followed"
    );
    for document in &documents {
        assert!(
            !document.content.contains("OUTSIDE-SECRET"),
            "{}",
            document.id
        );
        assert!(!document.content.contains("PATH="), "{}", document.id);
    }
}

#[tokio::test]
async fn a_named_file_that_is_not_a_regular_file_is_an_error_naming_it() {
    super::helpers::init();
    let dir = TempDir::new("named-fifo");
    let pipe = dir.join("pipe.md");
    fifo(&pipe);
    let source = FileSource::new(config(json!({"path": pipe.to_str().unwrap()}))).unwrap();

    let err = tokio::time::timeout(std::time::Duration::from_secs(60), source.fetch())
        .await
        .expect("a FIFO is never waited on")
        .unwrap_err();

    assert!(
        matches!(&err, SourceError::Io { path, reason } if path.ends_with("pipe.md") && reason == "not a regular file"),
        "{err:?}"
    );
}

/// A Python with `fpdf2` and `python-docx`, in a virtual environment under the
/// user's cache, made once.
fn python_with_writers() -> std::path::PathBuf {
    let venv = std::path::Path::new(&std::env::var("HOME").unwrap())
        .join(".cache/switchboard-test-python");
    let python = venv.join("bin/python");
    let ready = |python: &std::path::Path| {
        std::process::Command::new(python)
            .args(["-c", "import fpdf, docx"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ready(&python) {
        let status = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(status.success(), "python3 -m venv");
        let status = std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "fpdf2", "python-docx"])
            .status()
            .unwrap();
        assert!(status.success(), "pip install fpdf2 python-docx");
    }
    python
}

#[tokio::test]
async fn pdf_and_word_files_made_by_their_writers_are_ingested_as_text() {
    super::helpers::init();
    let dir = TempDir::new("office");
    let python = python_with_writers();
    let script = r#"
import sys
from fpdf import FPDF
from docx import Document
folder = sys.argv[1]
pdf = FPDF()
pdf.add_page()
pdf.set_font("Helvetica", size=14)
pdf.cell(text="Warranty terms")
pdf.ln(12)
pdf.multi_cell(w=0, text="Every kettle carries a warranty of 29 months from delivery.")
pdf.output(folder + "/warranty.pdf")
doc = Document()
doc.core_properties.title = "Shipping guide"
doc.add_heading("Shipping", level=1)
doc.add_paragraph("Parcels to Norway take 6 working days.")
doc.add_paragraph("Tracked", style="List Bullet")
doc.add_paragraph("Insured", style="List Bullet")
table = doc.add_table(rows=2, cols=2)
table.cell(0, 0).text = "Zone"
table.cell(0, 1).text = "Days"
table.cell(1, 0).text = "Nordics"
table.cell(1, 1).text = "6"
doc.save(folder + "/shipping.docx")
"#;
    let out = std::process::Command::new(&python)
        .args(["-c", script, dir.path_str()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    dir.write("broken.pdf", b"%PDF-1.7\nnot really");

    let source = FileSource::new(config(json!({"name": "kb", "path": dir.path_str()}))).unwrap();
    let documents = source.fetch().await.unwrap();
    let ids: Vec<&str> = documents.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        ["kb/shipping.docx", "kb/warranty.pdf"],
        "the broken PDF is skipped"
    );
    let word = &documents[0];
    assert_eq!(word.title.as_deref(), Some("Shipping guide"));
    assert!(
        word.content.contains("# Shipping")
            && word
                .content
                .contains("Parcels to Norway take 6 working days.")
            && word.content.contains("- Tracked\n- Insured")
            && word.content.contains("| Nordics | 6 |"),
        "{}",
        word.content
    );
    let pdf = &documents[1];
    assert!(
        pdf.content.contains("warranty of 29 months"),
        "{}",
        pdf.content
    );
}
