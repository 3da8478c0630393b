//! Recall@k and MRR@k, overall and per kind of question, and their table.

use super::method::Method;
use super::questions::Kind;

/// Results judged per question (the passages a turn would see are fewer).
pub const K: usize = 5;

/// The 1-based rank of the first hit from a relevant document, within the top `K`.
/// Hits are chunks, so one document may fill several ranks.
pub fn first_relevant(ranked: &[String], relevant: &[String]) -> Option<usize> {
    ranked
        .iter()
        .take(K)
        .position(|id| relevant.contains(id))
        .map(|i| i + 1)
}

/// Accumulated results of one method over some questions.
#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    questions: usize,
    found: usize,
    reciprocal_ranks: f64,
}

impl Score {
    pub fn add(&mut self, rank: Option<usize>) {
        self.questions += 1;
        if let Some(rank) = rank {
            self.found += 1;
            self.reciprocal_ranks += 1.0 / rank as f64;
        }
    }

    /// The fraction of questions with a relevant document in the top `K`.
    pub fn recall(&self) -> f64 {
        self.found as f64 / self.questions.max(1) as f64
    }

    /// The mean of 1/rank of the first relevant document (0 when absent).
    pub fn mrr(&self) -> f64 {
        self.reciprocal_ranks / self.questions.max(1) as f64
    }
}

/// Scores per method: all questions, then one per [`Kind`].
pub struct Table {
    rows: Vec<(Method, [Score; 4])>,
}

impl Table {
    pub fn new() -> Self {
        Self {
            rows: Method::ALL
                .iter()
                .map(|m| (*m, [Score::default(); 4]))
                .collect(),
        }
    }

    pub fn record(&mut self, method: Method, kind: Kind, rank: Option<usize>) {
        let column = 1 + Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        if let Some((_, scores)) = self.rows.iter_mut().find(|(m, _)| *m == method) {
            scores[0].add(rank);
            scores[column].add(rank);
        }
    }

    /// The table as printed: one line per method, recall and MRR per column.
    pub fn render(&self) -> String {
        let Some((_, first)) = self.rows.first() else {
            return String::new();
        };
        let mut heads = vec![format!("all ({})", first[0].questions)];
        for (kind, score) in Kind::ALL.iter().zip(&first[1..]) {
            heads.push(format!("{} ({})", kind.label(), score.questions));
        }
        let mut out = format!("{:<26}", "");
        for head in &heads {
            out.push_str(&format!("{head:<18}"));
        }
        out.push_str(&format!("\n{:<26}", "method"));
        for _ in &heads {
            out.push_str(&format!("{:<18}", format!("R@{K}   MRR@{K}")));
        }
        for (method, scores) in &self.rows {
            out.push_str(&format!("\n{:<26}", method.label()));
            for score in scores {
                let cell = format!("{:.3} {:.3}", score.recall(), score.mrr());
                out.push_str(&format!("{cell:<18}"));
            }
        }
        out.lines()
            .map(|line| format!("{}\n", line.trim_end()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_relevant_hit_within_k_sets_the_rank() {
        let ranked = ids(&["a", "b", "a", "c", "d", "e", "f"]);
        assert_eq!(first_relevant(&ranked, &ids(&["c", "b"])), Some(2));
        assert_eq!(first_relevant(&ranked, &ids(&["d"])), Some(5));
        assert_eq!(first_relevant(&ranked, &ids(&["e"])), None, "rank 6 > K");
        assert_eq!(first_relevant(&[], &ids(&["a"])), None);
    }

    #[test]
    fn recall_and_mrr_average_over_questions() {
        let mut score = Score::default();
        for rank in [Some(1), Some(2), None, Some(4)] {
            score.add(rank);
        }
        assert!((score.recall() - 0.75).abs() < 1e-9);
        assert!((score.mrr() - (1.0 + 0.5 + 0.25) / 4.0).abs() < 1e-9);
    }

    #[test]
    fn the_table_counts_each_question_overall_and_under_its_kind() {
        let mut table = Table::new();
        table.record(Method::Lexical, Kind::Term, Some(1));
        table.record(Method::Lexical, Kind::Detail, None);
        let rendered = table.render();
        assert!(rendered.contains("all (2)"), "{rendered}");
        assert!(rendered.contains("term (1)"), "{rendered}");
        assert!(rendered.contains("paraphrase (0)"), "{rendered}");
        let lexical = rendered.lines().find(|l| l.starts_with("BM25")).unwrap();
        let figures: Vec<&str> = lexical.split_whitespace().skip(2).collect();
        // all, term, paraphrase, detail: recall then MRR.
        assert_eq!(
            figures,
            [
                "0.500", "0.500", "1.000", "1.000", "0.000", "0.000", "0.000", "0.000"
            ]
        );
    }
}
