//! A deterministic synthetic corpus: made-up words with Zipf-like frequencies,
//! documents of a few hundred words, and short queries from the same vocabulary.
//! Made-up words keep the text free of licensing questions and of English
//! stopwords, so every query word is looked up in the index.

use std::collections::HashSet;

/// A xorshift64* generator: small, fast and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // xorshift never leaves zero; any other seed works.
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: usize, high: usize) -> usize {
        low + (self.next_u64() % (high - low + 1) as u64) as usize
    }
}

/// Words ranked by frequency: the word of rank r is drawn with probability
/// proportional to 1 / r^`exponent`.
pub struct Vocabulary {
    words: Vec<String>,
    /// Cumulative probabilities, ending at 1.
    cumulative: Vec<f64>,
}

const CONSONANTS: &[u8] = b"bcdfghjklmnprstvz";
const VOWELS: &[u8] = b"aeiou";

impl Vocabulary {
    pub fn new(size: usize, exponent: f64, rng: &mut Rng) -> Self {
        let mut seen = HashSet::with_capacity(size);
        let mut words = Vec::with_capacity(size);
        while words.len() < size {
            let syllables = rng.between(2, 4);
            let word: String = (0..syllables)
                .flat_map(|_| {
                    let c = CONSONANTS[rng.between(0, CONSONANTS.len() - 1)];
                    let v = VOWELS[rng.between(0, VOWELS.len() - 1)];
                    [c as char, v as char]
                })
                .collect();
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let weights: Vec<f64> = (1..=size)
            .map(|r| 1.0 / (r as f64).powf(exponent))
            .collect();
        let total: f64 = weights.iter().sum();
        let mut sum = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                sum += w / total;
                sum
            })
            .collect();
        Self { words, cumulative }
    }

    pub fn sample(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let rank = self.cumulative.partition_point(|c| *c <= u);
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// `n` words drawn independently, space-separated.
    pub fn phrase(&self, rng: &mut Rng, n: usize) -> String {
        let words: Vec<&str> = (0..n).map(|_| self.sample(rng)).collect();
        words.join(" ")
    }
}

/// A Markdown document: a title heading, then paragraphs of sentences, `words`
/// words in all.
pub fn document_text(vocabulary: &Vocabulary, rng: &mut Rng, words: usize) -> String {
    let mut text = format!("# {}\n\n", vocabulary.phrase(rng, 3));
    let mut left = words;
    while left > 0 {
        let mut paragraph = left.min(rng.between(40, 90));
        left -= paragraph;
        while paragraph > 0 {
            let sentence = paragraph.min(rng.between(6, 16));
            paragraph -= sentence;
            text.push_str(&vocabulary.phrase(rng, sentence));
            text.push_str(". ");
        }
        text.push_str("\n\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_corpus() {
        let text = |seed| {
            let mut rng = Rng::new(seed);
            let vocabulary = Vocabulary::new(500, 1.0, &mut rng);
            document_text(&vocabulary, &mut rng, 200)
        };
        assert_eq!(text(7), text(7));
        assert_ne!(text(7), text(8));
        assert_eq!(text(7).split_whitespace().count(), 200 + 4, "words + title");
    }

    #[test]
    fn frequent_ranks_are_drawn_far_more_often() {
        let mut rng = Rng::new(1);
        let vocabulary = Vocabulary::new(1000, 1.0, &mut rng);
        let top = vocabulary.words[0].clone();
        let rare = vocabulary.words[999].clone();
        let draws: Vec<String> = (0..20_000)
            .map(|_| vocabulary.sample(&mut rng).to_owned())
            .collect();
        let count = |w: &str| draws.iter().filter(|d| *d == w).count();
        // Zipf with s = 1 over 1000 words: rank 1 has p ≈ 0.134, rank 1000 ≈ 0.000134.
        assert!((2300..3100).contains(&count(&top)), "{}", count(&top));
        assert!(count(&rare) < 15, "{}", count(&rare));
    }
}
