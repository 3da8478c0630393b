//! Splits a response body into server-sent events' `data`, in linear time and
//! bounded memory: a line longer than [`MAX_LINE_BYTES`] or an event larger than
//! [`MAX_EVENT_BYTES`] ends the stream with an error instead of growing a buffer
//! (and re-scanning it) for as long as a gateway keeps sending.

use super::LlmError;

/// The longest line kept. An OpenAI-style chunk is a few hundred bytes; a whole
/// tool call's arguments in one chunk stay far below this.
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;
/// The most `data` one event may carry (several `data:` lines joined).
pub(crate) const MAX_EVENT_BYTES: usize = 4 << 20;

const BOM: &[u8] = "\u{feff}".as_bytes();

/// The decoder's state between two pieces of the body.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    /// The current line so far (no line ending yet).
    line: Vec<u8>,
    /// The `data` of the event being assembled, lines joined with `\n`.
    data: String,
    has_data: bool,
    /// The last line ended with `\r`: a `\n` right after it belongs to that ending.
    after_cr: bool,
    /// A line has been completed (the byte-order mark is only allowed before).
    past_first_line: bool,
}

impl SseDecoder {
    /// Consumes the next piece of the body; returns the `data` of each event it
    /// completed, in order.
    pub(crate) fn push(&mut self, mut bytes: &[u8]) -> Result<Vec<String>, LlmError> {
        let mut events = Vec::new();
        while !bytes.is_empty() {
            if std::mem::take(&mut self.after_cr) && bytes[0] == b'\n' {
                bytes = &bytes[1..];
                continue;
            }
            // Only the new bytes are searched: each byte is looked at once.
            match bytes.iter().position(|b| matches!(b, b'\n' | b'\r')) {
                Some(end) => {
                    self.extend_line(&bytes[..end])?;
                    self.after_cr = bytes[end] == b'\r';
                    bytes = &bytes[end + 1..];
                    let line = std::mem::take(&mut self.line);
                    self.complete_line(&line, &mut events)?;
                }
                None => {
                    self.extend_line(bytes)?;
                    break;
                }
            }
        }
        Ok(events)
    }

    /// The body ended: a last line without its ending, and an event without its
    /// blank line, still count (some servers close right after `data: [DONE]`).
    pub(crate) fn finish(&mut self) -> Result<Vec<String>, LlmError> {
        let mut events = Vec::new();
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.complete_line(&line, &mut events)?;
        }
        self.complete_line(b"", &mut events)?;
        Ok(events)
    }

    /// Bytes held for lines and events not yet complete.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.line.len() + self.data.len()
    }

    fn extend_line(&mut self, part: &[u8]) -> Result<(), LlmError> {
        if self.line.len() + part.len() > MAX_LINE_BYTES {
            self.line = Vec::new();
            return Err(LlmError::Protocol(format!(
                "a line of the stream is longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        self.line.extend_from_slice(part);
        Ok(())
    }

    fn complete_line(&mut self, line: &[u8], events: &mut Vec<String>) -> Result<(), LlmError> {
        let line = match std::mem::replace(&mut self.past_first_line, true) {
            false => line.strip_prefix(BOM).unwrap_or(line),
            true => line,
        };
        if line.is_empty() {
            if std::mem::take(&mut self.has_data) {
                events.push(std::mem::take(&mut self.data));
            }
            return Ok(());
        }
        let (field, value) = match line.iter().position(|b| *b == b':') {
            // A comment, such as a `: ping` keep-alive.
            Some(0) => return Ok(()),
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        // `event`, `id` and `retry` mean nothing to a chat completion.
        if field != b"data" {
            return Ok(());
        }
        let value = std::str::from_utf8(value)
            .map_err(|_| LlmError::Protocol("a data line of the stream is not UTF-8".into()))?;
        if self.data.len() + value.len() + 1 > MAX_EVENT_BYTES {
            self.data = String::new();
            return Err(LlmError::Protocol(format!(
                "an event of the stream is larger than {MAX_EVENT_BYTES} bytes"
            )));
        }
        if std::mem::replace(&mut self.has_data, true) {
            self.data.push('\n');
        }
        self.data.push_str(value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn whole(input: &[u8]) -> Result<Vec<String>, LlmError> {
        let mut decoder = SseDecoder::default();
        let mut events = decoder.push(input)?;
        events.extend(decoder.finish()?);
        Ok(events)
    }

    fn in_pieces(input: &[u8], cuts: &[usize]) -> Result<Vec<String>, LlmError> {
        let mut decoder = SseDecoder::default();
        let mut events = Vec::new();
        let mut start = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        for cut in cuts.into_iter().chain([input.len()]) {
            events.extend(decoder.push(&input[start..cut])?);
            start = cut;
        }
        events.extend(decoder.finish()?);
        Ok(events)
    }

    #[test]
    fn events_comments_fields_and_line_endings() {
        let input = "\u{feff}: keep-alive\r\ndata: {\"a\":1}\r\n\r\nevent: x\nid: 7\ndata:two\ndata: lines\n\ndata\n\nretry: 5\r\rdata: last";
        assert_eq!(
            whole(input.as_bytes()).unwrap(),
            vec!["{\"a\":1}", "two\nlines", "", "last"]
        );
    }

    #[test]
    fn a_carriage_return_split_from_its_line_feed_ends_one_line() {
        let mut decoder = SseDecoder::default();
        assert_eq!(decoder.push(b"data: a\r").unwrap(), Vec::<String>::new());
        assert_eq!(decoder.push(b"\n\r\n").unwrap(), vec!["a"]);
    }

    #[test]
    fn a_40_mib_line_is_refused_after_at_most_the_limit_is_buffered() {
        let mut decoder = SseDecoder::default();
        let piece = vec![b'x'; 64 * 1024];
        let mut refused = None;
        assert!(decoder.push(b"data: ").is_ok());
        for i in 0..(40 * 16) {
            match decoder.push(&piece) {
                Ok(events) => assert!(events.is_empty()),
                Err(e) => {
                    refused = Some((i, e));
                    break;
                }
            }
            assert!(
                decoder.buffered() <= MAX_LINE_BYTES,
                "{}",
                decoder.buffered()
            );
        }
        let (at, error) = refused.expect("the line was refused");
        assert!(
            at <= MAX_LINE_BYTES / piece.len(),
            "refused only at piece {at}"
        );
        assert!(
            matches!(&error, LlmError::Protocol(m) if m.contains("longer than")),
            "{error:?}"
        );
    }

    #[test]
    fn an_event_of_many_short_lines_is_capped_too() {
        let mut decoder = SseDecoder::default();
        let line = format!("data: {}\n", "y".repeat(1000));
        let mut refused = false;
        for _ in 0..(MAX_EVENT_BYTES / 1000 + 10) {
            if decoder.push(line.as_bytes()).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused);
        assert!(decoder.buffered() <= MAX_EVENT_BYTES + MAX_LINE_BYTES);
    }

    /// Text with multi-byte characters, comments, CR/LF variants and blank lines.
    fn sse_text() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            "data: [a-zé€😀{}\":,]{0,40}",
            Just(": ping".to_owned()),
            Just(String::new()),
            "event: [a-z]{1,8}",
            "data:[ é😀]{0,5}",
        ];
        let ending = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
        proptest::collection::vec((line, ending), 0..30).prop_map(|lines| {
            lines
                .into_iter()
                .map(|(line, end)| format!("{line}{end}"))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn any_cuts_give_the_events_of_the_whole_input(
            text in sse_text(),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            // Cuts fall anywhere, including inside a multi-byte character or
            // between a CR and its LF.
            prop_assert_eq!(in_pieces(text.as_bytes(), &cuts), whole(text.as_bytes()));
        }

        #[test]
        fn split_utf8_is_reassembled_exactly(
            text in "[a-zé€😀 ]{1,60}",
            cut in any::<usize>(),
        ) {
            let input = format!("data: {text}\n\n");
            let events = in_pieces(input.as_bytes(), &[cut]).unwrap();
            prop_assert_eq!(events, vec![text]);
        }
    }

    proptest! {
        // Each case builds a line over a mebibyte: fewer cases.
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn a_long_line_is_refused_however_it_is_cut(
            extra in 1usize..4096,
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let input = format!("data: {}\n\n", "z".repeat(MAX_LINE_BYTES + extra));
            let result = in_pieces(input.as_bytes(), &cuts);
            prop_assert!(
                matches!(&result, Err(LlmError::Protocol(m)) if m.contains("longer than")),
                "{:?}", result.map(|e| e.len())
            );
        }
    }
}
