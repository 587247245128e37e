//! `log = ".."` and `level = ".."`: which completion lines a site writes, and at what level its success
//! line is. Parsed from the literal into these enums, so expansion matches on values, not on strings.

use proc_macro2::{Ident, Span, TokenStream};
use quote::ToTokens;

/// Which completion lines a site writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum LogMode {
    /// Every call: success at the site's level, failures at `error` or `warn`.
    #[default]
    All,
    /// Failures and expected errors only.
    Errors,
    /// None.
    Off,
}

impl LogMode {
    const ALL: [LogMode; 3] = [LogMode::All, LogMode::Errors, LogMode::Off];

    pub fn word(self) -> &'static str {
        match self {
            LogMode::All => "all",
            LogMode::Errors => "errors",
            LogMode::Off => "off",
        }
    }

    /// `log = "verbose"` is refused with the list of modes.
    pub fn parse(literal: &syn::LitStr) -> syn::Result<Self> {
        choose(literal, "log mode", Self::ALL, Self::word)
    }

    pub fn writes_success(self) -> bool {
        self == LogMode::All
    }

    pub fn writes_failures(self) -> bool {
        self != LogMode::Off
    }
}

/// A line's level, most verbose first (as `tracing` orders them), so `min` is the most verbose.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub(crate) enum Level {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

impl Level {
    const ALL: [Level; 5] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
    ];

    fn word(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// `level = "notice"` is refused with the list of levels.
    pub fn parse(literal: &syn::LitStr) -> syn::Result<Self> {
        choose(literal, "level", Self::ALL, Self::word)
    }
}

/// The name of the `tracing::Level` constant (`INFO`): written after `<private>::tracing::Level::`,
/// since the path to `tracing` depends on the site's `crate = ..`.
impl ToTokens for Level {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let name = self.word().to_ascii_uppercase();
        Ident::new(&name, Span::call_site()).to_tokens(tokens);
    }
}

/// The choice whose word the literal is; else an error listing them, the default marked:
/// `unknown log mode "x"; expected one of: "all" (default), "errors", "off"`.
pub(crate) fn choose<T: Copy + PartialEq + Default, const N: usize>(
    literal: &syn::LitStr,
    what: &str,
    all: [T; N],
    word: fn(T) -> &'static str,
) -> syn::Result<T> {
    let text = literal.value();
    if let Some(found) = all.into_iter().find(|c| word(*c) == text) {
        return Ok(found);
    }
    let listed: Vec<String> = all
        .into_iter()
        .map(|c| match c == T::default() {
            true => format!("\"{}\" (default)", word(c)),
            false => format!("\"{}\"", word(c)),
        })
        .collect();
    Err(syn::Error::new(
        literal.span(),
        format!(
            "unknown {what} \"{text}\"; expected one of: {}",
            listed.join(", ")
        ),
    ))
}
