//! Properties of the normaliser and of the rule-file parser, checked on
//! generated input (proptest):
//!
//! - the normaliser never panics on any Unicode text, every token points at a
//!   whole run of characters of the original, and normalising its own output
//!   changes nothing (idempotence), with or without a `[replace]` table;
//! - the rule parser and its expression lexer never panic on any input, and
//!   every error they give points inside the file (`line:col` within the
//!   text), an expression error inside the expression itself;
//! - sentences that only deny (`bukan demo`, `tidak ditemukan narkoba`) change
//!   no report's indicators, whatever the report says.
//!
//! Deep nesting (thousands of brackets) is left to the fuzz target `rules`,
//! which keeps such inputs under fuzz/regressions/rules/.

use std::sync::LazyLock;

use bahasa::normalize::{Normalizer, fold};
use classifier::rules::{Field, parse_expr, parse_term};
use classifier::{Error, RuleSet};
use proptest::prelude::*;

/// The normaliser with the built-in pack's `[replace]` table.
static BUILTIN: LazyLock<Normalizer> = LazyLock::new(|| {
    let set = RuleSet::builtin();
    Normalizer::new(set.replace.iter().map(|(a, b)| (a.as_str(), b.as_str())))
});

/// Text the way people write it: chat spellings, repeated letters, `2` for
/// reduplication, accents, digits, emoji, punctuation and odd Unicode, mixed.
fn chatty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z]{1,8}",
        2 => Just("yg".to_owned()),
        1 => Just("gak".to_owned()),
        1 => Just("nyabu".to_owned()),
        1 => Just("anak2".to_owned()),
        1 => Just("sabuuu".to_owned()),
        1 => Just("Ṡabu".to_owned()),
        1 => Just("résah".to_owned()),
        1 => Just("72.71".to_owned()),
        1 => "[0-9]{1,4}",
        1 => "[ \\t\\n.,!?()-]{1,3}",
        1 => "\\PC{1,3}",
        1 => any::<char>().prop_map(String::from),
        1 => Just("½ ⑴ ﬁ ǅ İ ẞ ㎏ ²".to_owned()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.join(" "))
}

/// Checks what every stream must hold, whatever the text.
fn check_stream(n: &Normalizer, text: &str) {
    let s = n.stream(text);
    assert!(s.joined.starts_with(' ') && s.joined.ends_with(' '), "{:?}", s.joined);
    assert!(!s.joined.contains("  "), "empty token in {:?}", s.joined);
    for (i, t) in s.tokens.iter().enumerate() {
        assert!(t.start < t.end && t.end <= text.len(), "token {i} {t:?} outside {text:?}");
        assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end), "token {i} {t:?} splits a char");
        let word = s.word(i);
        assert!(!word.is_empty() && !word.contains(' '), "token {i} is {word:?}");
    }
}

/// Normalising the normalised text must give it back unchanged.
fn check_idempotent(n: &Normalizer, text: &str) -> Result<(), TestCaseError> {
    let once = n.stream(text).joined;
    let twice = n.stream(&once).joined;
    prop_assert_eq!(&twice, &once, "text {:?}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normaliser_never_panics_and_tokens_point_into_the_text(text in any::<String>(), chat in chatty()) {
        for n in [&Normalizer::default(), &*BUILTIN] {
            check_stream(n, &text);
            check_stream(n, &chat);
        }
    }

    #[test]
    fn normalising_twice_gives_the_same_text_as_once(text in any::<String>(), chat in chatty()) {
        for n in [&Normalizer::default(), &*BUILTIN] {
            check_idempotent(n, &text)?;
            check_idempotent(n, &chat)?;
        }
    }

    #[test]
    fn folding_twice_gives_the_same_word_as_once(word in any::<String>(), chat in chatty()) {
        for w in [&word, &chat] {
            let once = fold(w);
            prop_assert_eq!(fold(&once), once.clone(), "word {:?}", w);
        }
    }

    /// Replacement tables come from admins' rule files: whatever they hold
    /// (chains `a → b → c`, cycles, words that are themselves abbreviations,
    /// punctuation), normalised text is normalised.
    #[test]
    fn any_replacement_table_keeps_normalising_idempotent(
        table in prop::collection::vec(("[a-d]{1,3}", "[a-d2 .-]{0,8}"), 0..8),
        text in prop::collection::vec("[a-d2]{1,4}", 0..12).prop_map(|v| v.join(" ")),
    ) {
        let n = Normalizer::new(table.iter().map(|(a, b)| (a.as_str(), b.as_str())));
        check_stream(&n, &text);
        check_idempotent(&n, &text)?;
    }
}

// ------------------------------------------------------------- rule files

/// Expression text: the operators and term forms of the rule language, and
/// their usual mistakes, in any order.
fn expression() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("("),
        Just(")"),
        Just("AND"),
        Just("OR"),
        Just("NOT"),
        Just("NEAR/3"),
        Just("NEAR/0"),
        Just("NEAR/x"),
        Just("NEAR"),
        Just("sabu"),
        Just("bentrok*"),
        Just("*bakar"),
        Just("~bakar"),
        Just("sa*bu"),
        Just("ab*"),
        Just("\"pesta sabu\""),
        Just("\"saling serang"),
        Just("title:\"sabu\""),
        Just("text:sabu"),
        Just("title:"),
        Just("\""),
        Just("'"),
        Just("é"),
        Just("🙂"),
        Just("-"),
    ];
    let gap = prop_oneof![4 => Just(" "), 1 => Just(""), 1 => Just("  "), 1 => Just("\t")];
    prop::collection::vec((token, gap), 0..16).prop_map(|v| v.into_iter().flat_map(|(t, g)| [t, g]).collect())
}

/// The byte offset in `text` of a 1-based line and column (in characters),
/// if that position exists (one past the end of a line included).
fn offset_of(text: &str, line: usize, col: usize) -> Option<usize> {
    // the lines with their start offsets; a file ending in a newline has an
    // empty last line after it
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut start = 0;
    for l in text.split('\n') {
        lines.push((start, l));
        start += l.len() + 1;
    }
    let (start, body) = *lines.get(line.checked_sub(1)?)?;
    let body = body.strip_suffix('\r').unwrap_or(body);
    if col == 0 || col > body.chars().count() + 1 {
        return None;
    }
    Some(start + body.char_indices().nth(col - 1).map_or(body.len(), |(i, _)| i))
}

/// Parses one file; every error must name it and lie within it. Returns the
/// errors as byte offsets with their messages.
fn located_errors(text: &str) -> Result<Vec<(usize, String)>, TestCaseError> {
    let errors = match RuleSet::parse(&[("p.toml", text)]) {
        Ok(_) => return Ok(Vec::new()),
        Err(Error::Rules(e)) => e,
        Err(e) => return Err(TestCaseError::fail(format!("not a rule error: {e}"))),
    };
    prop_assert!(!errors.is_empty());
    let mut out = Vec::new();
    for e in errors {
        prop_assert_eq!(&e.file, "p.toml");
        let at = offset_of(text, e.line, e.col);
        prop_assert!(at.is_some(), "{} points outside the file {:?}", e, text);
        out.push((at.unwrap_or(0), e.message));
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rule_files_never_panic_and_errors_lie_in_the_file(text in any::<String>()) {
        located_errors(&text)?;
    }

    #[test]
    fn tomlish_rule_files_never_panic_and_errors_lie_in_the_file(
        lines in prop::collection::vec(prop_oneof![
            Just("[[rule]]".to_owned()),
            Just("id = \"a\"".to_owned()),
            Just("indicator = \"narkoba\"".to_owned()),
            Just("indicator = \"Bad\"".to_owned()),
            Just("any = [\"sabu\", \"sa*bu\", \"\"]".to_owned()),
            Just("weights = { kurir = 2, \"b*c\" = 1 }".to_owned()),
            Just("threshold = 2".to_owned()),
            Just("not = [\"film\", \"~x\"]".to_owned()),
            Just("[threshold.narkoba]".to_owned()),
            Just("window = \"24h\"".to_owned()),
            Just("window = \"0s\"".to_owned()),
            Just("waspada = 3".to_owned()),
            Just("rise = { days = 0, waspada = 2.0 }".to_owned()),
            Just("[replace]".to_owned()),
            Just("yg = \"yang\"".to_owned()),
            expression().prop_map(|e| format!("match = '{}'", e.replace(['\'', '\n'], " "))),
            "\\PC{0,12}",
        ], 0..14),
    ) {
        located_errors(&lines.join("\n"))?;
    }

    /// An error in a `match` expression points inside that expression.
    #[test]
    fn expression_errors_point_into_the_expression(expr in expression()) {
        let expr = expr.replace(['\'', '\n'], " ");
        let head = "[[rule]]\nid = \"r\"\nindicator = \"narkoba\"\nmatch = '";
        let text = format!("{head}{expr}'\n");
        for (at, message) in located_errors(&text)? {
            if message.starts_with("rule `r`: ") {
                prop_assert!(
                    (head.len()..=head.len() + expr.len()).contains(&at),
                    "{:?} at byte {} is outside the expression in {:?}", message, at, text
                );
            }
        }
    }

    /// The lexer and parser on their own: no panic, and an error's offset is
    /// a character boundary within the source.
    #[test]
    fn expression_parser_never_panics(src in prop_oneof![expression(), any::<String>()]) {
        let mut intern = |raw: &str, field: Field| parse_term(raw, field, None).map(|_| vec![0]);
        if let Err((at, message)) = parse_expr(&src, &mut intern) {
            prop_assert!(at <= src.len() && src.is_char_boundary(at), "{:?} at {} in {:?}", message, at, src);
            prop_assert!(!message.is_empty());
        }
    }
}

/// Every character, not a sample: folding is idempotent, and a letter or
/// digit folds to letters and digits only (so it never splits a token).
#[test]
fn every_character_folds_once_for_all() {
    for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
        let once = fold(c.encode_utf8(&mut [0; 4]));
        assert_eq!(fold(&once), once, "{c:?} (U+{:04X})", c as u32);
        if c.is_alphanumeric() {
            assert!(once.chars().all(char::is_alphanumeric), "{c:?} (U+{:04X}) folds to {once:?}", c as u32);
        }
    }
}

/// The words of the labelled Indonesian reports, to make reports of.
static WORDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let data = [
        include_str!("data/dev.jsonl"),
        include_str!("data/heldout.jsonl"),
        include_str!("data/blind.jsonl"),
        include_str!("data/blind2.jsonl"),
    ];
    let mut words: Vec<String> = data
        .iter()
        .flat_map(|d| d.lines())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .filter(|t| t.contains(" yang ") || t.contains(" di "))
        .flat_map(|t| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    words.sort();
    words.dedup();
    words
});

static CLASSIFIER: LazyLock<classifier::Classifier> = LazyLock::new(|| classifier::Classifier::new(RuleSet::builtin()));

fn indicators(text: &str) -> Vec<String> {
    let at = time::macros::datetime!(2026-11-29 10:00 UTC);
    let report = model::Report::new(model::Channel::Web, "p", text.to_owned(), at);
    let mut ids: Vec<String> = CLASSIFIER.classify(&report, at).indicators.iter().map(|i| i.id.to_string()).collect();
    ids.sort();
    ids
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Negation is a mechanism, not a list of examples: sentences that only
    /// deny (a demonstration, drugs, provocation, a clash), and name nothing
    /// else a rule could use, add no indicator and take none away from the
    /// report they close, whatever it says, unless it denies something
    /// itself (`membantah`, `dibantah`): then "the clash is untrue" completes
    /// its denial of a clash (a CI run drew "membantah bentrok").
    #[test]
    fn sentences_that_only_deny_change_no_indicator(words in prop::collection::vec(prop::sample::select(WORDS.clone()), 1..40)) {
        prop_assume!(!words.iter().any(|w| w.to_lowercase().contains("bantah")));
        let text = words.join(" ");
        let denied = format!(
            "{text}. Itu bukan demo. Tidak ditemukan narkoba. Tidak terprovokasi. Kabar adanya bentrok tidak benar."
        );
        prop_assert_eq!(indicators(&denied), indicators(&text), "{}", denied);
    }
}
