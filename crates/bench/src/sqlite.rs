//! A throwaway SQLite file for the knowledge benchmarks: a folder of its own under
//! the system's temporary folder, removed when dropped.

use std::path::PathBuf;
use std::sync::Arc;
use switchboard_knowledge::Embedder;
use switchboard_store_sqlite::knowledge::open_pool;
use switchboard_store_sqlite::{KnowledgeOptions, SqliteKnowledge};

pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn create() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-bench-sqlite-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self { dir })
    }

    fn file(&self) -> PathBuf {
        self.dir.join("switchboard.db")
    }

    /// The knowledge base in this file.
    pub async fn knowledge(
        &self,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Arc<SqliteKnowledge>, String> {
        let pool = open_pool(&self.file()).await.map_err(|e| e.to_string())?;
        let knowledge = SqliteKnowledge::connect(pool, embedder, KnowledgeOptions::default());
        Ok(Arc::new(knowledge.await.map_err(|e| e.to_string())?))
    }

    /// The file's size with its write-ahead log, as printed.
    pub fn size(&self) -> String {
        let bytes: u64 = ["switchboard.db", "switchboard.db-wal"]
            .iter()
            .filter_map(|name| std::fs::metadata(self.dir.join(name)).ok())
            .map(|m| m.len())
            .sum();
        format!("{:.0} MB", bytes as f64 / 1e6)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
