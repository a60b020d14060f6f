//! Prints every term of the built-in pack as a literal, one per line (its
//! folded words joined by a space), for the peers in bench/peers: ripgrep
//! and Hyperscan get the same terms the classifier matches.
fn main() {
    let pack = classifier::rules::RuleSet::builtin();
    let mut seen = std::collections::BTreeSet::new();
    for term in &pack.terms {
        let words: Vec<&str> = term.words.iter().map(|w| w.text.as_str()).collect();
        let literal = words.join(" ");
        if !literal.is_empty() && seen.insert(literal.clone()) {
            println!("{literal}");
        }
    }
}
