//! The affixed forms of an Indonesian root, for `~root` terms: the engine
//! matches them as plain words, so no stemming is done per report.
//!
//! Prefixes with their nasal changes (meN-, peN-: `bakar` → membakar,
//! pembakaran; `tangkap` → menangkap; `serang` → menyerang; `kirim` →
//! mengirim; `bom` → mengebom), di-, ter-, ber-, ke-, se-, per-, memper-,
//! diper-, with the suffixes -an, -kan, -i, -nya and their combinations, and
//! the colloquial forms of chats (nge-, nyerang, dibubarin).
//! Some forms made this way are not words; they simply never occur.

/// The prefixes of meN- and peN- for `root`: `(prefix, letters of the root dropped)`.
fn nasal(root: &str) -> Vec<(&'static str, usize)> {
    let vowels = |c: char| "aiueo".contains(c);
    let first = root.chars().next().unwrap_or('a');
    let syllables = root.chars().filter(|c| vowels(*c)).count();
    let mut out = match first {
        c if vowels(c) => vec![("meng", 0), ("peng", 0)],
        'b' | 'f' | 'v' => vec![("mem", 0), ("pem", 0)],
        'p' => vec![("mem", 1), ("pem", 1), ("mem", 0), ("pem", 0)],
        't' => vec![("men", 1), ("pen", 1), ("men", 0)],
        's' if root.starts_with("sy") => vec![("men", 0), ("pen", 0)],
        's' => vec![("meny", 1), ("peny", 1), ("men", 0)],
        'k' if root.starts_with("kh") => vec![("meng", 0), ("peng", 0)],
        'k' => vec![("meng", 1), ("peng", 1), ("meng", 0)],
        'g' | 'h' => vec![("meng", 0), ("peng", 0)],
        'd' | 'c' | 'j' | 'z' => vec![("men", 0), ("pen", 0)],
        _ => vec![("me", 0), ("pe", 0)],
    };
    if syllables <= 1 {
        out.extend([("menge", 0), ("penge", 0)]);
    }
    out
}

const SUFFIXES: [&str; 13] =
    ["", "an", "kan", "i", "nya", "annya", "kannya", "inya", "lah", "kah", "pun", "in", "innya"];

/// Every form of `root` with Indonesian affixes, the root itself included.
pub fn forms(root: &str) -> Vec<String> {
    let prefixed = prefixed(root);
    let mut out = Vec::with_capacity(prefixed.len() * SUFFIXES.len());
    for p in &prefixed {
        for s in SUFFIXES {
            out.push(format!("{p}{s}"));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether `word` is one of the [`forms`] of `root`, without making them all.
pub fn is_form(root: &str, word: &str) -> bool {
    prefixed(root).iter().any(|p| word.strip_prefix(p.as_str()).is_some_and(|rest| SUFFIXES.contains(&rest)))
}

/// Whether `ending` is one of the suffixes (or none): every form of a root
/// ends with the root's own last letters and then one of these.
pub fn is_suffix(ending: &str) -> bool {
    SUFFIXES.contains(&ending)
}

/// `root` with each prefix, and bare.
fn prefixed(root: &str) -> Vec<String> {
    let mut prefixed: Vec<String> = vec![root.to_owned()];
    for (p, drop) in nasal(root) {
        let rest: String = root.chars().skip(drop).collect();
        prefixed.push(format!("{p}{rest}"));
    }
    // colloquial: nge-, and the nasal without me- (nyerang, nangkap, ngancam)
    prefixed.push(format!("nge{root}"));
    for (p, drop) in nasal(root) {
        if let Some(short) = p.strip_prefix("me")
            && !short.is_empty()
        {
            let rest: String = root.chars().skip(drop).collect();
            prefixed.push(format!("{short}{rest}"));
        }
    }
    let starts_r = root.starts_with('r');
    for p in ["di", "ke", "se", "per", "memper", "diper"] {
        prefixed.push(format!("{p}{root}"));
    }
    prefixed.push(format!("{}{root}", if starts_r { "be" } else { "ber" }));
    prefixed.push(format!("{}{root}", if starts_r { "te" } else { "ter" }));
    prefixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_form_agrees_with_forms() {
        for root in ["bakar", "tangkap", "serang", "bom", "rusak", "edar", "aniaya"] {
            let all = forms(root);
            for word in &all {
                assert!(is_form(root, word), "{root} {word}");
            }
            for word in ["bakar2", "kebakar", "menyerangkan", "rusakan", "bomb", "membakarmu", "aniayaku"] {
                assert_eq!(is_form(root, word), all.contains(&word.to_owned()), "{root} {word}");
            }
        }
    }

    #[test]
    fn common_forms_are_made() {
        let bakar = forms("bakar");
        for w in ["bakar", "membakar", "dibakar", "pembakaran", "kebakaran", "terbakar", "bakaran", "membakarnya"] {
            assert!(bakar.contains(&w.to_owned()), "{w}");
        }
        for (root, word) in [
            ("tangkap", "menangkap"),
            ("tangkap", "penangkapan"),
            ("serang", "menyerang"),
            ("serang", "penyerangan"),
            ("kirim", "mengirim"),
            ("edar", "pengedar"),
            ("edar", "peredaran"),
            ("bom", "mengebom"),
            ("pukul", "memukul"),
            ("rusak", "perusakan"),
            ("rusak", "dirusak"),
            ("tolak", "penolakan"),
            ("aniaya", "dianiaya"),
            ("bubar", "dibubarin"),
            ("bubar", "dibubarkan"),
            ("serang", "nyerang"),
            ("rusak", "ngerusak"),
            ("tolak", "nolak"),
        ] {
            assert!(forms(root).contains(&word.to_owned()), "{root} → {word}");
        }
    }
}
