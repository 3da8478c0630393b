//! A folder (walked recursively) or a single file on local disk.

use super::{Source, SourceConfig, SourceError, html_to_text, office, stamp};
use crate::Document;
use async_trait::async_trait;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Text files larger than this are skipped: they are rarely prose.
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// PDF and Word files larger than this are skipped.
const MAX_DOCUMENT_BYTES: u64 = 20 * 1024 * 1024;

/// Extensions picked up when walking a folder (compared lowercased).
const EXTENSIONS: [&str; 9] = [
    "md", "markdown", "mdx", "txt", "text", "html", "htm", "pdf", "docx",
];

/// Extensions of documents that are not text: converted to text when read.
const CONVERTED: [&str; 2] = ["pdf", "docx"];

/// Folder names never walked into (besides every hidden entry).
const SKIPPED_DIRS: [&str; 2] = ["node_modules", "target"];

/// Documents read from a folder or a single file.
///
/// Nothing outside the folder is read: every file found is resolved (links
/// followed) and skipped when it lands outside the folder or is not a regular
/// file (a FIFO, a device, a socket), so a link placed in the folder cannot
/// expose other files or the server's environment.
#[derive(Debug)]
pub struct FileSource {
    config: SourceConfig,
    key: String,
    /// The configured path with every link resolved.
    root: PathBuf,
}

impl FileSource {
    /// Fails when the configuration has no `path` or the path does not exist, so
    /// a mistyped path stops start-up instead of silently indexing nothing.
    pub fn new(config: SourceConfig) -> Result<Self, SourceError> {
        let path = config
            .path
            .clone()
            .ok_or_else(|| SourceError::Config("a file source needs a 'path'".into()))?;
        let root = std::fs::canonicalize(&path).map_err(|err| {
            SourceError::Config(format!("source path {path} cannot be read: {err}"))
        })?;
        let key = config.name.clone().unwrap_or(path);
        Ok(Self { config, key, root })
    }
}

#[async_trait]
impl Source for FileSource {
    fn key(&self) -> &str {
        &self.key
    }

    async fn fetch(&self) -> Result<Vec<Document>, SourceError> {
        let root = self.root.clone();
        let files = tokio::task::spawn_blocking(move || read_files(&root))
            .await
            .map_err(|err| io_error(&self.root, err))??;
        let documents = files
            .into_iter()
            .filter_map(|file| {
                let (title, content) = convert(&file.relative_or_name, file.text);
                if content.trim().is_empty() {
                    return None;
                }
                let id = if file.relative.is_empty() {
                    self.key.clone()
                } else {
                    format!("{}/{}", self.key.trim_end_matches('/'), file.relative)
                };
                let document = Document {
                    id,
                    source: file.relative_or_name,
                    title,
                    url: None,
                    content,
                    org: None,
                    acl: Default::default(),
                    sets: Vec::new(),
                };
                Some(stamp(document, &self.config))
            })
            .collect();
        Ok(documents)
    }
}

/// A file's text, read from disk.
struct TextFile {
    /// The path relative to the source folder, `/`-separated; empty for a single file.
    relative: String,
    /// `relative`, or the file name for a single file.
    relative_or_name: String,
    text: String,
}

/// Reads a single file, or every matching file under a folder in path order.
/// `root` is canonical (no links left in it).
fn read_files(root: &Path) -> Result<Vec<TextFile>, SourceError> {
    let metadata = std::fs::metadata(root).map_err(|err| io_error(root, err))?;
    if !metadata.is_dir() {
        if !metadata.is_file() {
            return Err(io_error(root, "not a regular file"));
        }
        let name = root.file_name().map_or_else(
            || root.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        return Ok(read_text(root)?
            .map(|text| TextFile {
                relative: String::new(),
                relative_or_name: name,
                text,
            })
            .into_iter()
            .collect());
    }
    let mut paths = Vec::new();
    walk(root, Path::new(""), &mut paths)?;
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for (relative, resolved) in paths {
        if let Some(text) = read_text(&resolved)? {
            let relative = slash_path(&relative);
            files.push(TextFile {
                relative_or_name: relative.clone(),
                relative,
                text,
            });
        }
    }
    Ok(files)
}

/// Collects `(relative path, resolved path)` of the indexable files under
/// `root/relative`. Links to folders are not walked (they could form cycles).
fn walk(
    root: &Path,
    relative: &Path,
    found: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), SourceError> {
    let dir = root.join(relative);
    let entries = std::fs::read_dir(&dir).map_err(|err| io_error(&dir, err))?;
    for entry in entries {
        let entry = entry.map_err(|err| io_error(&dir, err))?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str.starts_with('.') || SKIPPED_DIRS.contains(&name_str.as_ref()) {
            continue;
        }
        let path = relative.join(&name);
        let file_type = entry
            .file_type()
            .map_err(|err| io_error(&entry.path(), err))?;
        if file_type.is_dir() {
            walk(root, &path, found)?;
        } else if has_indexed_extension(&path)
            && let Some(resolved) = resolve_inside(root, &entry.path())
        {
            found.push((path, resolved));
        }
    }
    Ok(())
}

fn has_indexed_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// `path` with its links resolved, when that is a regular file inside `root`;
/// otherwise `None`, logged (a dangling link or a file deleted meanwhile quietly).
fn resolve_inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let resolved = match std::fs::canonicalize(path) {
        Ok(resolved) => resolved,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return None,
        Err(err) => {
            tracing::warn!(path = %path.display(), %err, "skipping a file that cannot be resolved");
            return None;
        }
    };
    if !resolved.starts_with(root) {
        tracing::warn!(
            path = %path.display(),
            root = %root.display(),
            "skipping a link to a file outside the source's folder"
        );
        return None;
    }
    match std::fs::metadata(&resolved) {
        Ok(metadata) if metadata.is_file() => Some(resolved),
        Ok(_) => {
            tracing::warn!(path = %path.display(), "skipping what is not a regular file");
            None
        }
        Err(_) => None,
    }
}

/// A regular file's text, or `None` (with a warning) when it is too large, not
/// UTF-8, or no longer a regular file. A file deleted since the folder was listed
/// is simply absent. The file is opened without following a link in its last
/// part and without waiting on a FIFO, so a file swapped for either after it was
/// resolved is not read; at most `MAX_FILE_BYTES + 1` bytes are read.
fn read_text(path: &Path) -> Result<Option<String>, SourceError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let converted = CONVERTED.contains(&extension.as_str());
    let limit = if converted {
        MAX_DOCUMENT_BYTES
    } else {
        MAX_FILE_BYTES
    };
    let file = match open_no_follow(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error(path, err)),
    };
    let metadata = file.metadata().map_err(|err| io_error(path, err))?;
    if !metadata.is_file() {
        tracing::warn!(path = %path.display(), "skipping what is not a regular file");
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| io_error(path, err))?;
    if bytes.len() as u64 > limit {
        tracing::warn!(path = %path.display(), "skipping a file over {} MiB", limit >> 20);
        return Ok(None);
    }
    if converted {
        let text = match extension.as_str() {
            "pdf" => office::pdf_to_text(&bytes),
            _ => office::docx_to_text(&bytes).map(|(title, text)| match title {
                // The title in the document's properties leads, as a Markdown
                // title would (it names the citation).
                Some(title) if text.lines().next() != Some(&format!("# {title}")) => {
                    format!("# {title}\n\n{text}")
                }
                _ => text,
            }),
        };
        return match text {
            Ok(text) => Ok(Some(text)),
            Err(reason) => {
                tracing::warn!(path = %path.display(), %reason, "skipping a document that cannot be read");
                Ok(None)
            }
        };
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(_) => {
            tracing::warn!(path = %path.display(), "skipping a file that is not UTF-8 text");
            Ok(None)
        }
    }
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// The title and text of a file, by the extension of its `/`-separated path.
pub(super) fn convert(path: &str, text: String) -> (Option<String>, String) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => html_to_text(&text),
        // Converted to Markdown when read (`read_text`).
        "md" | "markdown" | "mdx" | "pdf" | "docx" => (markdown_title(&text), text),
        _ => (None, text),
    }
}

/// The text of a Markdown document's first level-one heading (outside code
/// fences), if any.
pub(super) fn markdown_title(markdown: &str) -> Option<String> {
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let line = line.trim_start();
        if let Some(open) = fence {
            if line.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if line.starts_with("```") {
            fence = Some("```");
        } else if line.starts_with("~~~") {
            fence = Some("~~~");
        } else if let Some(heading) = line.strip_prefix("# ") {
            let heading = heading.trim().trim_end_matches('#').trim_end();
            if !heading.is_empty() {
                return Some(heading.to_string());
            }
        }
    }
    None
}

/// A relative path with `/` separators, whatever the platform.
fn slash_path(path: &Path) -> String {
    path.components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn io_error(path: &Path, err: impl std::fmt::Display) -> SourceError {
    SourceError::Io {
        path: path.display().to_string(),
        reason: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_title_is_the_first_level_one_heading() {
        assert_eq!(
            markdown_title("intro\n## Sub\n# Main #\n# Second").as_deref(),
            Some("Main")
        );
        assert_eq!(
            markdown_title("```sh\n# a comment\n```\n# Real").as_deref(),
            Some("Real")
        );
        assert_eq!(markdown_title("~~~\n# in fence\n"), None);
        assert_eq!(markdown_title("#hashtag\n##  \ntext"), None);
    }

    #[test]
    fn extensions_are_case_insensitive() {
        assert!(has_indexed_extension(Path::new("a/B.MD")));
        assert!(has_indexed_extension(Path::new("notes.Text")));
        assert!(!has_indexed_extension(Path::new("image.png")));
        assert!(!has_indexed_extension(Path::new("README")));
    }
}
