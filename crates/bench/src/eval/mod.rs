//! `retrieval-eval`: how often each retrieval method finds the document that
//! answers a question. The corpus is ingested as a real folder source, with the
//! offline hashing embedder, so the figures need no model or network and are the
//! same on every run. With `--postgres URL` the knowledge base evaluated is
//! PostgreSQL's, in a throwaway database.

mod method;
mod metrics;
mod questions;

use crate::args::EvalArgs;
use crate::postgres::Throwaway;
use method::Method;
use metrics::{K, Table, first_relevant};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use switchboard_knowledge::source::{FileSource, Source, SourceConfig};
use switchboard_knowledge::{
    Document, Embedder, HashingEmbedder, KnowledgeBase, KnowledgeIndex, Reranker, Retriever,
};
use switchboard_store_postgres::Fusion;

/// The source name, so document ids are `corpus/<file name>`.
const SOURCE: &str = "corpus";

pub async fn run(args: &EvalArgs) -> Result<(), String> {
    let questions = questions::load(&args.questions)?;
    let documents = read_corpus(&args.corpus).await?;
    let ids: BTreeSet<String> = documents.iter().map(|d| d.id.clone()).collect();
    questions::check(&questions, &ids)?;

    let embedder: Arc<dyn Embedder> = Arc::new(HashingEmbedder::default());
    if args.sqlite {
        let scratch = crate::sqlite::Scratch::create()?;
        println!("on SQLite: \"BM25\" below is FTS5's bm25()");
        let base = scratch.knowledge(embedder).await?;
        return evaluate(args, base, documents, &questions).await;
    }
    let Some(server) = &args.postgres else {
        let index = Arc::new(KnowledgeIndex::new(embedder));
        return evaluate(args, index, documents, &questions).await;
    };
    let database = Throwaway::create(server).await?;
    println!("on PostgreSQL: \"BM25\" below is ts_rank, PostgreSQL's full-text rank");
    let outcome = match database.knowledge(embedder, Fusion::Score).await {
        Ok(base) => evaluate(args, base, documents, &questions).await,
        Err(e) => Err(e),
    };
    database.drop().await?;
    outcome
}

/// Ingests `documents` into `base` and scores every method on `questions`.
async fn evaluate(
    args: &EvalArgs,
    base: Arc<dyn KnowledgeBase>,
    documents: Vec<Document>,
    questions: &[questions::Question],
) -> Result<(), String> {
    let start = Instant::now();
    let report = base
        .ingest_source(SOURCE, documents)
        .await
        .map_err(|e| format!("cannot ingest {}: {e}", args.corpus.display()))?;
    let signature = base.signature().await.map_err(|e| e.to_string())?;
    println!(
        "retrieval eval: {} documents, {} chunks (ingested in {:.2} s, {}), {} questions",
        base.document_count().await.map_err(|e| e.to_string())?,
        report.chunks,
        start.elapsed().as_secs_f64(),
        signature.map_or_else(|| "no vectors".into(), |s| s.to_string()),
        questions.len(),
    );

    let retriever = Retriever::new(base, Some(Reranker::Lexical));
    let mut table = Table::new();
    let mut misses = Vec::new();
    for question in questions {
        let mut missed_by = Vec::new();
        for method in Method::ALL {
            let ranked = method.ranked(&retriever, &question.question).await;
            let rank = first_relevant(&ranked, &question.relevant);
            table.record(method, question.kind, rank);
            if rank.is_none() {
                missed_by.push(method.label());
            }
        }
        if !missed_by.is_empty() {
            misses.push((question, missed_by));
        }
    }
    println!(
        "recall@{K}: share of questions with a relevant document in the top {K} hits; \
         MRR@{K}: mean 1/rank of the first one (0 when absent)\n"
    );
    print!("{}", table.render());
    if args.misses {
        println!("\nmissed (not in the top {K}):");
        for (question, methods) in misses {
            println!(
                "  [{}] {} -> {}\n      by: {}",
                question.kind.label(),
                question.question,
                question.relevant.join(", "),
                methods.join(", ")
            );
        }
    }
    Ok(())
}

/// The corpus folder's documents, read exactly as a configured folder source is.
async fn read_corpus(dir: &Path) -> Result<Vec<Document>, String> {
    let source = FileSource::new(SourceConfig {
        name: Some(SOURCE.into()),
        path: Some(dir.display().to_string()),
        url: None,
        crawl: None,
        github: None,
        org: None,
        acl: Default::default(),
        sets: Vec::new(),
        refresh_secs: None,
    })
    .map_err(|e| format!("{e} (run from the repository root or pass --corpus)"))?;
    let documents = source.fetch().await.map_err(|e| e.to_string())?;
    if documents.is_empty() {
        return Err(format!("{} holds no documents", dir.display()));
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn repo_eval() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../eval/retrieval")
    }

    /// The committed question set labels only documents of the committed corpus,
    /// under the ids a folder source gives them.
    #[tokio::test]
    async fn every_labelled_document_is_in_the_corpus() {
        let questions = questions::load(&repo_eval().join("questions.json")).unwrap();
        let documents = read_corpus(&repo_eval().join("corpus")).await.unwrap();
        let ids: BTreeSet<String> = documents.iter().map(|d| d.id.clone()).collect();
        questions::check(&questions, &ids).unwrap();
        assert!(questions.len() >= 120, "{} questions", questions.len());
        assert!(ids.contains("corpus/bogo-sort.md"), "ids are corpus/<file>");
    }
}
