//! The arguments `#[observe]` and `#[business_span]` take: one table that the parser dispatches on and
//! that the "expected one of" list and the "did you mean" suggestion are read from, so the three cannot
//! disagree.

/// Which attribute the options belong to.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `#[observe]`.
    #[default]
    Observe,
    /// `#[business_span]`: the options are the same but for the operation name (first, a literal),
    /// `attrs(...)` in place of `fields(...)`, and no handler mode.
    Business,
}

impl Mode {
    pub fn attribute(self) -> &'static str {
        match self {
            Mode::Observe => "#[observe]",
            Mode::Business => "#[business_span]",
        }
    }

    /// The label and log field that carries how a call ended.
    pub fn outcome_label(self) -> &'static str {
        match self {
            Mode::Observe => sightline_conventions::FUNCTION.outcome_label,
            Mode::Business => sightline_conventions::BUSINESS.outcome_label,
        }
    }
}

/// Which argument a word names. `fields` (`#[observe]`) and `attrs` (`#[business_span]`) are one key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Key {
    Name,
    Route,
    Method,
    Fields,
    Redact,
    Log,
    Level,
    Buckets,
    SkipMetrics,
    Metric,
    Labels,
    MaxSeries,
    Objective,
    Kind,
    Crate,
}

pub(crate) struct Argument {
    pub key: Key,
    /// As written in the attribute.
    pub word: &'static str,
    /// As listed in "expected one of".
    listed: &'static str,
    /// The attributes that take it.
    modes: &'static [Mode],
    /// Said when it is given to an attribute that does not take it.
    elsewhere: &'static str,
    /// What to write, for "must be a string literal, e.g. ..." and similar.
    pub example: &'static str,
}

const BOTH: &[Mode] = &[Mode::Observe, Mode::Business];
const OBSERVE: &[Mode] = &[Mode::Observe];
const BUSINESS: &[Mode] = &[Mode::Business];
const HANDLER_ONLY: &str = "handler mode is #[observe(route = .., method = ..)]; ";

const fn argument(
    key: Key,
    word: &'static str,
    listed: &'static str,
    modes: &'static [Mode],
    elsewhere: &'static str,
    example: &'static str,
) -> Argument {
    Argument {
        key,
        word,
        listed,
        modes,
        elsewhere,
        example,
    }
}

/// In the order the "expected one of" list gives them.
#[rustfmt::skip]
pub(crate) const ARGUMENTS: &[Argument] = &[
    argument(Key::Name, "name", "name", OBSERVE,
        "the name is the first argument, a literal: #[business_span(\"process-order\")]; ", "name = \"charge\""),
    argument(Key::Route, "route", "route", OBSERVE, HANDLER_ONLY, "route = \"/api/v1/orders\""),
    argument(Key::Method, "method", "method", OBSERVE, HANDLER_ONLY, "method = \"POST\""),
    argument(Key::Fields, "fields", "fields(...)", OBSERVE, "write `attrs(...)` on a business span; ", "fields(name = expr, other = expr)"),
    argument(Key::Fields, "attrs", "attrs(...)", BUSINESS, "write `fields(...)` on #[observe]; ", "attrs(name = expr, other = expr)"),
    argument(Key::Redact, "redact", "redact(...)", BOTH, "", "redact(name = expr, other = expr)"),
    argument(Key::Log, "log", "log", BOTH, "", "log = \"errors\""),
    argument(Key::Level, "level", "level", BOTH, "", "level = \"debug\""),
    argument(Key::Buckets, "buckets", "buckets", BOTH, "", "buckets = [0.001, 0.005, 0.01]"),
    argument(Key::SkipMetrics, "skip_metrics", "skip_metrics", BOTH, "", "skip_metrics"),
    argument(Key::Metric, "metric", "metric", BOTH, "", "metric = \"payment_charges\""),
    argument(Key::Labels, "labels", "labels(...)", BOTH, "", "labels(provider = req.provider, region = \"eu\")"),
    argument(Key::MaxSeries, "max_series", "max_series", BOTH, "", "max_series = 5000"),
    argument(Key::Objective, "objective", "objective(...)", BOTH, "",
        "objective(latency = \"2s\", percentile = 99, error_rate = \"1%\")"),
    argument(Key::Kind, "kind", "kind", BOTH, "", "kind = \"client\""),
    argument(Key::Crate, "crate", "crate", BOTH, "", "crate = ::my::sightline"),
];

impl Argument {
    pub fn taken_by(&self, mode: Mode) -> bool {
        self.modes.contains(&mode)
    }
}

/// The argument spelt `word`, whichever attribute takes it.
pub(crate) fn named(word: &str) -> Option<&'static Argument> {
    ARGUMENTS.iter().find(|a| a.word == word)
}

/// The arguments of `mode`, as "expected one of" lists them.
pub(crate) fn expected(mode: Mode) -> String {
    let listed: Vec<&str> = ARGUMENTS
        .iter()
        .filter(|a| a.taken_by(mode))
        .map(|a| a.listed)
        .collect();
    let first = match mode {
        Mode::Observe => "",
        Mode::Business => "a name literal first, then ",
    };
    format!("{first}{}", listed.join(", "))
}

/// Why `word` is not an argument of `mode`, and what to write instead: the other attribute's argument,
/// or the known one within two edits. Empty, or ending in "; ".
pub(crate) fn hint(word: &str, mode: Mode) -> String {
    if let Some(other) = named(word).filter(|a| !a.taken_by(mode)) {
        return other.elsewhere.to_owned();
    }
    ARGUMENTS
        .iter()
        .filter(|a| a.taken_by(mode))
        .map(|a| (edit_distance(word, a.word), a.word))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, known)| format!("did you mean `{known}`? "))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_an_argument_in_each_attribute_that_takes_it() {
        for mode in [Mode::Observe, Mode::Business] {
            let keys: Vec<Key> = ARGUMENTS
                .iter()
                .filter(|a| a.taken_by(mode))
                .map(|a| a.key)
                .collect();
            let mut unique = keys.clone();
            unique.dedup();
            assert_eq!(keys, unique, "a key spelt twice for one attribute");
        }
    }

    #[test]
    fn suggestions_come_from_the_attributes_own_arguments() {
        assert_eq!(hint("nmae", Mode::Observe), "did you mean `name`? ");
        assert_eq!(hint("atrs", Mode::Business), "did you mean `attrs`? ");
        assert_eq!(hint("atrs", Mode::Observe), "");
        assert_eq!(
            hint("fields", Mode::Business),
            "write `attrs(...)` on a business span; "
        );
        assert_eq!(hint("sample_rate", Mode::Observe), "");
    }
}
